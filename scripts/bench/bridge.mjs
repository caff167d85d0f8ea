// bridge ADD and DEL wall time, ours (dist/bin/bridge) next to the Go reference
// (/usr/lib/cni/bridge), interleaved in one loop, inside a throwaway "node" netns:
//   - bridge + host-local
//   - bridge + host-local + ipMasq (iptables)
//   - bridge + host-local + ipMasq (nftables; Debian's 1.1.1 has no ipMasqBackend and uses iptables)
// Each binary runs as `nsenter --net=<node netns> <binary>` (a setns + exec: the same small cost for
// both), with its own IPAM (ours: dist/bin/host-local, in-process; reference: /usr/lib/cni/host-local)
// and its own dataDir. cniVersion 1.0.0 (1.1.1 does not know 1.1.0).
//
//   node scripts/bench/bridge.mjs [--rounds N]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REF_DIR, median, runIfMain } from './harness.mjs';

/** timeInvocation with arguments (the harness's takes none): wall ms of one run; throws on failure. */
function timeRun(file, args, env, stdin) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(file, args, { env: { PATH: process.env.PATH, ...env }, input: stdin, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${args.at(-1)} ${env.CNI_COMMAND} failed: ${res.stdout}${res.stderr}`);
  return ms;
}

function netns(name) {
  execFileSync('ip', ['netns', 'add', name]);
  return name;
}

function tableRow(label, rounds, ours, ref) {
  return { label, rounds, ours: median(ours), ref: median(ref) };
}

function printRows(rows) {
  const out = [
    '\nbridge (in a throwaway node netns; ADD+DEL = median of per-round sums)',
    '| case | runs | tscni median ms | Go reference median ms | tscni / reference |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows) out.push(`| ${r.label} | ${r.rounds} | ${r.ours.toFixed(2)} | ${r.ref.toFixed(2)} | ${(r.ours / r.ref).toFixed(2)}x |`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Runs every case; returns the table rows ({label, rounds, ours, ref} medians in ms). */
export function benchBridge(distBin, rounds) {
  const tag = `${process.pid}`;
  const node = netns(`tscni-br-bench-h-${tag}`);
  const cont = { ours: netns(`tscni-br-bench-c1-${tag}`), ref: netns(`tscni-br-bench-c2-${tag}`) };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-br-bench-'));
  const rows = [];
  try {
    const cases = [
      ['bridge+host-local', {}],
      ['bridge+host-local+ipMasq iptables', { ipMasq: true, ipMasqBackend: 'iptables' }],
      ['bridge+host-local+ipMasq nftables (ref: iptables)', { ipMasq: true, ipMasqBackend: 'nftables' }],
    ];
    let n = 0;
    for (const [label, extra] of cases) {
      n++;
      const conf = (impl) =>
        JSON.stringify({
          cniVersion: '1.0.0',
          name: `bench${n}`,
          type: 'bridge',
          bridge: `bbr${n}${impl === 'ours' ? 'o' : 'r'}`,
          isGateway: true,
          ...extra,
          ipam: {
            type: 'host-local',
            dataDir: path.join(dataDir, impl),
            ranges: [[{ subnet: impl === 'ours' ? `10.77.${100 + n}.0/24` : `10.77.${110 + n}.0/24` }]],
          },
        });
      const run = (impl, command) => {
        const bin = impl === 'ours' ? path.join(distBin, 'bridge') : path.join(REF_DIR, 'bridge');
        const env = {
          CNI_COMMAND: command,
          CNI_CONTAINERID: `bench-${impl}`,
          CNI_NETNS: `/run/netns/${cont[impl]}`,
          CNI_IFNAME: 'eth0',
          CNI_PATH: impl === 'ours' ? distBin : REF_DIR,
        };
        return timeRun('nsenter', [`--net=/run/netns/${node}`, bin], env, conf(impl));
      };
      const t = { ours: { add: [], del: [], sum: [] }, ref: { add: [], del: [], sum: [] } };
      // One warm-up round each (bridge creation, first iptables/nft table setup) is not measured.
      for (const impl of ['ours', 'ref']) {
        run(impl, 'ADD');
        run(impl, 'DEL');
      }
      for (let i = 0; i < rounds; i++) {
        for (const impl of i % 2 ? ['ref', 'ours'] : ['ours', 'ref']) {
          const a = run(impl, 'ADD');
          const d = run(impl, 'DEL');
          t[impl].add.push(a);
          t[impl].del.push(d);
          t[impl].sum.push(a + d);
        }
      }
      rows.push(tableRow(`${label} ADD`, rounds, t.ours.add, t.ref.add));
      rows.push(tableRow(`${label} DEL`, rounds, t.ours.del, t.ref.del));
      rows.push(tableRow(`${label} ADD+DEL`, rounds, t.ours.sum, t.ref.sum));
    }
    printRows(rows);
    return rows;
  } finally {
    for (const ns of [node, cont.ours, cont.ref]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, benchBridge);
