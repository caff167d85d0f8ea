// loopback ADD and VERSION: the floor of every invocation (process start) plus the cheapest netlink work.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REF_DIR, compare, printTable, timeInvocation } from './harness.mjs';

export function benchLoopback(distBin, rounds) {
  const ns = `tscni-bench-lo-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'loopback' });
    const bin = (impl) => (impl === 'ours' ? path.join(distBin, 'loopback') : path.join(REF_DIR, 'loopback'));
    const env = { CNI_CONTAINERID: 'bench', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'lo', CNI_PATH: distBin };
    const rows = [
      compare('VERSION', rounds, (impl) => timeInvocation(bin(impl), { CNI_COMMAND: 'VERSION' }, '{}')),
      compare('loopback ADD', rounds, (impl) => timeInvocation(bin(impl), { ...env, CNI_COMMAND: 'ADD' }, conf)),
      compare('loopback DEL', rounds, (impl) => timeInvocation(bin(impl), { ...env, CNI_COMMAND: 'DEL' }, conf)),
    ];
    printTable('loopback (process start + netlink)', rows);
    return rows;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
