// Kernel state read back with the independent tools (`ip -j`, `sysctl`) inside a test netns: the
// oracle the integration tests compare plugins against, never our own netlink code.
import { execInNetns, ipJson } from './netns.js';

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  qdisc?: string;
  operstate: string;
  linkmode?: string;
  group?: string;
  /** Left out by `ip` when it is 0. */
  txqlen?: number;
  address: string;
  master?: string;
  link_index?: number;
  promiscuity?: number;
  allmulti?: number;
  inet6_addr_gen_mode?: string;
  num_tx_queues?: number;
  num_rx_queues?: number;
  gso_max_size?: number;
  gso_max_segs?: number;
  gro_max_size?: number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_data?: Record<string, unknown>; info_slave_data?: Record<string, unknown> };
}
export interface IpAddrInfo { family: string; local: string; prefixlen: number; scope: string; tentative?: boolean }
export interface IpAddr { ifname: string; mtu?: number; addr_info: IpAddrInfo[] }
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
}

/** `ip -d link show` of a netns: every link with its kind and kind-specific data. */
export const links = (ns: string): IpLink[] => ipJson<IpLink[]>(['-d', 'link', 'show'], ns);
export const link = (ns: string, name: string): IpLink | undefined => links(ns).find((l) => l.ifname === name);
export const vethsOf = (ns: string): IpLink[] => links(ns).filter((l) => l.linkinfo?.info_kind === 'veth');

/** "ip/len" of the global (non-link-local) addresses on `dev`. */
export function addrs(ns: string, dev: string): string[] {
  const entry = ipJson<IpAddr[]>(['addr', 'show', 'dev', dev], ns)[0];
  return (entry?.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
}

export function routes(ns: string, family: 4 | 6 = 4): IpRoute[] {
  return ipJson<IpRoute[]>([`-${family}`, 'route', 'show'], ns);
}

/** One sysctl's value inside a netns (`sysctl -n`); throws when the key does not exist. */
export function sysctl(ns: string, key: string): string {
  const r = execInNetns(ns, 'sysctl', ['-n', key]);
  if (r.status !== 0) throw new Error(`sysctl ${key} in ${ns} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Every per-interface IPv4/IPv6 sysctl of `ifName` (net.ipv{4,6}.{conf,neigh}.<if>.*), keyed by the
 * part after the interface name, minus `except`. stable_secret is unreadable until set: left out.
 */
export function interfaceSysctls(ns: string, ifName: string, except: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const dotted = ifName.replaceAll('.', '/');
  for (const line of execInNetns(ns, 'sysctl', ['-a']).stdout.split('\n')) {
    const m = /^net\.(ipv[46])\.(conf|neigh)\.([^.]+)\.(\S+) = (.*)$/.exec(line);
    if (!m || m[3] !== dotted || m[4] === 'stable_secret' || except.includes(m[4]!)) continue;
    out[`${m[1]}.${m[2]}.${m[4]}`] = m[5]!;
  }
  return out;
}

/**
 * The link attributes a plugin could change by accident (queueing, offload limits, address
 * generation mode, promiscuity, flags ...), without the ones that differ per run (index, MAC, names
 * of peers). A missing txqlen is 0: `ip` prints none then.
 */
export function linkAttrs(l: IpLink): Record<string, unknown> {
  return {
    kind: l.linkinfo?.info_kind,
    slaveKind: l.linkinfo?.info_slave_kind,
    flags: l.flags,
    mtu: l.mtu,
    txqlen: l.txqlen ?? 0,
    qdisc: l.qdisc,
    operstate: l.operstate,
    linkmode: l.linkmode,
    group: l.group,
    promiscuity: l.promiscuity,
    allmulti: l.allmulti,
    addrGenMode: l.inet6_addr_gen_mode,
    txQueues: l.num_tx_queues,
    rxQueues: l.num_rx_queues,
    gsoMaxSize: l.gso_max_size,
    gsoMaxSegs: l.gso_max_segs,
    groMaxSize: l.gro_max_size,
  };
}
