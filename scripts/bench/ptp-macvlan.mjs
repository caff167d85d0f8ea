// ptp and macvlan ADD/DEL, ours vs the Go reference, interleaved, inside a throwaway node netns
// (forwarding, host veths, masquerade rules land there). Each run goes through `ip netns exec`
// for both implementations, so that overhead is in both columns. IPAM is host-local from the same
// directory as the plugin (ours: in-process delegation; reference: its own host-local binary).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REF_DIR, compare, printTable } from './harness.mjs';

function ipx(args) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

function timed(ns, binary, env, stdin) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync('ip', ['netns', 'exec', ns, binary], { env: { PATH: process.env.PATH, ...env }, input: stdin, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${binary} ${env.CNI_COMMAND} failed: ${res.stdout}${res.stderr}`);
  return ms;
}

export function benchPtpMacvlan(distBin, rounds) {
  const tag = `${process.pid}`;
  const node = `tscni-bench-pm-h-${tag}`;
  const cont = `tscni-bench-pm-c-${tag}`;
  const dirs = { ours: mkdtempSync(path.join(tmpdir(), 'tscni-bench-pm-')), ref: mkdtempSync(path.join(tmpdir(), 'tscni-bench-pm-')) };
  ipx(['netns', 'add', node]);
  ipx(['netns', 'add', cont]);
  try {
    ipx(['-n', node, 'link', 'set', 'lo', 'up']);
    ipx(['-n', node, 'link', 'add', 'bm0', 'type', 'veth', 'peer', 'name', 'bm0p']);
    ipx(['-n', node, 'link', 'set', 'bm0', 'up']);
    ipx(['-n', node, 'link', 'set', 'bm0p', 'up']);
    const binDir = (impl) => (impl === 'ours' ? distBin : REF_DIR);
    const env = (impl, command) => ({
      CNI_COMMAND: command, CNI_CONTAINERID: `bench-${impl}`, CNI_NETNS: `/run/netns/${cont}`, CNI_IFNAME: 'eth0', CNI_PATH: binDir(impl),
    });
    const conf = (impl, type, extra, subnet) =>
      JSON.stringify({ cniVersion: '1.0.0', name: `bench${type}`, type, ipam: { type: 'host-local', subnet, dataDir: dirs[impl] }, ...extra });
    const cases = [
      ['ptp', 'ptp', {}, '10.78.200.0/24'],
      ['ptp ipMasq (iptables)', 'ptp', { ipMasq: true, ipMasqBackend: 'iptables' }, '10.78.201.0/24'],
      ['macvlan', 'macvlan', { master: 'bm0' }, '10.78.202.0/24'],
    ];
    const rows = [];
    for (const [label, type, extra, subnet] of cases) {
      const bin = (impl) => path.join(binDir(impl), type);
      // 1.1.1 has no ipMasqBackend key: it ignores it and uses iptables, the same backend.
      const cfg = (impl) => conf(impl, type, extra, subnet);
      rows.push(
        compare(`${label} ADD`, rounds, (impl) => {
          const ms = timed(node, bin(impl), env(impl, 'ADD'), cfg(impl));
          timed(node, bin(impl), env(impl, 'DEL'), cfg(impl));
          return ms;
        }),
        compare(`${label} DEL`, rounds, (impl) => {
          timed(node, bin(impl), env(impl, 'ADD'), cfg(impl));
          return timed(node, bin(impl), env(impl, 'DEL'), cfg(impl));
        }),
      );
    }
    printTable('ptp and macvlan (IPv4, host-local, inside a node netns via ip netns exec)', rows);
    return rows;
  } finally {
    spawnSync('ip', ['netns', 'del', cont]);
    spawnSync('ip', ['netns', 'del', node]);
    rmSync(dirs.ours, { recursive: true, force: true });
    rmSync(dirs.ref, { recursive: true, force: true });
  }
}

// Standalone: node scripts/bench/ptp-macvlan.mjs [rounds]
if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  benchPtpMacvlan(path.join(root, 'dist/bin'), Number(process.argv[2] ?? 20));
}
