#!/usr/bin/env node
// host-local ADD/DEL wall time, ours (dist/bin/host-local) next to the Go reference
// (/usr/lib/cni/host-local), at 0, 1,000 and 5,000 existing leases, in one run.
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
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const IMPLS = [
  ['tscni', path.join(process.env.TSCNI_BIN_DIR ?? path.join(repo, 'dist/bin'), 'host-local')],
  ['go-1.1.1', '/usr/lib/cni/host-local'],
];
const SIZES = [0, 1000, 5000];
const NET = 'benchnet';

for (const [name, bin] of IMPLS) {
  if (!fs.existsSync(bin)) {
    process.stderr.write(`bench/ipam: ${name} binary ${bin} is missing${name === 'tscni' ? ' (run npm run build)' : ''}\n`);
    process.exit(1);
  }
}

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

const rows = [];
for (const size of SIZES) {
  for (const [name, bin] of IMPLS) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-ipam-bench-'));
    try {
      fill(dataDir, size);
      const conf = JSON.stringify({
        cniVersion: '1.0.0',
        name: NET,
        ipam: { type: 'host-local', dataDir, subnet: '10.70.0.0/16' },
      });
      const first = call(bin, conf, 'ADD', 'warm');
      call(bin, conf, 'DEL', 'warm');
      const adds = [];
      const dels = [];
      for (let i = 0; i < RUNS; i++) adds.push(call(bin, conf, 'ADD', `b${i}`));
      for (let i = 0; i < RUNS; i++) dels.push(call(bin, conf, 'DEL', `b${i}`));
      rows.push({ leases: size, impl: name, first, add: median(adds), del: median(dels) });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

const f = (ms) => `${ms.toFixed(1)} ms`.padStart(10);
process.stdout.write(`host-local, median of ${RUNS} calls (wall time, process start included)\n`);
process.stdout.write(`${'leases'.padStart(6)}  ${'impl'.padEnd(9)} ${'ADD'.padStart(10)} ${'DEL'.padStart(10)} ${'first ADD'.padStart(10)}\n`);
for (const r of rows) {
  process.stdout.write(`${String(r.leases).padStart(6)}  ${r.impl.padEnd(9)} ${f(r.add)} ${f(r.del)} ${f(r.first)}\n`);
}
