// Per call: wall ms, CPU ms (user+sys) and peak RSS (VmHWM, KB) of the plugin process, ours next to
// the Go reference, interleaved, every call under the same GNU time wrapper (harness timeRusage:
// wait4's rusage of the plugin and the children it waited for, e.g. the reference's host-local or
// iptables processes). The floor: `node -e 0` of the pinned Node that the executable embeds
// (node_modules/.bin/node) against VERSION, a call that does no work.
//
//   node scripts/bench/rss.mjs [--rounds N]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REF_DIR, median, runIfMain, timeRusage } from './harness.mjs';

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const NODE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/.bin/node');

/** Runs every case; returns rows {label, rounds, ours, ref, oursCpuMs, refCpuMs, oursRssKB, refRssKB} and the floor. */
export function benchRss(distBin, rounds) {
  const tag = `${process.pid}`;
  const node = `tscni-bench-rss-h-${tag}`;
  const cont = `tscni-bench-rss-c-${tag}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-bench-rss-'));
  const timeFile = path.join(tmp, 'rusage');
  for (const ns of [node, cont]) execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
    const dirOf = (impl) => (impl === 'ours' ? distBin : REF_DIR);
    const env = (impl, command) => ({ CNI_COMMAND: command, CNI_CONTAINERID: `bench-rss-${impl}`, CNI_NETNS: `/run/netns/${cont}`, CNI_IFNAME: 'eth0', CNI_PATH: dirOf(impl) });
    const ipam = (impl, third) => ({ type: 'host-local', dataDir: path.join(tmp, impl), ranges: [[{ subnet: `10.41.${third + (impl === 'ours' ? 0 : 1)}.0/24` }]] });
    const bridge = (impl) => JSON.stringify({ cniVersion: '1.0.0', name: 'benchrss', type: 'bridge', bridge: `brss${impl === 'ours' ? 'o' : 'r'}`, isGateway: true, ipam: ipam(impl, 20) });
    const ptp = (impl) => JSON.stringify({ cniVersion: '1.0.0', name: 'benchrssptp', type: 'ptp', ipam: ipam(impl, 22) });
    const hostLocal = (impl) => JSON.stringify({ cniVersion: '1.0.0', name: 'benchrsshl', type: 'host-local', ipam: ipam(impl, 24) });
    const call = (impl, type, command, conf) =>
      timeRusage('nsenter', [`--net=/run/netns/${node}`, path.join(dirOf(impl), type)], env(impl, command), conf, timeFile);
    // Each case: one measured call (the ADD), then the undo (the DEL) unmeasured, or the reverse.
    const cases = [
      ['VERSION (bridge)', (impl) => call(impl, 'bridge', 'VERSION', '{"cniVersion":"1.0.0"}')],
      ['host-local ADD', (impl) => { const r = call(impl, 'host-local', 'ADD', hostLocal(impl)); call(impl, 'host-local', 'DEL', hostLocal(impl)); return r; }],
      ['bridge+host-local ADD', (impl) => { const r = call(impl, 'bridge', 'ADD', bridge(impl)); call(impl, 'bridge', 'DEL', bridge(impl)); return r; }],
      ['bridge+host-local DEL', (impl) => { call(impl, 'bridge', 'ADD', bridge(impl)); return call(impl, 'bridge', 'DEL', bridge(impl)); }],
      ['ptp ADD', (impl) => { const r = call(impl, 'ptp', 'ADD', ptp(impl)); call(impl, 'ptp', 'DEL', ptp(impl)); return r; }],
    ];
    const rows = [];
    for (const [label, once] of cases) {
      for (const impl of ['ours', 'ref']) once(impl); // warm-up: bridge creation, page cache
      const t = { ours: [], ref: [] };
      for (let i = 0; i < rounds; i++) for (const impl of i % 2 ? ['ref', 'ours'] : ['ours', 'ref']) t[impl].push(once(impl));
      const med = (impl, f) => median(t[impl].map(f));
      rows.push({
        label, rounds,
        ours: med('ours', (x) => x.ms), ref: med('ref', (x) => x.ms),
        // Mean, not median: GNU time prints CPU in 10 ms steps, a median of small values rounds to 0.
        oursCpuMs: mean(t.ours.map((x) => x.userMs + x.sysMs)), refCpuMs: mean(t.ref.map((x) => x.userMs + x.sysMs)),
        oursRssKB: med('ours', (x) => x.rssKB), refRssKB: med('ref', (x) => x.rssKB),
      });
    }
    const f = [];
    for (let i = 0; i < rounds; i++) f.push(timeRusage(NODE, ['-e', '0'], {}, '', timeFile));
    const floor = { label: 'node -e 0 (the pinned Node, no plugin)', rounds, ms: median(f.map((x) => x.ms)), cpuMs: mean(f.map((x) => x.userMs + x.sysMs)), rssKB: median(f.map((x) => x.rssKB)) };
    printRss(rows, floor);
    return { rows, floor };
  } finally {
    for (const ns of [node, cont]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function rssTable(rows, floor) {
  const mb = (kb) => (kb / 1024).toFixed(1);
  const out = [
    '| call | runs | tscni ms | Go ms | tscni CPU ms | Go CPU ms | tscni peak RSS MB | Go peak RSS MB | RSS tscni / Go |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(`| ${r.label} | ${r.rounds} | ${r.ours.toFixed(2)} | ${r.ref.toFixed(2)} | ${r.oursCpuMs.toFixed(1)} | ${r.refCpuMs.toFixed(1)} | ${mb(r.oursRssKB)} | ${mb(r.refRssKB)} | ${(r.oursRssKB / r.refRssKB).toFixed(1)}x |`);
  }
  out.push(`| ${floor.label} | ${floor.rounds} | ${floor.ms.toFixed(2)} | - | ${floor.cpuMs.toFixed(1)} | - | ${mb(floor.rssKB)} | - | - |`);
  return out.join('\n');
}

function printRss(rows, floor) {
  process.stdout.write(`\nper call: wall, CPU (user+sys, mean) and peak RSS (median) of the plugin process and its children (GNU time; wall: median)\n${rssTable(rows, floor)}\n`);
}

runIfMain(import.meta.url, benchRss);
