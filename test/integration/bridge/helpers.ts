// Bridge test rig: a throwaway "node" netns where the plugin runs (bridges, sysctls, firewall rules
// land there), container netns beside it, a temp host-local dataDir. The plugin is the built binary
// run as a runtime would, inside the node netns; the kernel is read back with ip/bridge/nft/
// iptables-save inside the same namespaces (test/helpers/ip.ts for links, addresses, routes, sysctls).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNetns, execInNetns, netnsPath, removeAllNetns } from '../../helpers/netns.js';
import { DIST_BIN, REF_BIN, runPluginInNetns, type CniEnv, type PluginRun } from '../../helpers/plugin.js';

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
  const env: CniEnv = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: call.cid ?? 'ctr1',
    CNI_NETNS: call.netnsPath ?? (container === '' ? '' : netnsPath(container)),
    CNI_IFNAME: call.ifName ?? 'eth0',
    CNI_PATH: call.cniPath ?? (bin === REF ? REF_BIN : DIST_BIN),
    ...(call.cniArgs !== undefined ? { CNI_ARGS: call.cniArgs } : {}),
    ...call.env,
  };
  return runPluginInNetns(rig.node, bin, env, conf);
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

// ---- kernel state the generic helpers (test/helpers/ip.ts) do not cover ------------------------

/** `bridge -j -d link show` entries (ports with hairpin/isolated flags). */
export function bridgePorts(ns: string): Array<{ ifname: string; master?: string; hairpin?: boolean; isolated?: boolean; state?: string }> {
  const out = execInNetns(ns, 'bridge', ['-j', '-d', 'link', 'show']).stdout.trim();
  return out ? JSON.parse(out) : [];
}

/** The nat table of one family as iptables-save prints it, comments and counters stripped. */
export function natRules(ns: string, family: 4 | 6 = 4): string[] {
  const out = execInNetns(ns, family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'nat']).stdout;
  return out.split('\n').filter((l) => l.startsWith('-A ') || (l.startsWith(':') && !/^:(PREROUTING|INPUT|OUTPUT|POSTROUTING) /.test(l)));
}

export interface NftObject { [kind: string]: Record<string, unknown> }
export function nftRuleset(ns: string): NftObject[] {
  const out = execInNetns(ns, 'nft', ['-j', 'list', 'ruleset']).stdout.trim();
  return out ? (JSON.parse(out) as { nftables: NftObject[] }).nftables : [];
}

/** host-local's reservation files for network `name` (no lock / last_reserved files). */
export function leases(rig: Rig, name = 'brnet'): string[] {
  const dir = path.join(rig.dataDir, name);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));
}

/** Does this kernel support VLAN filtering on bridges? (Creates and deletes a bridge in `ns`.) */
export function kernelHasBridgeVlanFiltering(ns: string): boolean {
  const r = execInNetns(ns, 'ip', ['link', 'add', 'tscni-vlanprobe', 'type', 'bridge', 'vlan_filtering', '1']);
  if (r.status !== 0) return false;
  execInNetns(ns, 'ip', ['link', 'del', 'tscni-vlanprobe']);
  return true;
}
