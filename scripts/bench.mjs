#!/usr/bin/env node
// `npm run bench`: tscni against the Go reference plugins (Debian's containernetworking-plugins in
// /usr/lib/cni), measured side by side in one run. Run as root after `npm run build`.
//   npm run bench [-- --rounds N] [-- --only loopback,ipam] [-- --quick] [-- --write | --no-write]
//   groups: loopback, bridge, ptp-macvlan, meta (bridge + portmap / firewall chains), firewall (firewall
//   alone, per backend), portmap, ipam (host-local alone at 0 / 1,000 / 5,000 / 20,000 leases), dhcp,
//   runner (the podman default list through `dist/tscni add|del`), rss (VERSION against `node -e 0`,
//   CPU and peak RSS per call), inplugin (TSCNI_TRACE in-plugin time per path against Go's whole
//   process: bridge, ptp, macvlan, loopback, host-local, portmap, firewall, tuning, bandwidth, sbr),
//   burst (30 parallel ADDs, then DELs, on one bridge+ipMasq network)
//   overlay (pod-to-pod iperf3 throughput across two nodes over VXLAN vs on one bridge, as a ratio),
//   cluster-ipam (ADD+DEL against a local 3-member etcd next to host-local, and a 30-call burst)
//   --quick: 3 rounds, host-local at 0 and 1,000 leases, one burst: a smoke run of every group.
//   A full run (no --only, no --quick) writes bench/results/<YYYY-MM-DD>.{json,md,svg}; --write forces
//   it, --no-write skips it.
//   TSCNI_BIN_DIR=<dir> measures another directory as "ours" (default dist/bin).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REF_DIR } from './bench/harness.mjs';
import { benchLoopback } from './bench/loopback.mjs';
import { benchBridge } from './bench/bridge.mjs';
import { benchPtpMacvlan } from './bench/ptp-macvlan.mjs';
import { benchMeta } from './bench/meta.mjs';
import { benchFirewall } from './bench/firewall.mjs';
import { benchPortmap } from './bench/portmap.mjs';
import { benchIpam } from './bench/ipam.mjs';
import { benchRunner } from './bench/runner.mjs';
import { benchRss, rssTable } from './bench/rss.mjs';
import { benchBurst, burstTable } from './bench/burst.mjs';
import { benchInPlugin, inPluginTable } from './bench/inplugin.mjs';
import { writeResults } from './bench/results.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distBin = process.env.TSCNI_BIN_DIR ?? path.join(root, 'dist/bin');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const quick = argv.includes('--quick');
const rounds = Number(opt('rounds', quick ? '3' : '30'));
const only = opt('only', '')?.split(',').filter(Boolean);
const write = argv.includes('--write') || (!argv.includes('--no-write') && !quick && !only.length);
if (!fs.existsSync('/usr/bin/time')) throw new Error('no GNU time in /usr/bin/time (rss and burst use it): apt-get install time');

if (!fs.existsSync(path.join(distBin, 'loopback'))) throw new Error('dist/bin is empty: run `npm run build` first');
if (!fs.existsSync(path.join(REF_DIR, 'loopback'))) throw new Error(`no Go reference in ${REF_DIR}: apt-get install containernetworking-plugins`);

