// Bursts: 30 containers ADDed in parallel on one bridge + host-local + ipMasq network, then DELed in
// parallel, ours next to the Go reference (same node netns, same 30 container netns, own bridge,
// subnet and dataDir each). Checked after each burst, with independent tools: every call exited 0,
// 30 distinct IPs, and after the DEL burst no veth on the node, no lease file, no nat rule for the
// subnet (iptables-save / nft list ruleset). Reported: wall ms of the ADD burst and the DEL burst
// (median over the bursts), and the CPU (user+sys) each call spends, from GNU time around each call
// (wait4's rusage: the plugin and the children it waited for), so one sees whether 2 cores of
// per-process CPU is the limit: 30 calls x CPU per call / 2 cores is a lower bound of the wall time.
//
//   node scripts/bench/burst.mjs [--rounds N]     (N bursts per implementation; default 3)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GNU_TIME, REF_DIR, median, parseRusage, runIfMain } from './harness.mjs';

const N = 30;

/** One call under GNU time, started without waiting: resolves { code, out, err, cpuMs }. */
function start(node, bin, env, stdin, timeFile) {
  return new Promise((resolve) => {
    const child = spawn(GNU_TIME, ['-f', '%U %S %M', '-o', timeFile, 'nsenter', `--net=/run/netns/${node}`, bin], { env: { PATH: process.env.PATH, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      let cpuMs = NaN;
      try {
        const r = parseRusage(fs.readFileSync(timeFile, 'utf8'));
        cpuMs = r.userMs + r.sysMs;
      } catch {
        // no rusage file: the call's failure is reported through code
      }
      resolve({ code, out, err, cpuMs });
    });
    child.stdin.end(stdin);
  });
}

/** Kernel and disk state left by an implementation's network (independent tools). */
function leftovers(node, dataDir, netName, subnetPrefix) {
  const veths = JSON.parse(execFileSync('ip', ['-n', node, '-j', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' }) || '[]').length;
  const dir = path.join(dataDir, netName);
  const leases = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).length : 0;
  const ipt = execFileSync('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
  const nft = spawnSync('ip', ['netns', 'exec', node, 'nft', 'list', 'ruleset'], { encoding: 'utf8' }).stdout ?? '';
  const natRules = ipt.split('\n').filter((l) => l.startsWith('-A') && l.includes(subnetPrefix)).length + nft.split('\n').filter((l) => l.includes(subnetPrefix)).length;
  return { veths, leases, natRules };
}

/** Runs the bursts; returns { rows, checks } (rows: {label, rounds, ours, ref, oursCpuMs, refCpuMs}). */
export async function benchBurst(distBin, rounds) {
  const tag = `${process.pid}`;
  const node = `tscni-bench-burst-h-${tag}`;
  const conts = Array.from({ length: N }, (_, i) => `tscni-bench-burst-c${i}-${tag}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-bench-burst-'));
  const impls = [
    { key: 'ours', label: 'tscni (iptables)', dir: distBin, backend: 'iptables', third: 30 },
    { key: 'oursNft', label: 'tscni (nftables)', dir: distBin, backend: 'nftables', third: 31 },
    { key: 'ref', label: 'Go 1.1.1 (iptables)', dir: REF_DIR, backend: 'iptables', third: 32 },
  ];
  const checks = [];
  try {
    for (const ns of [node, ...conts]) execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
    const res = {};
    for (const impl of impls) res[impl.key] = { add: [], del: [], addCpu: [], delCpu: [] };
    const netName = (impl) => `benchburst${impl.key}`;
    const conf = (impl) =>
      JSON.stringify({
        cniVersion: '1.0.0',
        name: netName(impl),
        type: 'bridge',
        bridge: `bburst${impl.third}`,
        isGateway: true,
        ipMasq: true,
        // The reference 1.1.1 has no ipMasqBackend: it ignores the key and uses iptables.
        ipMasqBackend: impl.backend,
        ipam: { type: 'host-local', dataDir: path.join(tmp, impl.key), ranges: [[{ subnet: `10.41.${impl.third}.0/24` }]] },
      });
    const burst = async (impl, command) => {
      const t0 = process.hrtime.bigint();
      const results = await Promise.all(
        conts.map((ns, i) =>
          start(node, path.join(impl.dir, 'bridge'), { CNI_COMMAND: command, CNI_CONTAINERID: `burst-${impl.key}-${i}`, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: impl.dir }, conf(impl), path.join(tmp, `time-${i}`)),
        ),
      );
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const failed = results.filter((r) => r.code !== 0);
      if (failed.length) throw new Error(`${impl.label} ${command} burst: ${failed.length} of ${N} failed, e.g. ${`${failed[0].out}${failed[0].err}`.replace(/\s+/g, ' ')}`);
      return { ms, results, cpuMs: results.reduce((a, r) => a + r.cpuMs, 0) / results.length };
    };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...impls].reverse() : impls;
      for (const impl of order) {
        const add = await burst(impl, 'ADD');
        const ips = new Set(add.results.map((r) => JSON.parse(r.out).ips?.[0]?.address));
        const afterAdd = leftovers(node, path.join(tmp, impl.key), netName(impl), `10.41.${impl.third}.`);
        const veths = afterAdd.veths;
        const del = await burst(impl, 'DEL');
        const left = leftovers(node, path.join(tmp, impl.key), netName(impl), `10.41.${impl.third}.`);
        checks.push({ impl: impl.label, round, addOk: N, distinctIPs: ips.size, vethsAfterAdd: veths, leasesAfterAdd: afterAdd.leases, natRulesAfterAdd: afterAdd.natRules, ...left });
        if (ips.size !== N || veths !== N || afterAdd.leases !== N || afterAdd.natRules === 0 || left.veths || left.leases || left.natRules) {
          throw new Error(`${impl.label} burst ${round}: ${ips.size} distinct IPs, ${veths} veths after ADD; after DEL ${left.veths} veths, ${left.leases} leases, ${left.natRules} nat rules`);
        }
        const r = res[impl.key];
        r.add.push(add.ms);
        r.del.push(del.ms);
        r.addCpu.push(add.cpuMs);
        r.delCpu.push(del.cpuMs);
      }
    }
    const rows = [];
    for (const key of ['ours', 'oursNft']) {
      const who = key === 'ours' ? 'iptables' : 'nftables (ref: iptables)';
      for (const [label, f, c] of [['ADD', 'add', 'addCpu'], ['DEL', 'del', 'delCpu']]) {
        rows.push({
          label: `${N} parallel bridge+ipMasq ${who} ${label} burst`,
          rounds,
          ours: median(res[key][f]),
          ref: median(res.ref[f]),
          oursCpuMs: median(res[key][c]),
          refCpuMs: median(res.ref[c]),
        });
      }
    }
    process.stdout.write(`\nbursts: ${N} containers on one bridge+host-local+ipMasq network, ADDed in parallel then DELed in parallel (wall ms of the burst, median of ${rounds}; CPU = mean user+sys ms per call)\n${burstTable(rows)}\n`);
    process.stdout.write(`checked per burst: ${checks.length} bursts, each ${N} exit 0, ${N} distinct IPs, ${N} veths, ${N} leases and nat rules for the subnet after ADD; after DEL 0 veths, 0 leases, 0 nat rules for the subnet\n`);
    return { rows, checks };
  } finally {
    for (const ns of [node, ...conts]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function burstTable(rows) {
  const out = ['| burst | bursts | tscni wall ms | Go wall ms | tscni / Go | tscni CPU ms per call | Go CPU ms per call |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.label} | ${r.rounds} | ${r.ours.toFixed(0)} | ${r.ref.toFixed(0)} | ${(r.ours / r.ref).toFixed(2)}x | ${r.oursCpuMs.toFixed(0)} | ${r.refCpuMs.toFixed(0)} |`);
  return out.join('\n');
}

runIfMain(import.meta.url, benchBurst);
