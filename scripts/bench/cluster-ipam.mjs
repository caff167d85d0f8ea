#!/usr/bin/env node
// cluster-ipam against a local 3-member etcd (Debian's etcd-server, test-owned processes on
// 127.0.0.1:23796-23798, peers 23806-23808, data in a temp dir), next to host-local (ours and the Go
// reference) on the same machine: median wall ms of ADD and DEL, then bursts of 30 parallel ADDs
// (and 30 parallel DELs), each burst checked for 30 distinct addresses and an empty pool after.
//
//   node scripts/bench/cluster-ipam.mjs [--runs N] [--bursts N]   (TSCNI_BIN_DIR overrides dist/bin)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 20);
const BURSTS = arg('bursts', 3);
const BURST = 30;
const distBin = process.env.TSCNI_BIN_DIR ?? path.join(repo, 'dist/bin');
const OURS_CI = path.join(distBin, 'cluster-ipam');
const OURS_HL = path.join(distBin, 'host-local');
const REF_HL = '/usr/lib/cni/host-local';
const CLIENT = [23796, 23797, 23798];
const PEER = [23806, 23807, 23808];
const ENDPOINTS = CLIENT.map((p) => `http://127.0.0.1:${p}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tce-ci-bench-'));
const members = [];

for (const bin of [OURS_CI, OURS_HL, '/usr/bin/etcd', '/usr/bin/etcdctl']) {
  if (!fs.existsSync(bin)) throw new Error(`bench/cluster-ipam: ${bin} is missing (npm run build; apt-get install etcd-server etcd-client)`);
}

function cleanup() {
  for (const m of members) {
    try {
      process.kill(m.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function startEtcd() {
  const cluster = CLIENT.map((_, i) => `b${i}=http://127.0.0.1:${PEER[i]}`).join(',');
  CLIENT.forEach((port, i) => {
    const log = fs.openSync(path.join(tmp, `b${i}.log`), 'a');
    const child = spawn('/usr/bin/etcd', [
      '--name', `b${i}`, '--data-dir', path.join(tmp, `b${i}`),
      '--listen-client-urls', ENDPOINTS[i], '--advertise-client-urls', ENDPOINTS[i],
      '--listen-peer-urls', `http://127.0.0.1:${PEER[i]}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${PEER[i]}`,
      '--initial-cluster', cluster, '--initial-cluster-token', `tce-bench-${process.pid}`, '--initial-cluster-state', 'new',
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    members.push(child);
  });
  const until = Date.now() + 30_000;
  for (;;) {
    const r = spawnSync('/usr/bin/etcdctl', ['--endpoints', ENDPOINTS.join(','), 'endpoint', 'health'], { encoding: 'utf8', env: { ETCDCTL_API: '3', PATH: process.env.PATH } });
    if (r.status === 0) return;
    if (Date.now() > until) throw new Error(`etcd did not become healthy: ${r.stderr}`);
    spawnSync('sleep', ['0.2']);
  }
}

const env = (command, cid) => ({ PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_NETNS: '/var/run/netns/tce-bench-none', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' });

function call(bin, conf, command, cid) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, [], { input: conf, env: env(command, cid), encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} ${command} ${cid} failed: ${r.stdout}${r.stderr}`);
  return { ms, out: r.stdout };
}

function callAsync(bin, conf, command, cid) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { env: env(command, cid), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} ${command} ${cid}: ${out}`))));
    child.stdin.end(conf);
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function claimCount(network) {
  const r = spawnSync('/usr/bin/etcdctl', ['--endpoints', ENDPOINTS.join(','), 'get', '--prefix', `/tce/bench/${network}/`, '--keys-only'], { encoding: 'utf8', env: { ETCDCTL_API: '3', PATH: process.env.PATH } });
  return r.stdout.split('\n').filter((l) => l && !l.includes('/_cursor/')).length;
}

startEtcd();
const ciConf = (network) => JSON.stringify({ cniVersion: '1.0.0', name: network, type: 'cluster-ipam', ipam: { type: 'cluster-ipam', range: '10.154.0.0/16', etcd: { endpoints: ENDPOINTS, prefix: '/tce/bench' }, nodeName: 'bench-node' } });
const hlConf = (dir) => JSON.stringify({ cniVersion: '1.0.0', name: 'tce-bench', type: 'host-local', ipam: { type: 'host-local', dataDir: dir, subnet: '10.155.0.0/16' } });
const impls = [
  ['cluster-ipam (tscni, 3-member etcd)', OURS_CI, ciConf('tce-bench')],
  ['host-local (tscni)', OURS_HL, hlConf(path.join(tmp, 'hl-ours'))],
  ['host-local (Go 1.1.1)', REF_HL, hlConf(path.join(tmp, 'hl-ref'))],
].filter(([, bin]) => fs.existsSync(bin));

// Warm-up (page cache, etcd's first writes), then interleaved rounds.
for (const [, bin, conf] of impls) {
  call(bin, conf, 'ADD', 'warm');
  call(bin, conf, 'DEL', 'warm');
}
const times = impls.map(() => ({ add: [], del: [] }));
for (let i = 0; i < RUNS; i++) impls.forEach(([, bin, conf], k) => times[k].add.push(call(bin, conf, 'ADD', `r${i}`).ms));
for (let i = 0; i < RUNS; i++) impls.forEach(([, bin, conf], k) => times[k].del.push(call(bin, conf, 'DEL', `r${i}`).ms));

const lines = [`cluster-ipam vs host-local: median wall ms of one call (${RUNS} runs each, interleaved)`, '| case | ADD ms | DEL ms |', '|---|---|---|'];
impls.forEach(([label], k) => lines.push(`| ${label} | ${median(times[k].add).toFixed(1)} | ${median(times[k].del).toFixed(1)} |`));

lines.push('', `bursts of ${BURST} parallel ADDs, then ${BURST} parallel DELs (wall ms of the whole burst; median of ${BURSTS})`, '| case | ADD burst ms | DEL burst ms | checked |', '|---|---|---|---|');
for (const [k, [label, bin]] of impls.entries()) {
  const adds = [];
  const dels = [];
  let checked = 0;
  for (let b = 0; b < BURSTS; b++) {
    const conf = k === 0 ? ciConf(`tce-burst${b}`) : hlConf(path.join(tmp, `burst-${k}-${b}`));
    const t0 = process.hrtime.bigint();
    const outs = await Promise.all(Array.from({ length: BURST }, (_, i) => callAsync(bin, conf, 'ADD', `burst${i}`)));
    adds.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const addresses = new Set(outs.map((o) => JSON.parse(o).ips[0].address));
    if (addresses.size !== BURST) throw new Error(`${label}: burst gave ${addresses.size} distinct addresses, not ${BURST}`);
    if (k === 0 && claimCount(`tce-burst${b}`) !== BURST) throw new Error(`${label}: etcd holds ${claimCount(`tce-burst${b}`)} claims, not ${BURST}`);
    const t1 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: BURST }, (_, i) => callAsync(bin, conf, 'DEL', `burst${i}`)));
    dels.push(Number(process.hrtime.bigint() - t1) / 1e6);
    if (k === 0 && claimCount(`tce-burst${b}`) !== 0) throw new Error(`${label}: claims left after the DEL burst`);
    checked++;
  }
  lines.push(`| ${label} | ${median(adds).toFixed(0)} | ${median(dels).toFixed(0)} | ${checked} bursts: ${BURST} distinct addresses${k === 0 ? `, ${BURST} claims in etcd, 0 after DEL` : ''} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);

