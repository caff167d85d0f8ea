// firewall ADD and DEL wall time, ours (dist/bin/firewall) next to the Go reference
// (/usr/lib/cni/firewall), interleaved, each in its own throwaway "node" netns, chained after a
// fixed dual-stack bridge prevResult (the firewall plugin itself creates no interface):
//   - backend iptables (both)
//   - no backend key, no system bus (both fall back to iptables)
//   - backend nftables (ours; the reference has none and runs iptables)
// Every run is `nsenter --net=<netns> <binary>`. cniVersion 1.0.0 (1.1.1 does not know 1.1.0).
//
//   node scripts/bench/firewall.mjs [--rounds N]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REF_DIR, median, runIfMain } from './harness.mjs';

function timeRun(file, args, env, stdin) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(file, args, { env: { PATH: process.env.PATH, ...env }, input: stdin, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${args.at(-1)} ${env.CNI_COMMAND} failed: ${res.stdout}${res.stderr}`);
  return ms;
}

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0', mac: '0a:58:0a:20:00:01' }, { name: 'veth0', mac: '0a:58:0a:20:00:02' }, { name: 'eth0', mac: '0a:58:0a:20:00:03', sandbox: '/run/netns/x' }],
  ips: [{ address: '10.32.40.2/24', gateway: '10.32.40.1', interface: 2 }, { address: 'fd32:40::2/64', interface: 2 }],
};

export function benchFirewall(distBin, rounds) {
  const tag = `${process.pid}`;
  const nodes = { ours: `fw-bench-o-${tag}`, ref: `fw-bench-r-${tag}` };
  for (const n of Object.values(nodes)) execFileSync('ip', ['netns', 'add', n]);
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-bench-'));
  const rows = [];
  try {
    const cases = [
      ['firewall iptables', { backend: 'iptables' }],
      ['firewall default backend, no D-Bus (iptables)', {}],
      ['firewall nftables (ref: iptables)', { backend: 'nftables' }],
    ];
    for (const [label, extra] of cases) {
      const add = { ours: [], ref: [] };
      const del = { ours: [], ref: [] };
      for (let i = 0; i < rounds; i++) {
        for (const impl of ['ours', 'ref']) {
          const bin = impl === 'ours' ? path.join(distBin, 'firewall') : path.join(REF_DIR, 'firewall');
          const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'firewall', ...(impl === 'ref' && extra.backend === 'nftables' ? { backend: 'iptables' } : extra), prevResult });
          const env = (command) => ({
            CNI_COMMAND: command, CNI_CONTAINERID: `bench-${i}`, CNI_NETNS: '/proc/1/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: path.dirname(bin),
            DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${state}/no-bus`, TSCNI_STATE_DIR: state,
          });
          add[impl].push(timeRun('nsenter', [`--net=/run/netns/${nodes[impl]}`, bin], env('ADD'), conf));
          del[impl].push(timeRun('nsenter', [`--net=/run/netns/${nodes[impl]}`, bin], env('DEL'), conf));
        }
      }
      rows.push({ label: `${label} ADD`, rounds, ours: median(add.ours), ref: median(add.ref) });
      rows.push({ label: `${label} DEL`, rounds, ours: median(del.ours), ref: median(del.ref) });
    }
  } finally {
    for (const n of Object.values(nodes)) spawnSync('ip', ['netns', 'del', n]);
    fs.rmSync(state, { recursive: true, force: true });
  }
  const out = ['\nfirewall (chained after a fixed dual-stack prevResult, in throwaway node netns)', '| case | runs | tscni median ms | Go reference median ms | tscni / reference |', '|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.label} | ${r.rounds} | ${r.ours.toFixed(2)} | ${r.ref.toFixed(2)} | ${(r.ours / r.ref).toFixed(2)}x |`);
  process.stdout.write(`${out.join('\n')}\n`);
  return rows;
}

runIfMain(import.meta.url, benchFirewall);