/** A bench that is its own script (prints its own table): its output is kept for the results. */
const script = (file, args) => () => {
  const res = spawnSync(process.execPath, [path.join(root, 'scripts/bench', file), ...args], { stdio: ['inherit', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(res.stdout);
  if (res.status !== 0) throw new Error(`bench ${file} failed`);
  return { rows: [], table: `\`\`\`\n${res.stdout.trim()}\n\`\`\`` };
};
const plain = (title, bench) => async () => ({ title, rows: await bench() });

const sections = {
  loopback: plain('process start + netlink', () => benchLoopback(distBin, rounds)),
  bridge: plain('bridge + host-local, with ipMasq per backend, in a node netns', () => benchBridge(distBin, rounds)),
  'ptp-macvlan': plain('ptp and macvlan (host-local), in a node netns', () => benchPtpMacvlan(distBin, rounds)),
  meta: plain('bridge + portmap (3 mappings) and bridge + firewall chains, iptables and nftables', () => benchMeta(distBin, rounds)),
  firewall: plain('firewall alone, per backend', () => benchFirewall(distBin, rounds)),
  portmap: plain('portmap alone', () => benchPortmap(distBin, rounds)),
  ipam: async () => {
    const { rows, firsts } = benchIpam(distBin, Math.max(3, Math.round(rounds / 2)), quick ? [0, 1000] : undefined);
    const note = `First ADD on a freshly filled directory (not in the medians): ${firsts.map((f) => `${f.leases} leases: tscni ${f.ours.toFixed(1)} ms, Go ${f.ref.toFixed(1)} ms`).join('; ')}.`;
    return { title: 'host-local alone by number of existing leases (ours should stay flat)', rows, note };
  },
  dhcp: async () => ({ title: 'dhcp IPAM against a local dnsmasq', ...script('dhcp.mjs', ['--runs', String(Math.max(5, Math.round(rounds / 4)))])() }),
  'cluster-ipam': async () => ({ title: 'cluster-ipam against a local 3-member etcd next to host-local, and bursts of 30 parallel ADDs', ...script('cluster-ipam.mjs', ['--runs', String(Math.max(5, Math.round(rounds / 2))), '--bursts', quick ? '1' : '3'])() }),
  runner: plain('the podman default list through the runner (`dist/tscni add|del`)', () => benchRunner(distBin, rounds)),
  rss: async () => {
    const { rows, floor } = benchRss(distBin, rounds);
    const note = 'GNU time prints CPU seconds with 2 decimals (10 ms steps), so CPU is the mean over the runs: a call under 10 ms shows as a fraction of 10. Peak RSS includes the children the plugin waited for (the reference bridge runs its host-local as a process; ours runs it in-process).';
    return { title: 'VERSION against `node -e 0` (the floor); CPU (user+sys) and peak RSS (VmHWM) per call, GNU time around the plugin process', rows, floor, table: rssTable(rows, floor), note };
  },
  inplugin: async () => {
    const rows = benchInPlugin(distBin, rounds);
    const note = 'tscni in-plugin: from "<plugin>: ADD/DEL start" to "... done" in the TSCNI_TRACE=1 output (after Node has started, before it exits); the chart bar of this group is that against Go\'s whole process. A DEL that deletes a link shows the kernel\'s delete (RCU grace periods, the same in Go\'s process) apart.';
    return { title: 'in-plugin time (TSCNI_TRACE) per path against the Go reference\'s whole process', rows, table: inPluginTable(rows), note };
  },
  burst: async () => {
    const { rows, checks } = await benchBurst(distBin, quick ? 1 : Math.max(2, Math.round(rounds / 5)));
    const note = `Checked after every burst: ${checks.length} bursts, each 30 calls exit 0, 30 distinct IPs, 30 veths, 30 leases and nat rules for the subnet after ADD; after DEL 0 veths, 0 lease files, 0 nat rules (iptables-save -t nat, nft list ruleset). CPU = mean user+sys ms per call. 30 calls x CPU per call / 2 cores is a lower bound on the burst's wall time.`;
    return { title: '30 containers ADDed in parallel on one bridge+host-local+ipMasq network, then DELed in parallel (wall ms of the whole burst)', rows, checks, table: burstTable(rows), note };
  },
  overlay: async () => ({ title: 'pod-to-pod throughput across nodes over VXLAN (tscni overlay + flannel) vs on one bridge, iperf3', ...script('overlay.mjs', quick ? ['--seconds', '2', '--runs', '1'] : [])() }),
};
process.stdout.write(`tscni bench: ${rounds} rounds per case, ours and reference interleaved; medians in ms\n`);
const groups = [];
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  groups.push({ name, ...(await run()) });
}

if (write) {
  const git = (...a) => spawnSync('git', ['-C', root, ...a], { encoding: 'utf8' }).stdout.trim();
  const refVersion = spawnSync(path.join(REF_DIR, 'bridge'), [], { env: { CNI_COMMAND: 'VERSION' }, input: '{}', encoding: 'utf8' });
  const meta = {
    date: new Date().toISOString().slice(0, 10),
    args: argv,
    rounds,
    host: os.hostname(),
    cpus: os.cpus().length,
    kernel: `Linux ${os.release()}`,
    node: spawnSync(path.join(root, 'node_modules/.bin/node'), ['--version'], { encoding: 'utf8' }).stdout.trim(),
    commit: `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '+changes' : ''}`,
    ref: `${REF_DIR} (${spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'containernetworking-plugins'], { encoding: 'utf8' }).stdout || 'version unknown'}; ${refVersion.stdout.includes('1.0.0') ? 'speaks up to 1.0.0' : 'VERSION unknown'})`,
  };
  const files = writeResults(path.join(root, 'bench/results'), meta, groups);
  process.stdout.write(`\nwrote ${files.map((f) => path.relative(root, f)).join(', ')}\n`);
}
