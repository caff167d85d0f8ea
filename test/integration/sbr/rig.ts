// The sbr tests' rig: a node netns with two test bridges, containers whose interfaces come from our
// bridge plugin (the real prevResult for sbr), and rules/routes read back with `ip -j`.
import { createNetns, ipJson, sh } from '../../helpers/netns.js';
import { cniEnv, runIn, type Impl } from '../../helpers/node-rig.js';
import type { PluginRun } from '../../helpers/plugin.js';

export interface Net {
  bridge: string;
  ranges: { subnet: string; gateway?: string }[][];
  routes?: { dst: string; gw?: string }[];
  /** Default true; false leaves the bridge without addresses (a bridge holds one IPv4 gateway at most). */
  isGateway?: boolean;
}

/** eth0's network: 10.35.1.0/24 with a default route (the "existing default route" of the reference tests). */
export const NET0: Net = { bridge: 'sb-br0', ranges: [[{ subnet: '10.35.1.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] };
/** eth0's network without a default route. */
export const NET0_NO_DEFAULT: Net = { bridge: 'sb-br0', ranges: [[{ subnet: '10.35.1.0/24' }]] };
/** net1's network with the container's default route through it. */
export const NET1_DEFAULT: Net = { bridge: 'sb-br1', ranges: [[{ subnet: '10.35.2.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] };
/** net1's network: 10.35.2.0/24 and a routed prefix behind its gateway. */
export const NET1: Net = { bridge: 'sb-br1', ranges: [[{ subnet: '10.35.2.0/24' }]], routes: [{ dst: '10.35.200.0/24' }] };
/** net1 with two IPv4 addresses (two ranges): one table each. */
export const NET1_TWO: Net = { bridge: 'sb-br1', ranges: [[{ subnet: '10.35.2.0/24' }], [{ subnet: '10.35.3.0/24' }]], isGateway: false };
/** net1 dual-stack. */
export const NET1_DUAL: Net = { bridge: 'sb-br1', ranges: [[{ subnet: '10.35.2.0/24' }], [{ subnet: 'fd35:2::/64' }]] };

export function bridgeConf(net: Net, dataDir: string, version = '1.0.0'): Record<string, unknown> {
  return {
    cniVersion: version,
    name: net.bridge,
    type: 'bridge',
    bridge: net.bridge,
    isGateway: net.isGateway ?? true,
    ipam: { type: 'host-local', dataDir, ranges: net.ranges, ...(net.routes ? { routes: net.routes } : {}) },
  };
}

/** Attaches `ifName` of container `c` to `net` with our bridge; returns the ADD result (sbr's prevResult). */
export function attach(host: string, c: string, ifName: string, net: Net, dataDir: string, version = '1.0.0'): Record<string, unknown> {
  const r = runIn(host, 'bridge', cniEnv('ADD', c, c, ifName), bridgeConf(net, dataDir, version));
  if (r.status !== 0) throw new Error(`bridge ADD ${ifName} failed: ${r.stdout} ${r.stderr}`);
  return r.json as Record<string, unknown>;
}

export function sbrConf(prev: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}, version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: 'sbnet', type: 'sbr', ...extra, ...(prev ? { prevResult: prev } : {}) };
}

export function sbr(host: string, c: string, command: string, cfg: Record<string, unknown>, ifName = 'net1', impl: Impl = 'ours'): PluginRun {
  return runIn(host, 'sbr', cniEnv(command, c, c, ifName), cfg, impl);
}

interface IpRule { priority: number; src: string; srclen?: number; table: string }
interface IpRouteAll { type?: string; dst: string; gateway?: string; dev?: string; table?: string; protocol?: string; scope?: string; prefsrc?: string; metric?: number; pref?: string }

/** Rules of both families other than the kernel's three defaults, as `from <src>[/len] lookup <table>` lines in kernel order. */
export function rules(ns: string): string[] {
  const out: string[] = [];
  for (const f of ['-4', '-6']) {
    for (const r of ipJson<IpRule[]>([f, 'rule', 'show'], ns)) {
      if (r.src === 'all' && ['local', 'main', 'default'].includes(r.table)) continue;
      out.push(`${r.priority}: from ${r.src}${r.srclen !== undefined ? `/${r.srclen}` : ''} lookup ${r.table}`);
    }
  }
  return out;
}

/** Routes of every table but local, both families, one line each (what `ip route show table all` prints, reordered). */
export function allRoutes(ns: string): string[] {
  const out: string[] = [];
  for (const f of ['-4', '-6']) {
    for (const r of ipJson<IpRouteAll[]>([f, 'route', 'show', 'table', 'all'], ns)) {
      if (r.table === 'local') continue;
      const parts = [`table ${r.table ?? 'main'}`, r.type && r.type !== 'unicast' ? r.type : '', r.dst];
      if (r.gateway) parts.push(`via ${r.gateway}`);
      if (r.dev) parts.push(`dev ${r.dev}`);
      if (r.protocol) parts.push(`proto ${r.protocol}`);
      if (r.scope) parts.push(`scope ${r.scope}`);
      if (r.prefsrc) parts.push(`src ${r.prefsrc}`);
      if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
      out.push(parts.filter(Boolean).join(' '));
    }
  }
  return out.sort();
}

export const routesOfTable = (ns: string, table: string): string[] => allRoutes(ns).filter((l) => l.startsWith(`table ${table} `));

/** A container netns with eth0 on NET0 and net1 on `net1`; returns the two prevResults. */
export function container(
  host: string, dataDir: string, net1: Net = NET1, version = '1.0.0', net0: Net = NET0,
): { c: string; eth0: Record<string, unknown>; net1: Record<string, unknown> } {
  const c = createNetns('sb-c');
  sh(c, 'ip', ['link', 'set', 'lo', 'up']);
  const eth0 = attach(host, c, 'eth0', net0, dataDir, version);
  const n1 = attach(host, c, 'net1', net1, dataDir, version);
  return { c, eth0, net1: n1 };
}
