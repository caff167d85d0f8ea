// portmap ADD and DEL wall time, ours (dist/bin/portmap) next to the Go reference
// (/usr/lib/cni/portmap), interleaved in one loop, inside a throwaway "node" netns: each side first
// gets a container from its own bridge + host-local ADD, then portmap runs chained with that result
// (3 mappings: tcp, tcp, udp; dual-stack), as a runtime runs bridge + portmap:
//   - backend iptables (both)
//   - backend nftables (Debian's 1.1.1 has no nftables backend: the reference row is iptables)
// Each binary runs as `nsenter --net=<node netns> <binary>`. cniVersion 1.0.0.
//
//   node scripts/bench/portmap.mjs [--rounds N]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REF_DIR, median, printTable, runIfMain } from './harness.mjs';

const MAPPINGS = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8443, containerPort: 443, protocol: 'tcp' },
  { hostPort: 5353, containerPort: 53, protocol: 'udp' },
];

function run(bin, node, env, stdin) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync('nsenter', [`--net=/run/netns/${node}`, bin], { env: { PATH: process.env.PATH, ...env }, input: stdin, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${bin} ${env.CNI_COMMAND} failed: ${res.stdout}${res.stderr}`);
  return { ms, stdout: res.stdout };
}

export function benchPortmap(distBin, rounds) {
  const tag = `${process.pid}`;
  const node = `tscni-pm-bench-h-${tag}`;
  const cont = { ours: `tscni-pm-bench-c1-${tag}`, ref: `tscni-pm-bench-c2-${tag}` };
  for (const ns of [node, cont.ours, cont.ref]) execFileSync('ip', ['netns', 'add', ns]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-pm-bench-'));
  const binOf = (impl, plugin) => path.join(impl === 'ours' ? distBin : REF_DIR, plugin);
  const env = (impl, command) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: `bench-${impl}`,
    CNI_NETNS: `/run/netns/${cont[impl]}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: impl === 'ours' ? distBin : REF_DIR,
    TSCNI_STATE_DIR: path.join(dir, 'state'),
  });
  const bridgeConf = (impl) =>
    JSON.stringify({
      cniVersion: '1.0.0', name: 'pmbench', type: 'bridge', bridge: `pmb${impl === 'ours' ? 'o' : 'r'}`, isGateway: true,
      ipam: {
        type: 'host-local', dataDir: path.join(dir, impl),
        ranges: [[{ subnet: impl === 'ours' ? '10.78.1.0/24' : '10.78.2.0/24' }], [{ subnet: impl === 'ours' ? 'fd78:1::/64' : 'fd78:2::/64' }]],
      },
    });
  const rows = [];
  try {
    const prev = {};
    for (const impl of ['ours', 'ref']) prev[impl] = JSON.parse(run(binOf(impl, 'bridge'), node, env(impl, 'ADD'), bridgeConf(impl)).stdout);
    for (const backend of ['iptables', 'nftables']) {
      const conf = (impl) =>
        JSON.stringify({
          cniVersion: '1.0.0', name: 'pmbench', type: 'portmap', runtimeConfig: { portMappings: MAPPINGS }, prevResult: prev[impl],
          ...(impl === 'ours' || backend === 'iptables' ? { backend } : {}),
        });
      const once = (impl, command) => run(binOf(impl, 'portmap'), node, env(impl, command), conf(impl)).ms;
      for (const impl of ['ours', 'ref']) {
        once(impl, 'ADD');
        once(impl, 'DEL');
      }
      const t = { ours: { add: [], del: [], sum: [] }, ref: { add: [], del: [], sum: [] } };
      for (let i = 0; i < rounds; i++) {
        for (const impl of i % 2 ? ['ref', 'ours'] : ['ours', 'ref']) {
          const a = once(impl, 'ADD');
          const d = once(impl, 'DEL');
          t[impl].add.push(a);
          t[impl].del.push(d);
          t[impl].sum.push(a + d);
        }
      }
      const label = backend === 'iptables' ? 'portmap iptables' : 'portmap nftables (ref: iptables)';
      for (const [what, key] of [['ADD', 'add'], ['DEL', 'del'], ['ADD+DEL', 'sum']]) {
        rows.push({ label: `${label} ${what}`, rounds, ours: median(t.ours[key]), ref: median(t.ref[key]) });
      }
    }
    printTable('portmap chained after bridge (3 mappings, dual-stack; in a throwaway node netns)', rows);
    return rows;
  } finally {
    for (const impl of ['ours', 'ref']) spawnSync('nsenter', [`--net=/run/netns/${node}`, binOf(impl, 'bridge')], { env: { PATH: process.env.PATH, ...env(impl, 'DEL') }, input: bridgeConf(impl) });
    for (const ns of [node, cont.ours, cont.ref]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, benchPortmap);
