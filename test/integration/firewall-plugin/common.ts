// Shared by the firewall plugin's integration tests: configs, prevResults and oracles.
import { spawnSync } from 'node:child_process';

export const skipReason = (): string | undefined => {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of ['ip', 'nft', 'iptables-save', 'ip6tables-save', 'dbus-daemon']) {
    if (spawnSync('which', [tool]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
};

export interface PrevOptions {
  bridge?: string;
  v4?: string;
  v6?: string;
  version?: string;
  sandbox?: string;
}

/** A bridge-style prevResult: interfaces [bridge, host veth, container eth0]. */
export function prevResult(o: PrevOptions = {}): Record<string, unknown> {
  const ips: Record<string, unknown>[] = [];
  if (o.v4) ips.push({ address: o.v4, gateway: o.v4.replace(/\.\d+\//, '.1/').split('/')[0], interface: 2 });
  if (o.v6) ips.push({ address: o.v6, interface: 2 });
  return {
    cniVersion: o.version ?? '1.0.0',
    interfaces: [
      { name: o.bridge ?? 'fw-br0', mac: '0a:58:0a:20:00:01' },
      { name: 'veth0123abcd', mac: '0a:58:0a:20:00:02' },
      { name: 'eth0', mac: '0a:58:0a:20:00:03', sandbox: o.sandbox ?? '/run/netns/x' },
    ],
    ips,
  };
}

export function firewallConf(extra: Record<string, unknown>, prev?: Record<string, unknown>, version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: 'fw-net', type: 'firewall', ...extra, ...(prev ? { prevResult: { ...prev, cniVersion: version } } : {}) };
}

/** The "-A ..." lines of the filter table of one family inside `ns`. */
export function filterRules(ns: string, family: 4 | 6 = 4): string[] {
  const r = spawnSync('ip', ['netns', 'exec', ns, family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'filter'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.startsWith('-A '));
}

export function filterChains(ns: string, family: 4 | 6 = 4): string[] {
  const r = spawnSync('ip', ['netns', 'exec', ns, family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'filter'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!);
}

export interface NftJsonRule {
  chain: string;
  comment?: string;
  expr: unknown[];
}

/** Rules of table inet cni_firewall (nft -j), or undefined when the table does not exist. */
export function nftFirewallRules(ns: string): NftJsonRule[] | undefined {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'inet', 'cni_firewall'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables;
  return items.filter((i) => i.rule).map((i) => i.rule as NftJsonRule);
}
