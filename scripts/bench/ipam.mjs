#!/usr/bin/env node
// host-local ADD/DEL wall time, ours (dist/bin/host-local) next to the Go reference
// (/usr/lib/cni/host-local), at 0, 1,000, 5,000 and 20,000 existing leases, interleaved in one run.
//
//   node scripts/bench/ipam.mjs [--runs N]      (TSCNI_BIN_DIR overrides dist/bin)
//
// Leases are pre-filled by writing files in the reference format into a /16. Each cell is the
// median of N timed calls; "first ADD" is the first call on a freshly filled directory (ours
// builds its owner index there, see ipam/host-local/owner-index.ts) and is not in the medians.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIZES = [0, 1000, 5000, 20000];
const NET = 'benchnet';
const ipOf = (i) => `10.70.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;

function fill(dataDir, n) {
  const dir = path.join(dataDir, NET);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, ipOf(i)), `fill${i}\r\neth0`, { mode: 0o600 });
  if (n > 0) fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), ipOf(n - 1), { mode: 0o600 });
}

function call(bin, conf, command, cid) {
  const env = {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: cid,
    CNI_NETNS: '/var/run/netns/bench-none',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
  };
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, [], { input: conf, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} ${command} ${cid} failed: ${r.stdout}${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Every size, ours and the reference interleaved call by call (each its own freshly filled dataDir);
 * returns rows {label, rounds, ours, ref} (ADD and DEL per size) plus the first ADDs.
 */
export function benchIpam(distBin, runs, sizes = SIZES) {
  const IMPLS = [
    ['tscni', path.join(distBin, 'host-local')],
    ['go-1.1.1', '/usr/lib/cni/host-local'],
  ];
  for (const [name, bin] of IMPLS) {
    if (!fs.existsSync(bin)) throw new Error(`bench/ipam: ${name} binary ${bin} is missing${name === 'tscni' ? ' (run npm run build)' : ''}`);
  }
  const rows = [];
  const firsts = [];
  for (const size of sizes) {
    const dirs = IMPLS.map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-ipam-bench-')));
    try {
      const confs = dirs.map((dataDir) => {
        fill(dataDir, size);
        return JSON.stringify({ cniVersion: '1.0.0', name: NET, type: 'bridge', ipam: { type: 'host-local', dataDir, subnet: '10.70.0.0/16' } });
      });
      const first = IMPLS.map(([, bin], k) => {
        const ms = call(bin, confs[k], 'ADD', 'warm');
        call(bin, confs[k], 'DEL', 'warm');
        return ms;
      });
      const adds = [[], []];
      const dels = [[], []];
      for (let i = 0; i < runs; i++) for (const k of i % 2 ? [1, 0] : [0, 1]) adds[k].push(call(IMPLS[k][1], confs[k], 'ADD', `b${i}`));
      for (let i = 0; i < runs; i++) for (const k of i % 2 ? [1, 0] : [0, 1]) dels[k].push(call(IMPLS[k][1], confs[k], 'DEL', `b${i}`));
      const n = size.toLocaleString('en-US');
      rows.push({ label: `host-local ADD, ${n} leases`, rounds: runs, ours: median(adds[0]), ref: median(adds[1]) });
      rows.push({ label: `host-local DEL, ${n} leases`, rounds: runs, ours: median(dels[0]), ref: median(dels[1]) });
      firsts.push({ leases: size, ours: first[0], ref: first[1] });
    } finally {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  }
  const f = (ms) => `${ms.toFixed(1)} ms`.padStart(10);
  process.stdout.write(`\nhost-local alone, median of ${runs} calls each, interleaved (wall time, process start included; first ADD = the first call on a freshly filled directory, not in the medians)\n`);
  process.stdout.write(`${'leases'.padStart(6)}  ${'impl'.padEnd(9)} ${'ADD'.padStart(10)} ${'DEL'.padStart(10)} ${'first ADD'.padStart(10)}\n`);
  sizes.forEach((size, i) => {
    const [add, del] = [rows[2 * i], rows[2 * i + 1]];
    process.stdout.write(`${String(size).padStart(6)}  ${'tscni'.padEnd(9)} ${f(add.ours)} ${f(del.ours)} ${f(firsts[i].ours)}\n`);
    process.stdout.write(`${String(size).padStart(6)}  ${'go-1.1.1'.padEnd(9)} ${f(add.ref)} ${f(del.ref)} ${f(firsts[i].ref)}\n`);
  });
  return { rows, firsts };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const runsArg = process.argv.indexOf('--runs');
  benchIpam(process.env.TSCNI_BIN_DIR ?? path.join(repo, 'dist/bin'), runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15);
}
