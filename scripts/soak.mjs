#!/usr/bin/env node
// `npm run soak [-- --count N] [-- --concurrency 8] [-- --seed S] [-- --backend iptables|nftables]`
// Churn soak (issue 12): N containers added and deleted in a random (seeded) interleaving, C calls
// in flight at once, on one network list as a runtime runs it: bridge (ipMasq, host-local) chained
// with portmap (one published port per container), through the built binaries with CNI_* env and
// prevResult chaining, inside a throwaway node netns. Run as root after `npm run build`.
// Checked while it runs: every ADD and DEL succeeds; no address is ever held by two live containers
// (from the results, the container's own `ip addr`, and the lease files); every live container's
// lease names it. Checked at the end: no veth, no firewall rule or chain, no lease, no owner-index
// entry, no portmap record, no temp file left beyond what one warm-up ADD+DEL leaves (the bridge,
// portmap's top-level chains); last_reserved_ip is an address one of the last ADDs got.
// Prints one summary line (and the problems, if any); exit status 1 when there is a problem.
import fs from 'node:fs';
import path from 'node:path';
import {
  addressesOf, addNetns, cniEnv, delNetns, DIST_BIN, filesUnder, firewallOf, flags, indexEntries, linksOf, parseJson, requireRootAndBuild, rng,
  runPlugin, sleep, tempDir, uniqueName,
} from './robust/rig.mjs';

const opt = flags(process.argv.slice(2), { count: 1000, concurrency: 8, seed: Date.now() % 1_000_000, backend: '', 'max-live': 64, quiet: false });
requireRootAndBuild();

const NET = 'trbsoak';
const BRIDGE = 'trbsoak0';
const SUBNET = '10.153.0.0/22';
const rand = rng(opt.seed);
const dir = tempDir('trb-soak-');
const dataDir = path.join(dir, 'ipam');
const stateDir = path.join(dir, 'state');
const node = addNetns(uniqueName('trb-soak'));
const problems = [];
const problem = (s) => {
  problems.push(s);
  if (!opt.quiet) process.stderr.write(`soak: ${s}\n`);
};

const backend = opt.backend ? { ipMasqBackend: opt.backend } : {};
const bridgeConf = {
  cniVersion: '1.0.0', name: NET, type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: true, ...backend,
  ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir },
};
const portmapConf = (hostPort) => ({
  cniVersion: '1.0.0', name: NET, type: 'portmap', snat: true, capabilities: { portMappings: true },
  ...(opt.backend ? { backend: opt.backend } : {}),
  runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
});

const envOf = (c, command) => cniEnv({
  CNI_COMMAND: command, CNI_CONTAINERID: c.cid, CNI_NETNS: `/run/netns/${c.ns}`, CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN, TSCNI_STATE_DIR: stateDir,
});

let calls = 0;
async function call(c, plugin, command, conf) {
  calls++;
  const r = await runPlugin(node, plugin, envOf(c, command), conf);
  if (r.status !== 0) throw new Error(`${c.cid} ${plugin} ${command}: exit ${r.status ?? r.signal}: ${r.stdout.trim()} ${r.stderr.trim().slice(0, 300)}`);
  return command === 'ADD' ? parseJson(r.stdout) : undefined;
}

/** address -> container ID of every container between its ADD and the end of its DEL. */
const holders = new Map();
const completedAdds = [];

async function addContainer(i) {
  const c = { i, cid: `trbsoak${i}`, ns: uniqueName('trb-s'), hostPort: 20000 + (i % 20000) };
  await new Promise((r) => setImmediate(r));
  addNetns(c.ns);
  const r1 = await call(c, 'bridge', 'ADD', bridgeConf);
  c.result = await call(c, 'portmap', 'ADD', { ...portmapConf(c.hostPort), prevResult: r1 });
  c.ip = c.result?.ips?.[0]?.address?.split('/')[0];
  if (!c.ip) throw new Error(`${c.cid}: no address in the result ${JSON.stringify(c.result)}`);
  const other = holders.get(c.ip);
  if (other !== undefined) problem(`address ${c.ip} handed to ${c.cid} while ${other} holds it`);
  holders.set(c.ip, c.cid);
  completedAdds.push(c.ip);
  // Independent of the result: what the container has, and who the lease file names.
  const inKernel = addressesOf(c.ns).filter((a) => a.startsWith('eth0 ')).map((a) => a.split(' ')[1].split('/')[0]);
  if (inKernel.length !== 1 || inKernel[0] !== c.ip) problem(`${c.cid}: result says ${c.ip}, eth0 has ${inKernel.join(',') || 'nothing'}`);
  const owner = fs.readFileSync(path.join(dataDir, NET, c.ip), 'utf8').split('\r\n')[0];
  if (owner !== c.cid) problem(`${c.cid}: lease ${c.ip} names ${JSON.stringify(owner)}`);
  return c;
}

async function delContainer(c) {
  const conf = (x) => ({ ...x, prevResult: c.result });
  await call(c, 'portmap', 'DEL', conf(portmapConf(c.hostPort)));
  await call(c, 'bridge', 'DEL', conf(bridgeConf));
  if (holders.get(c.ip) === c.cid) holders.delete(c.ip);
  delNetns(c.ns);
}

