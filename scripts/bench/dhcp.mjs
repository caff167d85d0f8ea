#!/usr/bin/env node
// dhcp IPAM: ADD wall time against a local dnsmasq (median of N fresh attachments) and the daemon's
// memory with 20 leases held; ours (dist/bin/dhcp) next to the Go reference (/usr/lib/cni/dhcp).
//
//   node scripts/bench/dhcp.mjs [--runs N]     (root; needs dnsmasq; TSCNI_BIN_DIR overrides dist/bin)
//
// Everything lives in netns named tscni-dh-bench-*, 10.79.250.0/24, removed at the end.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const IMPLS = [
  ['tscni', path.join(process.env.TSCNI_BIN_DIR ?? path.join(repo, 'dist/bin'), 'dhcp')],
  ['go-1.1.1', '/usr/lib/cni/dhcp'],
];
const SRV = 'tscni-dh-bench-srv';
const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-dh-bench-'));
const children = [];
const namespaces = [SRV];
let nsCount = 0;

function container() {
  const ns = `tscni-dh-bench-c${nsCount++}`;
  ip('netns', 'add', ns);
  namespaces.push(ns);
  ip('-n', SRV, 'link', 'add', `vb${nsCount}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('-n', SRV, 'link', 'set', `vb${nsCount}`, 'master', 'br0', 'up');
  return ns;
}

function add(bin, socket, cid, ns) {
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'bridge', ipam: { type: 'dhcp', daemonSocketPath: socket } });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, [], {
    input: conf,
    env: { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: cid, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: path.dirname(bin) },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} ADD failed: ${r.stdout}${r.stderr}`);
  return ms;
}

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const threads = (pid) => Number(/Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

async function main() {
  ip('netns', 'add', SRV);
  ip('-n', SRV, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', SRV, 'addr', 'add', '10.79.250.1/24', 'dev', 'br0');
  ip('-n', SRV, 'link', 'set', 'br0', 'up');
  const dnsmasq = spawn('ip', ['netns', 'exec', SRV, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--interface=br0',
    '--bind-interfaces', '--no-ping', '--dhcp-authoritative', '--dhcp-range=10.79.250.10,10.79.250.250,255.255.255.0,1h',
    `--dhcp-leasefile=${tmp}/leases`, '--dhcp-option=option:router,10.79.250.1'], { stdio: 'ignore' });
  children.push(dnsmasq);
  await sleep(300);
  const rows = [];
  for (const [name, bin] of IMPLS) {
    if (!fs.existsSync(bin)) {
      rows.push([name, 'missing']);
      continue;
    }
    const socket = path.join(tmp, `${name}.sock`);
    const args = ['daemon', '-socketpath', socket];
    if (name === 'tscni') args.push('-statedir', path.join(tmp, 'state'));
    const d = spawn(bin, args, { stdio: 'ignore' });
    children.push(d);
    for (let i = 0; i < 100 && !fs.existsSync(socket); i++) await sleep(50);
    await sleep(100);
    const idle = rssMiB(d.pid);
    const times = [];
    for (let i = 0; i < RUNS; i++) times.push(add(bin, socket, `${name}-lat-${i}`, container()));
    times.sort((a, b) => a - b);
    for (let i = 0; i < 20 - RUNS; i++) add(bin, socket, `${name}-fill-${i}`, container());
    const held = Math.max(20, RUNS);
    rows.push([name, `ADD median ${times[Math.floor(times.length / 2)].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times.at(-1).toFixed(1)})`,
      `daemon RSS idle ${idle.toFixed(0)} MiB, with ${held} leases ${rssMiB(d.pid).toFixed(0)} MiB, ${threads(d.pid)} threads`]);
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
  }
  for (const r of rows) console.log(r.join('  |  '));
}

main()
  .catch((e) => {
    console.error(e.message);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
