#!/usr/bin/env node
// `npm run crash [-- --runs N] [-- --seed S] [-- --mode del,gc,deldel] [-- --no-wait]`
// Crash consistency (issue 12): a runtime (kubelet timing out, a node losing power) SIGKILLs a
// plugin in the middle of its work. The list is bridge (ipMasq, host-local) + portmap + firewall +
// tuning (a MAC change, so tuning writes its backup) + bandwidth (an ifb on the node), alternately
// with the iptables and nftables backends,
// run as a runtime runs it inside a throwaway node netns. Each run picks a plugin of the list and a
// kill time spread over that plugin's measured duration (exec to exit), then:
//   del:    the runtime's answer to a failed ADD: DEL of the list (reverse order, no prevResult,
//           the same runtimeConfig) -> nothing of the attachment is left;
//   gc:     the sandbox is gone instead (its netns deleted, as after a reboot) and GC (1.1.0) runs
//           with a valid-attachments list that holds another, live attachment but not this one ->
//           nothing of it is left, and the live one is untouched;
//   deldel: a complete ADD, then a DEL killed at a random moment, then DEL again -> it completes
//           and nothing is left.
// After every kill, before the cleanup, every file the plugins keep is read back: a lease names
// its owner, JSON state parses, last_reserved_ip is an address (never half-written). "Nothing left"
// compares, with independent tools, the node's links, addresses, routes, iptables/ip6tables/nft
// rules and chains, and every file under the state directories with a baseline taken after one
// complete ADD+DEL; the container netns must be back to `lo` only. Prints one summary line; exit
// status 1 when a run left something. A killed plugin's helper processes (iptables-restore) run on
// as orphans; by default the next step waits for them to end (--no-wait: it does not, as a runtime
// would not).
import fs from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import {
  addNetns, cniEnv, delNetns, diffSnapshots, DIST_BIN, filesUnder, flags, linksOf, parseJson, processGroup, requireRootAndBuild, rng,
  runPlugin, sleep, snapshot, tempDir, uniqueName, addressesOf, routesOf,
} from './robust/rig.mjs';

const opt = flags(process.argv.slice(2), { runs: 200, seed: Date.now() % 1_000_000, mode: 'del,gc,deldel', verbose: false, 'no-wait': false });
requireRootAndBuild();
const modes = String(opt.mode).split(',');
const rand = rng(opt.seed);

const NET = 'trbcrash';
const dir = tempDir('trb-crash-');
const dataDir = path.join(dir, 'ipam');
const stateDir = path.join(dir, 'state');
const tuningDir = path.join(dir, 'tuning');
const dirs = [dataDir, stateDir, tuningDir];
const node = addNetns(uniqueName('trb-crash'));

const list = (backend, hostPort) => [
  {
    type: 'bridge', bridge: 'trbcr0', isGateway: true, ipMasq: true, ipMasqBackend: backend,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.153.64.0/24' }]], dataDir },
  },
  { type: 'portmap', backend, snat: true, capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] } },
  { type: 'firewall', backend },
  { type: 'tuning', mac: '02:53:00:00:00:99', dataDir: tuningDir },
  { type: 'bandwidth', ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 8_000_000, egressBurst: 80_000 },
];
const confOf = (p, version = '1.0.0', prevResult) => ({ cniVersion: version, name: NET, ...p, ...(prevResult ? { prevResult } : {}) });
const envOf = (a, command) => cniEnv({
  CNI_COMMAND: command, CNI_CONTAINERID: a.cid, CNI_NETNS: a.ns ? `/run/netns/${a.ns}` : undefined, CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN,
  TSCNI_STATE_DIR: stateDir,
});
const envGC = () => cniEnv({ CNI_COMMAND: 'GC', CNI_PATH: DIST_BIN, TSCNI_STATE_DIR: stateDir });

/** One plugin call; `killAt` (ms after the spawn) SIGKILLs the plugin (its pid only, as runtimes do). */
async function call(a, p, command, conf, killAt) {
  let timer;
  const r = await runPlugin(node, p.type, envOf(a, command), conf, {
    detached: true,
    onSpawn: (child) => {
      if (killAt !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAt);
    },
  });
  clearTimeout(timer);
  // Helpers the killed plugin started (iptables-restore) run on as orphans: wait until they end, so
  // the next step sees their effect (see the report: a runtime's next call can race with them).
  let orphans = 0;
  for (let waited = 0; !opt['no-wait'] && processGroup(r.pid).length > 0 && waited < 5000; waited += 20) {
    orphans++;
    await sleep(20);
  }
  return { ...r, orphans: orphans > 0 };
}