/** Every live container's lease file exists and names it; no lease names a container that is gone. */
function checkLeases(live) {
  const dirOf = path.join(dataDir, NET);
  const leased = new Map();
  for (const f of fs.readdirSync(dirOf)) {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(f)) continue;
    try {
      leased.set(f, fs.readFileSync(path.join(dirOf, f), 'utf8').split('\r\n')[0]);
    } catch {
      // released while we read
    }
  }
  for (const c of live) if (leased.get(c.ip) !== c.cid) problem(`live ${c.cid} (${c.ip}): lease names ${JSON.stringify(leased.get(c.ip))}`);
}

// Warm-up: what one ADD+DEL leaves on purpose (the bridge, portmap's and masquerade's top-level
// chains, host-local's lock and cursor) is the baseline the end state is compared to.
const warm = await addContainer(-1);
await delContainer(warm);
holders.clear();
completedAdds.length = 0;
const baseline = { links: linksOf(node), firewall: firewallOf(node) };

const t0 = performance.now();
let started = 0;
let peak = 0;
let failed = 0;
const live = [];
const busy = new Set();

async function worker() {
  for (;;) {
    const idle = live.filter((c) => !busy.has(c));
    const canAdd = started < opt.count && live.length + busy.size < opt['max-live'];
    if (!canAdd && idle.length === 0) {
      if (started >= opt.count && live.length === 0 && busy.size === 0) return;
      await sleep(5);
      continue;
    }
    const doAdd = canAdd && (idle.length === 0 || rand() < 0.5);
    try {
      if (doAdd) {
        const i = started++;
        const token = { i };
        busy.add(token);
        try {
          const c = await addContainer(i);
          live.push(c);
          peak = Math.max(peak, live.length);
        } finally {
          busy.delete(token);
        }
      } else {
        const c = idle[rand.int(idle.length)];
        busy.add(c);
        try {
          await delContainer(c);
          live.splice(live.indexOf(c), 1);
        } finally {
          busy.delete(c);
        }
      }
    } catch (e) {
      failed++;
      problem(e.message);
      if (failed > 20) throw new Error('more than 20 failed calls: stopping');
    }
    if ((started + calls) % 40 === 0) checkLeases(live.filter((c) => !busy.has(c)));
  }
}

let aborted = '';
try {
  await Promise.all(Array.from({ length: opt.concurrency }, worker));
} catch (e) {
  aborted = e.message;
}
const seconds = (performance.now() - t0) / 1000;

// ---- the end state ------------------------------------------------------------------------------
const leftover = [];
const links = linksOf(node);
const extraLinks = links.filter((l) => !baseline.links.includes(l));
if (extraLinks.length) leftover.push(`links: ${extraLinks.join(' ')}`);
const fw = firewallOf(node);
for (const l of fw.filter((x) => !baseline.firewall.includes(x))) leftover.push(`firewall: ${l}`);
for (const l of baseline.firewall.filter((x) => !fw.includes(x))) leftover.push(`firewall (baseline rule gone): ${l}`);
const leases = filesUnder(path.join(dataDir, NET)).filter((f) => /^[0-9a-f.:]+$/.test(f) && f.includes('.'));
if (leases.length) leftover.push(`leases: ${leases.join(' ')}`);
for (const e of indexEntries(dataDir, NET)) leftover.push(`owner index: ${e}`);
const records = filesUnder(stateDir);
if (records.length) leftover.push(`state records: ${records.join(' ')}`);
const temps = filesUnder(dir).filter((f) => /\.tmp/.test(f));
if (temps.length) leftover.push(`temp files: ${temps.join(' ')}`);
if (!aborted) {
  const last = fs.readFileSync(path.join(dataDir, NET, 'last_reserved_ip.0'), 'utf8').trim();
  const recent = completedAdds.slice(-opt.concurrency);
  if (!recent.includes(last)) leftover.push(`last_reserved_ip.0 is ${JSON.stringify(last)}, not one of the last ${opt.concurrency} ADDs' addresses (${recent.join(' ')})`);
}
for (const l of leftover) problem(`left behind: ${l}`);
if (aborted) problem(`aborted: ${aborted}`);

// Clean up whatever is left (also after a failure), then report.
for (const c of live) delNetns(c.ns);
delNetns(node);
if (!opt.keep) fs.rmSync(dir, { recursive: true, force: true });

const adds = completedAdds.length;
process.stdout.write(
  `soak: seed ${opt.seed}, ${opt.count} containers, concurrency ${opt.concurrency}, peak live ${peak}: ${adds} ADD / ${opt.count} wanted, ` +
    `${failed} failed calls, ${problems.length} problems, ${leftover.length} leftovers; ${calls} plugin calls in ${seconds.toFixed(1)} s = ` +
    `${(calls / seconds).toFixed(1)} ops/s (${(adds / seconds).toFixed(2)} containers/s)\n`,
);
if (problems.length) {
  for (const p of problems.slice(0, 30)) process.stdout.write(`  ${p}\n`);
  process.exit(1);
}
