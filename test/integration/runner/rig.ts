// Rig of the runner tests: `dist/tscni <command>` run the way a user runs it on a node, inside a
// throwaway netns that plays the node (rn-node-*), with NETCONFPATH, the result cache
// (TSCNI_CACHE_DIR), tscni's state records (TSCNI_STATE_DIR) and host-local's dataDir all in a
// temp dir. CNI_PATH is dist/bin (ours) or /usr/lib/cni (the Go reference 1.1.1). The kernel and
// the files are read back with ip/iptables-save/nft and plain file reads, never with our code.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNetns, execInNetns, netnsPath, removeNetns } from '../../helpers/netns.js';
import { DIST_BIN, REF_BIN, ROOT, runPluginInNetns, type PluginRun } from '../../helpers/plugin.js';
import { exampleList, type Json } from '../runtimes/rig.js';

export const TSCNI = path.join(ROOT, 'dist/tscni');
export type Impl = 'ours' | 'ref';
export const pluginDir = (impl: Impl): string => (impl === 'ours' ? DIST_BIN : REF_BIN);
/** The newest version each implementation speaks: the Go plugins 1.1.1 stop at 1.0.0 (no GC/STATUS). */
export const topVersion = (impl: Impl): string => (impl === 'ours' ? '1.1.0' : '1.0.0');

export interface RunnerNode {
  impl: Impl;
  dir: string;
  node: string;
  confDir: string;
  cacheDir: string;
  stateDir: string;
  dataDir: string;
  containers: string[];
}

export function makeNode(impl: Impl): RunnerNode {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rn-'));
  const node = createNetns('rn-node');
  execInNetns(node, 'ip', ['link', 'set', 'lo', 'up']);
  const n: RunnerNode = { impl, dir, node, confDir: path.join(dir, 'net.d'), cacheDir: path.join(dir, 'cache'), stateDir: path.join(dir, 'state'), dataDir: path.join(dir, 'ipam'), containers: [] };
  fs.mkdirSync(n.confDir);
  return n;
}

export function container(n: RunnerNode): string {
  const c = createNetns('rn-ctr');
  n.containers.push(c);
  return c;
}

export function cleanup(n: RunnerNode | undefined): void {
  if (!n) return;
  for (const ns of [...n.containers, n.node]) removeNetns(ns);
  fs.rmSync(n.dir, { recursive: true, force: true });
}

/** Env every process of the node gets: test-owned state, and no way to reach a real firewalld. */
export function nodeEnv(n: RunnerNode): Record<string, string> {
  return {
    PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin`,
    DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(n.dir, 'no-system-bus')}`,
    TSCNI_STATE_DIR: n.stateDir,
  };
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** `tscni <args>` inside the node netns. */
export function tscni(n: RunnerNode, args: string[], extra: Record<string, string> = {}): Run {
  const env = { ...nodeEnv(n), NETCONFPATH: n.confDir, TSCNI_CACHE_DIR: n.cacheDir, CNI_PATH: pluginDir(n.impl), ...extra };
  const r = spawnSync('ip', ['netns', 'exec', n.node, TSCNI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

export const suffix = (): string => randomBytes(3).toString('hex');

/**
 * A conf-example with test-owned names, run at the newest version the implementation speaks
 * through `cniVersions` (so libcni's choice is exercised: the example's own version stays in
 * cniVersion), written as <confDir>/<file>.
 */
export function writeExample(n: RunnerNode, example: string, tag: string, subnets: string[]): Json {
  const sfx = suffix();
  const list = exampleList(example, { name: `rn-${tag}-${sfx}`, bridge: `rn-${tag}${sfx}`, subnets, dataDir: n.dataDir });
  list.cniVersions = ['0.4.0', topVersion(n.impl), '9.9.9'];
  writeList(n, `50-${example}`, list);
  return list;
}

export function writeList(n: RunnerNode, file: string, list: Json): void {
  fs.writeFileSync(path.join(n.confDir, file), JSON.stringify(list, null, 2));
}

/**
 * The oracle: the list chained by hand, each plugin binary run directly with the config libcni
 * would give it (name, cniVersion, prevResult, runtimeConfig = declared capabilities ∩ capArgs).
 */
export function chainByHand(n: RunnerNode, list: Json, version: string, command: 'ADD' | 'DEL', ctr: string, cid: string, capArgs: Json): PluginRun {
  const plugins = (command === 'ADD' ? [...list.plugins] : [...list.plugins].reverse()) as Json[];
  let prev: unknown;
  let last: PluginRun | undefined;
  for (const p of plugins) {
    const conf: Json = { ...p, name: list.name, cniVersion: version };
    if (prev !== undefined) conf.prevResult = prev;
    const rc: Json = {};
    for (const [cap, on] of Object.entries((p.capabilities ?? {}) as Record<string, boolean>)) if (on && cap in capArgs) rc[cap] = capArgs[cap];
    if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_NETNS: netnsPath(ctr), CNI_IFNAME: 'eth0', CNI_PATH: pluginDir(n.impl), ...nodeEnv(n) };
    last = runPluginInNetns(n.node, path.join(pluginDir(n.impl), p.type as string), env, conf);
    if (last.status !== 0) throw new Error(`hand-chained ${p.type} ${command} failed: ${last.stdout}${last.stderr}`);
    if (command === 'ADD') prev = last.json;
  }
  if (!last) throw new Error('empty list');
  return last;
}

/** cnitool's container ID for a netns path, computed with sha512sum (not our code). */
export function cnitoolId(netns: string): string {
  const r = spawnSync('sha512sum', [], { input: netns, encoding: 'utf8' });
  return `cnitool-${r.stdout.slice(0, 20)}`;
}

/** The firewall of the node as text (iptables-save, ip6tables-save, nft list ruleset). */
export function firewall(n: RunnerNode): string {
  return ['iptables-save', 'ip6tables-save', 'nft'].map((t) => execInNetns(n.node, t, t === 'nft' ? ['list', 'ruleset'] : []).stdout).join('\n');
}

/** host-local's lease files of a network (IP file names). */
export function leases(n: RunnerNode, network: string): string[] {
  const dir = path.join(n.dataDir, network);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')).sort();
}

export const cacheFile = (n: RunnerNode, network: string, cid: string, ifName = 'eth0'): string => path.join(n.cacheDir, 'results', `${network}-${cid}-${ifName}`);

/** The address part of every ips[] entry of a result. */
export const ipsOf = (result: Json): string[] => ((result.ips ?? []) as Json[]).map((i) => String(i.address).split('/')[0] as string);

/**
 * A result with what legitimately differs between two attachments replaced (names, MACs, addresses,
 * netns, the ifb name bandwidth hashes from the container ID). An empty "dns" object is dropped: the
 * Go plugins 1.1.1 print one, libcni 1.2+ (and so the runner, as cnitool) re-encodes without it.
 */
export function comparable(result: Json): unknown {
  const ips = ipsOf(result);
  const copy: Json = { ...result };
  if (copy.dns && Object.keys(copy.dns as Json).length === 0) delete copy.dns;
  let text = JSON.stringify(copy)
    .replace(/veth[0-9a-f]{8}/g, 'VETH')
    .replace(/bwp[0-9a-f]{12}/g, 'IFB')
    .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
    .replace(/\/run\/netns\/[a-z0-9-]+/g, 'NETNS');
  for (const ip of ips) text = text.split(`"${ip}/`).join('"ADDR/');
  return JSON.parse(text);
}
