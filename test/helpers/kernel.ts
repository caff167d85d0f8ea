// Probes for link types this kernel may lack, run in a throwaway netns: integration tests skip,
// naming the missing feature, when the probe fails.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function kernelSupports(kind: 'dummy' | 'ipvlan' | 'vlan'): boolean {
  const ns = `tscni-probe-${randomBytes(4).toString('hex')}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return false;
  try {
    const ip = (...args: string[]): boolean => spawnSync('ip', ['-n', ns, ...args]).status === 0;
    if (kind === 'dummy') return ip('link', 'add', 'p0', 'type', 'dummy');
    if (!ip('link', 'add', 'm0', 'type', 'veth', 'peer', 'name', 'm1')) return false;
    if (kind === 'ipvlan') return ip('link', 'add', 'p0', 'link', 'm0', 'type', 'ipvlan', 'mode', 'l2');
    return ip('link', 'add', 'link', 'm0', 'name', 'p0', 'type', 'vlan', 'id', '5');
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

export const MISSING: Record<'dummy' | 'ipvlan' | 'vlan', string> = {
  dummy: 'kernel lacks the "dummy" link type (CONFIG_DUMMY / dummy.ko)',
  ipvlan: 'kernel lacks the "ipvlan" link type (CONFIG_IPVLAN / ipvlan.ko)',
  vlan: 'kernel lacks 802.1Q VLAN links (CONFIG_VLAN_8021Q / 8021q.ko)',
};
