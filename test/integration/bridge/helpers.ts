// Bridge test rig: a throwaway "node" netns where the plugin runs (bridges, sysctls, firewall rules
// land there), container netns beside it, a temp host-local dataDir. The plugin is the built binary
// run as a runtime would, via `nsenter --net=<node>`; the kernel is read back with ip/bridge/nft/
// iptables-save inside the same namespaces.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNetns, ipJson, netnsPath, removeAllNetns } from '../../helpers/netns.js';
import { DIST_BIN, REF_BIN, type PluginRun } from '../../helpers/plugin.js';

export const OURS = path.join(DIST_BIN, 'bridge');
export const REF = path.join(REF_BIN, 'bridge');

export interface Rig {
  node: string;
  dataDir: string;
  containers: string[];
}

const rigs: Rig[] = [];

export function makeRig(containers = 1): Rig {
  const rig: Rig = {
    node: createNetns('tscni-br-h'),
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-br-')),
    containers: Array.from({ length: containers }, () => createNetns('tscni-br-c')),
  };
  rigs.push(rig);
  return rig;
}

/** afterEach: every netns and dataDir of this file's rigs. */
export function cleanupRigs(): void {
  removeAllNetns();
  for (const r of rigs.splice(0)) fs.rmSync(r.dataDir, { recursive: true, force: true });
}

export interface Call {
  cid?: string;
  ifName?: string;
  /** Container netns name (default: the rig's first). '' sends an empty CNI_NETNS. */
  container?: string;
  /** Raw CNI_NETNS override (e.g. a path that does not exist). */
  netnsPath?: string;
  cniArgs?: string;
  bin?: string;
  cniPath?: string;
  env?: Record<string, string>;
}

/** Runs the plugin inside the rig's node netns. */
export function run(rig: Rig, command: string, conf: unknown, call: Call = {}): PluginRun {
  const bin = call.bin ?? OURS;
  const container = call.container ?? rig.containers[0] ?? '';
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: call.cid ?? 'ctr1',
    CNI_NETNS: call.netnsPath ?? (container === '' ? '' : netnsPath(container)),
    CNI_IFNAME: call.ifName ?? 'eth0',
    CNI_PATH: call.cniPath ?? (bin === REF ? REF_BIN : DIST_BIN),
    ...(call.cniArgs !== undefined ? { CNI_ARGS: call.cniArgs } : {}),
    ...call.env,
  };
  const input = typeof conf === 'string' ? conf : JSON.stringify(conf);
  const res = spawnSync('nsenter', [`--net=${netnsPath(rig.node)}`, bin], { env, input, encoding: 'utf8' });
  let json: unknown;
  try {
    json = res.stdout.trim() ? JSON.parse(res.stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr, json };
}

/** A bridge + host-local config; `ranges` are host-local range sets. */
export function bridgeConf(rig: Rig, extra: Record<string, unknown> = {}, ranges: unknown[][] = [[{ subnet: '10.77.1.0/24' }]]): Record<string, unknown> {
  return {
    cniVersion: '1.1.0',
    name: 'brnet',
    type: 'bridge',
    bridge: 'tbr0',
    ipam: { type: 'host-local', dataDir: rig.dataDir, ranges },
    ...extra,
  };
}

export function l2Conf(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.1.0', name: 'brnet', type: 'bridge', bridge: 'tbr0', ...extra };
}

// ---- kernel state, read with the independent tools --------------------------------------------

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address: string;
  master?: string;
  link_index?: number;
  promiscuity?: number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_data?: Record<string, unknown>; info_slave_data?: Record<string, unknown> };
}
export interface IpAddrInfo { family: string; local: string; prefixlen: number; scope: string; tentative?: boolean }
export interface IpAddr { ifname: string; addr_info: IpAddrInfo[] }
export interface IpRoute { dst: string; gateway?: string; dev: string; protocol?: string; scope?: string }

export const links = (ns: string): IpLink[] => ipJson<IpLink[]>(['-d', 'link', 'show'], ns);
export const link = (ns: string, name: string): IpLink | undefined => links(ns).find((l) => l.ifname === name);
export const vethsOf = (ns: string): IpLink[] => links(ns).filter((l) => l.linkinfo?.info_kind === 'veth');

/** "ip/len" of global (non-link-local) addresses on `dev`. */
export function addrs(ns: string, dev: string): string[] {
  const entry = ipJson<IpAddr[]>(['addr', 'show', 'dev', dev], ns)[0];
  return (entry?.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
}

export function routes(ns: string, family: 4 | 6 = 4): IpRoute[] {
  return ipJson<IpRoute[]>([`-${family}`, 'route', 'show'], ns);
}

export function sysctl(ns: string, key: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', key], { encoding: 'utf8' }).trim();
}

export function inNs(ns: string, cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('nsenter', [`--net=${netnsPath(ns)}`, cmd, ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `bridge -j -d link show` entries (ports with hairpin/isolated flags). */
export function bridgePorts(ns: string): Array<{ ifname: string; master?: string; hairpin?: boolean; isolated?: boolean; state?: string }> {
  const out = inNs(ns, 'bridge', ['-j', '-d', 'link', 'show']).stdout.trim();
  return out ? JSON.parse(out) : [];
}

/** The nat table of one family as iptables-save prints it, comments and counters stripped. */
export function natRules(ns: string, family: 4 | 6 = 4): string[] {
  const out = inNs(ns, family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'nat']).stdout;
  return out.split('\n').filter((l) => l.startsWith('-A ') || (l.startsWith(':') && !/^:(PREROUTING|INPUT|OUTPUT|POSTROUTING) /.test(l)));
}

export interface NftObject { [kind: string]: Record<string, unknown> }
export function nftRuleset(ns: string): NftObject[] {
  const out = inNs(ns, 'nft', ['-j', 'list', 'ruleset']).stdout.trim();
  return out ? (JSON.parse(out) as { nftables: NftObject[] }).nftables : [];
}

/** host-local's reservation files for network `name` (no lock / last_reserved files). */
export function leases(rig: Rig, name = 'brnet'): string[] {
  const dir = path.join(rig.dataDir, name);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));
}

/** ping from a netns; retried (an IPv6 gateway address on the bridge is tentative for ~1-2 s). */
export function ping(ns: string, ip: string, attempts = 1): boolean {
  for (let i = 0; i < attempts; i++) {
    if (inNs(ns, 'ping', ['-c', '1', '-W', '1', ip]).status === 0) return true;
  }
  return false;
}

/** Does this kernel support VLAN filtering on bridges? (Creates and deletes a bridge in `ns`.) */
export function kernelHasBridgeVlanFiltering(ns: string): boolean {
  const r = inNs(ns, 'ip', ['link', 'add', 'tscni-vlanprobe', 'type', 'bridge', 'vlan_filtering', '1']);
  if (r.status !== 0) return false;
  inNs(ns, 'ip', ['link', 'del', 'tscni-vlanprobe']);
  return true;
}