/** The whole list, ADD in order with prevResult chaining; `kill` = { index, at } kills one plugin. */
async function addList(a, kill) {
  let prev;
  const times = [];
  for (const [i, p] of a.plugins.entries()) {
    const r = await call(a, p, 'ADD', confOf(p, '1.0.0', prev), kill?.index === i ? kill.at : undefined);
    times.push(r.ms);
    if (r.signal === 'SIGKILL') return { killed: true, at: i, times, orphans: r.orphans };
    if (r.status !== 0) throw new Error(`${a.cid} ${p.type} ADD: ${r.stdout.trim()} ${r.stderr.trim().slice(0, 300)}`);
    prev = parseJson(r.stdout);
  }
  return { killed: false, result: prev, times };
}

async function delList(a, kill, prevResult) {
  const times = [];
  const rev = [...a.plugins].reverse();
  for (const [i, p] of rev.entries()) {
    const r = await call(a, p, 'DEL', confOf(p, '1.0.0', prevResult), kill?.index === i ? kill.at : undefined);
    times.push(r.ms);
    if (r.signal === 'SIGKILL') return { killed: true, at: i, times };
    if (r.status !== 0) throw new Error(`${a.cid} ${p.type} DEL: ${r.stdout.trim()} ${r.stderr.trim().slice(0, 300)}`);
  }
  return { killed: false, times };
}

async function gcList(a, valid) {
  for (const p of a.plugins) {
    const conf = { ...confOf(p, '1.1.0'), 'cni.dev/valid-attachments': valid };
    const r = await runPlugin(node, p.type, envGC(), conf);
    if (r.status !== 0) throw new Error(`${p.type} GC: ${r.stdout.trim()} ${r.stderr.trim().slice(0, 300)}`);
  }
}

/** Every state file reads back whole: leases name an owner, JSON parses, cursors are addresses. */
function tornFiles() {
  const out = [];
  for (const root of dirs) {
    for (const f of filesUnder(root)) {
      const file = path.join(root, f);
      const base = path.basename(f);
      let text;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        out.push(`${f}: unreadable: ${e.message}`);
        continue;
      }
      if (/\.tmp/.test(base) || base === 'lock') continue; // temp files are checked as leftovers
      if (isIP(base)) {
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*\r\neth0$/.test(text)) out.push(`${f}: lease content ${JSON.stringify(text)}`);
      } else if (base.startsWith('last_reserved_ip.')) {
        if (!isIP(text.trim())) out.push(`${f}: cursor ${JSON.stringify(text)}`);
      } else if (parseJson(text) === undefined) {
        out.push(`${f}: not JSON: ${JSON.stringify(text.slice(0, 80))}`);
      }
    }
  }
  return out;
}

let n = 0;
const attachment = (backend) => {
  n++;
  return { cid: `trbcrash${n}`, ns: addNetns(uniqueName('trb-cc')), plugins: list(backend, 21000 + n) };
};

function containerLeft(a) {
  if (!a.ns || !fs.existsSync(`/run/netns/${a.ns}`)) return [];
  const out = [];
  const links = linksOf(a.ns).filter((l) => l !== 'lo');
  if (links.length) out.push(`container links: ${links.join(' ')}`);
  const addrs = addressesOf(a.ns);
  if (addrs.length) out.push(`container addresses: ${addrs.join(' ')}`);
  const routes = routesOf(a.ns);
  if (routes.length) out.push(`container routes: ${routes.join(' | ')}`);
  return out;
}

