// Chained meta plugins, ours next to the Go reference, interleaved in one loop, inside a throwaway
// "node" netns, called the way a runtime calls a conflist:
//   ADD: bridge ADD -> its result as prevResult -> meta plugin ADD
//   DEL: meta plugin DEL (prevResult = the chain's result) -> bridge DEL (prevResult likewise)
// Cases:
//   - bridge + portmap, 3 port mappings (tcp, udp, tcp with hostIP), iptables and nftables
//   - bridge + firewall, iptables and nftables backends (the reference: iptables both times)
// Each impl runs its own binaries for every link of the chain (ours: dist/bin, reference:
// /usr/lib/cni), its own bridge, subnet and dataDir; cniVersion 1.0.0 (1.1.1 does not know 1.1.0).
// Per call (bridge ADD, meta ADD, meta DEL, bridge DEL) the median wall time is reported, then one
// extra unmeasured run under `strace -f -e trace=execve` counts the programs each call starts.
//
//   node scripts/bench/meta.mjs [--rounds N]      (TSCNI_BIN_DIR=<dir> measures another "ours" dir)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REF_DIR, median, runIfMain } from './harness.mjs';

const VERSION = '1.0.0';
const IMPLS = ['ours', 'ref'];

/** Runs one plugin call inside the node netns; returns { ms, out } and throws on a non-zero exit. */
function call(node, bin, env, conf) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync('nsenter', [`--net=/run/netns/${node}`, bin], { env: { PATH: process.env.PATH, ...env }, input: JSON.stringify(conf), encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${bin} ${env.CNI_COMMAND} failed: ${`${res.stdout}${res.stderr}`.replace(/\s+/g, ' ')}`);
  return { ms, out: res.stdout };
}

/** Programs one call starts (execve that succeeded), apart from nsenter and the plugin itself. */
function execsOf(node, bin, env, conf, traceFile) {
  const res = spawnSync('strace', ['-f', '-qq', '-e', 'trace=execve', '-o', traceFile, 'nsenter', `--net=/run/netns/${node}`, bin], {
    env: { PATH: process.env.PATH, ...env },
    input: JSON.stringify(conf),
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`strace ${bin} ${env.CNI_COMMAND} failed: ${res.stdout}${res.stderr}`);
  const programs = fs
    .readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter((l) => /execve\(/.test(l) && /= 0$/.test(l))
    .map((l) => path.basename(/execve\("([^"]+)"/.exec(l)?.[1] ?? '?'));
  return { out: res.stdout, programs: programs.slice(2) };
}

function netns(name) {
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

const PORT_MAPPINGS = [
  { hostPort: 18080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 15353, containerPort: 53, protocol: 'udp' },
  { hostPort: 18443, containerPort: 443, protocol: 'tcp', hostIP: '127.0.0.1' },
];

// The nftables cases give the reference the same config: Debian's 1.1.1 portmap has no `backend` key
// (ignored: iptables); its firewall does not know "nftables", so it gets "iptables".
const CASES = [
  { label: 'bridge+portmap (3 mappings, iptables)', meta: { type: 'portmap', backend: 'iptables', capabilities: { portMappings: true } }, runtimeConfig: { portMappings: PORT_MAPPINGS } },
  { label: 'bridge+portmap (3 mappings, nftables; ref: iptables)', meta: { type: 'portmap', backend: 'nftables', capabilities: { portMappings: true } }, runtimeConfig: { portMappings: PORT_MAPPINGS } },
  { label: 'bridge+firewall (iptables)', meta: { type: 'firewall', backend: 'iptables' } },
  { label: 'bridge+firewall (nftables; ref: iptables)', meta: { type: 'firewall', backend: 'nftables' }, refMeta: { backend: 'iptables' } },
];

function fmt(ms) {
  return ms.toFixed(2);
}

function printRows(title, rows) {
  const out = [`\n${title}`, '| case | runs | tscni median ms | Go reference median ms | tscni / reference |', '|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.label} | ${r.rounds} | ${fmt(r.ours)} | ${fmt(r.ref)} | ${(r.ours / r.ref).toFixed(2)}x |`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function summarize(programs) {
  const counts = new Map();
  for (const p of programs) counts.set(p, (counts.get(p) ?? 0) + 1);
  const list = [...counts].map(([p, n]) => (n > 1 ? `${p} x${n}` : p)).join(', ');
  return `${programs.length}${list ? ` (${list})` : ''}`;
}

/** Runs every case; returns the table rows ({label, rounds, ours, ref} medians in ms). */
export function benchMeta(distBin, rounds) {
  const tag = `${process.pid}`;
  const node = netns(`tscni-meta-bench-h-${tag}`);
  const cont = { ours: netns(`tscni-meta-bench-c1-${tag}`), ref: netns(`tscni-meta-bench-c2-${tag}`) };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-meta-bench-'));
  const haveStrace = spawnSync('strace', ['-V']).status === 0;
  const rows = [];
  const spend = [];
  const failures = [];
  try {
    CASES.forEach((c, i) => {
      try {
        runCase(c, i + 1);
      } catch (err) {
        // A plugin that refuses (e.g. a build without this meta plugin) fails its case, not the bench.
        failures.push(`${c.label}: ${String(err.message).split('\n')[0]}`);
      }
    });
    /** Measures one case; appends its table rows and per-call entries. */
    function runCase(c, n) {
      const metaType = c.meta.type;
      const dirOf = (impl) => (impl === 'ours' ? distBin : REF_DIR);
      const bridgeConf = (impl) => ({
        cniVersion: VERSION,
        name: `benchmeta${n}${impl}`,
        type: 'bridge',
        bridge: `bmeta${n}${impl === 'ours' ? 'o' : 'r'}`,
        isGateway: true,
        ipam: {
          type: 'host-local',
          dataDir: path.join(dataDir, impl),
          ranges: [[{ subnet: `10.36.${impl === 'ours' ? 200 + n : 210 + n}.0/24` }]],
        },
      });
      // What libcni sends the meta plugin: its own keys, name and version, runtimeConfig for the
      // capabilities it declares, and the previous result.
      const metaConf = (impl, prevResult) => ({
        cniVersion: VERSION,
        name: `benchmeta${n}${impl}`,
        ...c.meta,
        ...(impl === 'ref' ? c.refMeta : {}),
        ...(c.runtimeConfig ? { runtimeConfig: c.runtimeConfig } : {}),
        prevResult,
      });
      const env = (impl, command) => ({
        CNI_COMMAND: command,
        CNI_CONTAINERID: `benchmeta-${n}-${impl}`,
        CNI_NETNS: `/run/netns/${cont[impl]}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: dirOf(impl),
        // portmap's and firewall's per-attachment records: in the bench's temp dir, not the node's.
        TSCNI_STATE_DIR: path.join(dataDir, 'state'),
      });
      const bin = (impl, type) => path.join(dirOf(impl), type);
      /** One ADD chain and one DEL chain; the wall ms of each of the four calls. */
      const chain = (impl) => {
        const bAdd = call(node, bin(impl, 'bridge'), env(impl, 'ADD'), bridgeConf(impl));
        const prev = JSON.parse(bAdd.out);
        let mAdd;
        try {
          mAdd = call(node, bin(impl, metaType), env(impl, 'ADD'), metaConf(impl, prev));
        } catch (err) {
          // As a runtime does after a failed ADD: DEL the chain, so the next case starts clean.
          for (const [type, conf] of [[metaType, metaConf(impl, prev)], ['bridge', { ...bridgeConf(impl), prevResult: prev }]]) {
            spawnSync('nsenter', [`--net=/run/netns/${node}`, bin(impl, type)], { env: { PATH: process.env.PATH, ...env(impl, 'DEL') }, input: JSON.stringify(conf) });
          }
          throw err;
        }
        const result = JSON.parse(mAdd.out);
        const mDel = call(node, bin(impl, metaType), env(impl, 'DEL'), metaConf(impl, result));
        const bDel = call(node, bin(impl, 'bridge'), env(impl, 'DEL'), { ...bridgeConf(impl), prevResult: result });
        return { bAdd: bAdd.ms, mAdd: mAdd.ms, mDel: mDel.ms, bDel: bDel.ms };
      };
      // One unmeasured warm-up chain each (bridge creation, first chains and tables).
      for (const impl of IMPLS) chain(impl);
      const t = { ours: [], ref: [] };
      for (let r = 0; r < rounds; r++) for (const impl of r % 2 ? ['ref', 'ours'] : ['ours', 'ref']) t[impl].push(chain(impl));
      const med = (impl, f) => median(t[impl].map(f));
      const row = (label, f) => ({ label: `${c.label} ${label}`, rounds, ours: med('ours', f), ref: med('ref', f) });
      rows.push(row('ADD chain', (x) => x.bAdd + x.mAdd));
      rows.push(row('DEL chain', (x) => x.mDel + x.bDel));
      rows.push(row('ADD+DEL', (x) => x.bAdd + x.mAdd + x.mDel + x.bDel));
      for (const [key, label] of [['bAdd', 'bridge ADD'], ['mAdd', `${metaType} ADD`], ['mDel', `${metaType} DEL`], ['bDel', 'bridge DEL']]) {
        const entry = { call: `${c.label}: ${label}`, ours: med('ours', (x) => x[key]), ref: med('ref', (x) => x[key]), execs: {} };
        spend.push(entry);
      }
      // The start-up floor of a call: VERSION does no work, so the rest of an ADD/DEL is the work.
      const floors = ['bridge', metaType].map((type) => {
        const t = { ours: [], ref: [] };
        for (let r = 0; r < rounds; r++) {
          for (const impl of r % 2 ? ['ref', 'ours'] : ['ours', 'ref']) t[impl].push(call(node, bin(impl, type), { CNI_COMMAND: 'VERSION' }, { cniVersion: VERSION }).ms);
        }
        const none = { ours: '-', ref: '-' };
        return { call: `${c.label}: ${type} VERSION (start-up floor)`, ours: median(t.ours), ref: median(t.ref), execs: none };
      });
      if (haveStrace) {
        const trace = path.join(dataDir, 'trace');
        const at = spend.length - 4;
        for (const impl of IMPLS) {
          const bAdd = execsOf(node, bin(impl, 'bridge'), env(impl, 'ADD'), bridgeConf(impl), trace);
          const prev = JSON.parse(bAdd.out);
          const mAdd = execsOf(node, bin(impl, metaType), env(impl, 'ADD'), metaConf(impl, prev), trace);
          const result = JSON.parse(mAdd.out);
          const mDel = execsOf(node, bin(impl, metaType), env(impl, 'DEL'), metaConf(impl, result), trace);
          const bDel = execsOf(node, bin(impl, 'bridge'), env(impl, 'DEL'), { ...bridgeConf(impl), prevResult: result }, trace);
          [bAdd, mAdd, mDel, bDel].forEach((x, k) => (spend[at + k].execs[impl] = summarize(x.programs)));
        }
      }
      spend.push(...floors);
    }
    printRows('meta plugins chained after bridge (in a throwaway node netns; chain = sum of its calls, median of per-round sums)', rows);
    const out = [
      '\nwhere the time goes, per call (median ms; programs started per call, counted with strace -f -e execve on one extra run)',
      '| call | tscni ms | Go reference ms | tscni programs started | Go reference programs started |',
      '|---|---|---|---|---|',
    ];
    for (const s of spend) out.push(`| ${s.call} | ${fmt(s.ours)} | ${fmt(s.ref)} | ${s.execs.ours ?? 'n/a (no strace)'} | ${s.execs.ref ?? 'n/a (no strace)'} |`);
    process.stdout.write(`${out.join('\n')}\n`);
    if (failures.length) {
      process.stdout.write(`\nmeta cases that failed (not measured):\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
      process.exitCode = 1;
    }
    return rows;
  } finally {
    for (const ns of [node, cont.ours, cont.ref]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, benchMeta);