const problems = [];
const stats = { runs: 0, byMode: {}, byPlugin: {}, orphans: 0, completedBeforeKill: 0 };
const t0 = performance.now();
try {
  // Calibration and baseline, per backend: complete ADD+DELs timing each plugin's ADD and DEL;
  // the fastest of three (the first calls also pay for loading the executable into the page cache).
  const timing = {};
  const fastest = (runs) => runs[0].map((_, i) => Math.min(...runs.map((r) => r[i])));
  for (const backend of ['iptables', 'nftables']) {
    const adds = [];
    const dels = [];
    for (let k = 0; k < 3; k++) {
      const a = attachment(backend);
      const add = await addList(a);
      const del = await delList(a, undefined, add.result);
      adds.push(add.times);
      dels.push(del.times);
      delNetns(a.ns);
    }
    timing[backend] = { add: fastest(adds), del: fastest(dels) };
  }
  const baseline = snapshot({ node, dirs });
  // A live attachment that GC must keep.
  const keeper = attachment('iptables');
  const keeperAdd = await addList(keeper);
  const keeperSnap = () => ({ links: linksOf(keeper.ns), addrs: addressesOf(keeper.ns), lease: filesUnder(path.join(dataDir, NET)).filter((f) => isIP(f)) });
  const keeperBefore = keeperSnap();
  const baselineWithKeeper = snapshot({ node, dirs });

  for (let run = 0; run < opt.runs; run++) {
    const mode = modes[run % modes.length];
    const backend = run % 2 === 0 ? 'iptables' : 'nftables';
    const a = attachment(backend);
    const durations = mode === 'deldel' ? timing[backend].del : timing[backend].add;
    // Kill time spread uniformly over the chosen plugin's measured duration (+20%, to also hit the end).
    const index = rand.int(a.plugins.length);
    const at = rand() * durations[index] * 1.2;
    const plugin = (mode === 'deldel' ? [...a.plugins].reverse() : a.plugins)[index].type;
    const label = `run ${run} (${mode}, ${backend}, kill ${plugin} ${mode === 'deldel' ? 'DEL' : 'ADD'} at ${at.toFixed(0)} ms)`;
    stats.runs++;
    stats.byMode[mode] = (stats.byMode[mode] ?? 0) + 1;
    stats.byPlugin[plugin] = (stats.byPlugin[plugin] ?? 0) + 1;
    const local = [];
    let landed = false;
    try {
      if (mode === 'deldel') {
        const add = await addList(a);
        const del = await delList(a, { index, at }, add.result);
        landed = del.killed;
        if (!del.killed) stats.completedBeforeKill++;
        local.push(...tornFiles().map((x) => `after the kill: ${x}`));
        await delList(a, undefined, add.result);
      } else {
        const add = await addList(a, { index, at });
        landed = add.killed;
        if (!add.killed) stats.completedBeforeKill++;
        if (add.orphans) stats.orphans++;
        local.push(...tornFiles().map((x) => `after the kill: ${x}`));
        if (mode === 'del') {
          await delList(a);
        } else {
          delNetns(a.ns);
          a.ns = '';
          await gcList(a, [{ containerID: keeper.cid, ifname: 'eth0' }]);
        }
      }
      local.push(...containerLeft(a));
      local.push(...diffSnapshots(baselineWithKeeper, snapshot({ node, dirs })));
    } catch (e) {
      local.push(e.message);
    }
    for (const p of local) problems.push(`${label}: ${p}`);
    if (opt.verbose || local.length) process.stderr.write(`crash: ${label}${landed ? '' : ' (finished first)'}: ${local.length ? local.join('; ') : 'ok'}\n`);
    if (a.ns) delNetns(a.ns);
    if (local.length) {
      // Put the node back to the baseline so the next run is judged on its own.
      await delList(a).catch(() => {});
    }
  }

  const keeperAfter = keeperSnap();
  if (JSON.stringify(keeperAfter) !== JSON.stringify(keeperBefore)) problems.push(`the live attachment changed: ${JSON.stringify(keeperBefore)} -> ${JSON.stringify(keeperAfter)}`);
  await delList(keeper, undefined, keeperAdd.result);
  delNetns(keeper.ns);
  for (const d of diffSnapshots(baseline, snapshot({ node, dirs }))) problems.push(`after all runs: ${d}`);
} catch (e) {
  problems.push(`aborted: ${e.stack ?? e.message}`);
} finally {
  delNetns(node);
  if (!opt.keep) fs.rmSync(dir, { recursive: true, force: true });
}

const seconds = (performance.now() - t0) / 1000;
const per = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
process.stdout.write(
  `crash: seed ${opt.seed}, ${stats.runs} runs (${per(stats.byMode)}; killed ${per(stats.byPlugin)}; ${stats.completedBeforeKill} finished before the kill, ` +
    `${stats.orphans} left helper processes running), ${problems.length} problems, ${seconds.toFixed(1)} s\n`,
);
if (problems.length) {
  for (const p of problems.slice(0, 40)) process.stdout.write(`  ${p}\n`);
  process.exit(1);
}
