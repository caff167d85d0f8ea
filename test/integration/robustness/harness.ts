// Robustness sweep rig: every implemented plugin binary run as a runtime runs it (inside a throwaway
// "node" netns, CNI_NETNS a throwaway container netns, a temp host-local dataDir), fed hostile input.
// The oracle for "nothing left behind" is independent of our code: `ip -j link` in both netns, the
// files under the dataDir, and the iptables/ip6tables/nft rules of the node netns.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { kernelSupports } from '../../helpers/kernel.js';
import { DIST_BIN, spawnPlugin, type PluginRun } from '../../helpers/plugin.js';

export type Json = Record<string, any>;

/** One throwaway node + container(s) + dataDir. */
export interface Rig {
  node: string;
  ctr: string;
  /** A second container netns, for a second attachment. */
  ctr2: string;
  dataDir: string;
  /** For the dhcp plugin: a socket path nobody listens on. */
  socket: string;
}

const live = new Set<Rig>();

function ns(prefix: string): string {
  const name = `tscni-rb-${prefix}-${randomBytes(4).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip netns add ${name}: ${r.stderr}`);
  return name;
}

const ipIn = (netns: string, ...args: string[]): void => {
  const r = spawnSync('ip', ['-n', netns, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${netns} ${args.join(' ')}: ${r.stderr}`);
};

/** Host links the plugins may use: rbm0 (master for macvlan/ipvlan/vlan), rbdev0 (for host-device). */
export function makeRig(): Rig {
  const rig: Rig = { node: '', ctr: '', ctr2: '', dataDir: '', socket: '' };
  live.add(rig);
  rig.dataDir = mkdtempSync(path.join(tmpdir(), 'tscni-rb-'));
  rig.socket = path.join(rig.dataDir, 'no-daemon.sock');
  rig.node = ns('n');
  rig.ctr = ns('c');
  rig.ctr2 = ns('c');
  ipIn(rig.node, 'link', 'set', 'lo', 'up');
  // veth pairs, not dummies: every kernel that runs containers has veth.
  ipIn(rig.node, 'link', 'add', 'rbm0', 'type', 'veth', 'peer', 'name', 'rbm1');
  ipIn(rig.node, 'link', 'set', 'rbm0', 'up');
  ipIn(rig.node, 'link', 'set', 'rbm1', 'up');
  ipIn(rig.node, 'link', 'add', 'rbdev0', 'type', 'veth', 'peer', 'name', 'rbdev1');
  return rig;
}

export function removeRig(rig: Rig): void {
  for (const n of [rig.node, rig.ctr, rig.ctr2]) if (n) spawnSync('ip', ['netns', 'del', n]);
  if (rig.dataDir) rmSync(rig.dataDir, { recursive: true, force: true });
  live.delete(rig);
}

/** For afterEach: removes every rig of this file, also after a failed test. */
export function removeAllRigs(): void {
  for (const rig of [...live]) removeRig(rig);
}

export const nsPath = (name: string): string => `/run/netns/${name}`;

/** Runs dist/bin/<plugin> inside the node netns with exactly `env` and `stdin`. */
export function run(rig: Rig, plugin: string, env: Record<string, string | undefined>, stdin: unknown): PluginRun {
  const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const input = typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
  return spawnPlugin(['ip', 'netns', 'exec', rig.node, path.join(DIST_BIN, plugin)], clean, input, 20_000);
}

/** The CNI env of one attachment; `over` replaces or (with undefined) removes variables. */
export function env(rig: Rig, command: string, over: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'rbctr1',
    CNI_NETNS: nsPath(rig.ctr),
    CNI_IFNAME: 'eth0',
    CNI_PATH: DIST_BIN,
    ...over,
  };
}

// ---- leftovers ----------------------------------------------------------------------------------

function linksOf(netns: string): string[] {
  const r = spawnSync('ip', ['-n', netns, '-j', 'link', 'show'], { encoding: 'utf8' });
  if (r.status !== 0) return [`<netns ${netns} unreadable>`];
  return (JSON.parse(r.stdout) as Json[]).map((l) => String(l['ifname'])).sort();
}

/** Lease files (named by the address) of every network under a host-local dataDir: "<net>/<ip>". */
function leaseFiles(dataDir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dataDir)) return out;
  for (const net of readdirSync(dataDir)) {
    const dir = path.join(dataDir, net);
    if (!statSync(dir).isDirectory() || net.startsWith('.')) continue;
    for (const f of readdirSync(dir)) if (isIP(f)) out.push(`${net}/${f}`);
  }
  return out.sort();
}

function inNode(node: string, cmd: string, args: string[]): string {
  const r = spawnSync('ip', ['netns', 'exec', node, cmd, ...args], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

/** iptables/ip6tables rules and non-builtin chains, and every nft rule, of the node netns. */
export function rulesOf(node: string): string[] {
  const out: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    for (const line of inNode(node, tool, []).split('\n')) {
      if (line.startsWith('-A ') || /^:CNI-/.test(line)) out.push(`${tool}: ${line}`);
    }
  }
  const nft = inNode(node, 'nft', ['-j', 'list', 'ruleset']);
  if (nft.trim()) {
    for (const o of (JSON.parse(nft) as { nftables: Json[] }).nftables) {
      const rule = o['rule'] as Json | undefined;
      if (rule) out.push(`nft: ${rule['family']} ${rule['table']} ${rule['chain']} ${JSON.stringify(rule['expr'])} ${rule['comment'] ?? ''}`);
    }
  }
  return out.sort();
}

export interface Snapshot {
  nodeLinks: string[];
  ctrLinks: string[];
  ctr2Links: string[];
  files: string[];
  rules: string[];
}

export function snapshot(rig: Rig): Snapshot {
  return {
    nodeLinks: linksOf(rig.node),
    ctrLinks: existsSync(nsPath(rig.ctr)) ? linksOf(rig.ctr) : [],
    ctr2Links: existsSync(nsPath(rig.ctr2)) ? linksOf(rig.ctr2) : [],
    files: leaseFiles(rig.dataDir),
    rules: rulesOf(rig.node),
  };
}

/** Host-local lease files (the addresses) of network `net`. */
export function leases(rig: Rig, net: string = NET): string[] {
  return leaseFiles(rig.dataDir)
    .filter((f) => f.startsWith(`${net}/`))
    .map((f) => f.slice(net.length + 1));
}

// ---- assertions ---------------------------------------------------------------------------------

export interface ErrorObject {
  code: number;
  msg: string;
  details?: string;
}

/**
 * What is wrong with a run that should have failed as the spec wants: exit 1, stdout exactly one
 * error object {code, msg, details?} (nothing else, no stack trace), the expected code (never 999),
 * (or, with 'any', any code but 999) and msg+details naming each of `mentions` (the field or variable, and the value). [] = all good.
 */
export function cniErrorProblems(r: PluginRun, code: number | 'any', mentions: readonly (string | RegExp)[]): string[] {
  const out: string[] = [];
  if (r.status !== 1) out.push(`exit status ${r.status}, want 1`);
  let obj: unknown;
  try {
    obj = JSON.parse(r.stdout);
  } catch {
    return [...out, `stdout is not one JSON document: ${JSON.stringify(r.stdout.slice(0, 300))}`];
  }
  if (/\n\s+at .+:\d+:\d+/.test(r.stdout)) out.push('stdout carries a stack trace');
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return [...out, `stdout is not an object: ${r.stdout}`];
  const e = obj as Json;
  const extra = Object.keys(e).filter((k) => !['code', 'msg', 'details'].includes(k));
  if (extra.length > 0) out.push(`unexpected keys ${extra.join(',')}`);
  if (typeof e['msg'] !== 'string' || e['msg'] === '') out.push('msg is not a non-empty string');
  if ('details' in e && typeof e['details'] !== 'string') out.push('details is not a string');
  const shown = JSON.stringify(e);
  if (typeof e['code'] !== 'number' || e['code'] === 999) out.push(`code ${e['code']}, want a spec code: ${shown}`);
  else if (code !== 'any' && e['code'] !== code) out.push(`code ${e['code']}, want ${code}: ${shown}`);
  const text = `${e['msg']} ${e['details'] ?? ''}`;
  for (const m of mentions) {
    const hit = typeof m === 'string' ? text.includes(m) : m.test(text);
    if (!hit) out.push(`does not mention ${typeof m === 'string' ? JSON.stringify(m) : String(m)}: ${shown}`);
  }
  return out;
}

export function successProblems(r: PluginRun): string[] {
  return r.status === 0 ? [] : [`exit status ${r.status}, want 0: ${r.stdout.trim()} ${r.stderr.trim().slice(0, 500)}`];
}

/** The differences between two snapshots, as readable lines ([] = nothing left behind). */
export function leftovers(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const key of Object.keys(before) as (keyof Snapshot)[]) {
    const added = after[key].filter((x) => !before[key].includes(x));
    const removed = before[key].filter((x) => !after[key].includes(x));
    if (added.length) out.push(`${key} left behind: ${added.join(' | ')}`);
    if (removed.length) out.push(`${key} removed: ${removed.join(' | ')}`);
  }
  return out;
}

/** Collects "label: problem" lines; `check()` asserts there are none, showing them all at once. */
export class Problems {
  readonly lines: string[] = [];
  add(label: string, problems: string[]): void {
    for (const p of problems) this.lines.push(`${label}: ${p}`);
  }
  check(): void {
    expect(this.lines).toEqual([]);
  }
}

// ---- the plugins under test ---------------------------------------------------------------------

export interface PluginSpec {
  /** dist/bin name. */
  name: string;
  /** A valid config for this rig (type-error rows mutate it). */
  conf: (rig: Rig) => Json;
  ifName: string;
  /** True when ADD touches CNI_NETNS (so a bad netns must fail). */
  usesNetns: boolean;
  /** True when it delegates to an IPAM plugin through ipam.type. */
  delegates: boolean;
  /** True for host-local based configs (exhaustion, leases). */
  hostLocal: boolean;
}

export const NET = 'rbnet';
const hl = (rig: Rig, extra: Json = {}): Json => ({ type: 'host-local', subnet: '10.123.7.0/24', dataDir: rig.dataDir, ...extra });
const base = (type: string): Json => ({ cniVersion: '1.0.0', name: NET, type });

export const PLUGINS: PluginSpec[] = [
  { name: 'bridge', conf: (r) => ({ ...base('bridge'), bridge: 'rbbr0', isGateway: true, ipMasq: true, ipam: hl(r) }), ifName: 'eth0', usesNetns: true, delegates: true, hostLocal: true },
  { name: 'ptp', conf: (r) => ({ ...base('ptp'), ipMasq: true, ipam: hl(r) }), ifName: 'eth0', usesNetns: true, delegates: true, hostLocal: true },
  { name: 'macvlan', conf: (r) => ({ ...base('macvlan'), master: 'rbm0', ipam: hl(r) }), ifName: 'eth0', usesNetns: true, delegates: true, hostLocal: true },
  { name: 'ipvlan', conf: (r) => ({ ...base('ipvlan'), master: 'rbm0', ipam: hl(r) }), ifName: 'eth0', usesNetns: true, delegates: true, hostLocal: true },
  { name: 'vlan', conf: (r) => ({ ...base('vlan'), master: 'rbm0', vlanId: 42, ipam: hl(r) }), ifName: 'eth0', usesNetns: true, delegates: true, hostLocal: true },
  { name: 'host-device', conf: (r) => ({ ...base('host-device'), device: 'rbdev0', ipam: hl(r) }), ifName: 'eth0', usesNetns: true, delegates: true, hostLocal: true },
  { name: 'tap', conf: (r) => ({ ...base('tap'), ipam: hl(r) }), ifName: 'eth0', usesNetns: true, delegates: true, hostLocal: true },
  { name: 'dummy', conf: (r) => ({ ...base('dummy'), ipam: hl(r) }), ifName: 'eth0', usesNetns: true, delegates: true, hostLocal: true },
  { name: 'loopback', conf: () => base('loopback'), ifName: 'lo', usesNetns: true, delegates: false, hostLocal: false },
  { name: 'host-local', conf: (r) => ({ cniVersion: '1.0.0', name: NET, type: 'host-local', ipam: hl(r) }), ifName: 'eth0', usesNetns: false, delegates: false, hostLocal: true },
  {
    name: 'static',
    conf: () => ({ cniVersion: '1.0.0', name: NET, type: 'static', ipam: { type: 'static', addresses: [{ address: '10.123.8.2/24' }] } }),
    ifName: 'eth0',
    usesNetns: false,
    delegates: false,
    hostLocal: false,
  },
  {
    name: 'dhcp',
    conf: (r) => ({ cniVersion: '1.0.0', name: NET, type: 'dhcp', ipam: { type: 'dhcp', daemonSocketPath: r.socket } }),
    ifName: 'eth0',
    usesNetns: false,
    delegates: false,
    hostLocal: false,
  },
];

export const spec = (name: string): PluginSpec => {
  const s = PLUGINS.find((p) => p.name === name);
  if (!s) throw new Error(`no plugin ${name}`);
  return s;
};

/** /dev/net/tun exists (tap). */
export const haveTun = existsSync('/dev/net/tun');

const kernel: Record<string, boolean> = {};
/** This kernel can create the plugin's link type (dummy, ipvlan and vlan are modules some lack). */
export function canCreate(name: string): boolean {
  if (name === 'tap') return haveTun;
  if (name !== 'dummy' && name !== 'ipvlan' && name !== 'vlan') return true;
  return (kernel[name] ??= kernelSupports(name));
}

/** Node state a plugin keeps on purpose, even after a failed ADD: the bridge (never deleted). */
export const KEPT: Record<string, string[]> = { bridge: ['rbbr0'] };

export function withoutKept(name: string, s: Snapshot): Snapshot {
  const kept = KEPT[name] ?? [];
  return { ...s, nodeLinks: s.nodeLinks.filter((l) => !kept.includes(l)) };
}

// ---- table-driven sweeps ------------------------------------------------------------------------

/** One hostile invocation that must fail with `code`, naming `mentions`, changing nothing. */
export interface BadRow {
  label: string;
  command?: string;
  /** Replaces (or, with undefined, removes) CNI_* variables of the default env. */
  env?: (rig: Rig) => Record<string, string | undefined>;
  /** stdin: the plugin's valid config transformed; a string is sent as is. */
  stdin?: (conf: Json, rig: Rig) => unknown;
  code: number;
  mentions: readonly (string | RegExp)[];
  /** Rows that only apply to some plugins. */
  when?: (p: PluginSpec) => boolean;
}

/**
 * Runs every applicable row against one plugin in one rig; the rig must look the same after each
 * row (`perRow`), or, for rows the skeleton rejects before any plugin code runs, after all of them.
 */
export function sweep(p: PluginSpec, rows: readonly BadRow[], perRow = true): number {
  const rig = makeRig();
  const problems = new Problems();
  let n = 0;
  try {
    const before = snapshot(rig);
    for (const row of rows) {
      if (row.when && !row.when(p)) continue;
      n++;
      const label = `${p.name}: ${row.label}`;
      const conf = p.conf(rig);
      const stdin = row.stdin ? row.stdin(conf, rig) : conf;
      const e = env(rig, row.command ?? 'ADD', { CNI_IFNAME: p.ifName, ...(row.env ? row.env(rig) : {}) });
      const t0 = Date.now();
      problems.add(label, cniErrorProblems(run(rig, p.name, e, stdin), row.code, row.mentions));
      if (process.env['RB_TIMING']) process.stderr.write(`${Date.now() - t0}ms ${label}\n`);
      if (perRow) problems.add(label, leftovers(before, withoutKept(p.name, snapshot(rig))));
    }
    if (!perRow) problems.add(`${p.name}: after all rows`, leftovers(before, withoutKept(p.name, snapshot(rig))));
  } finally {
    removeRig(rig);
  }
  problems.check();
  return n;
}

export const setPath = (conf: Json, dotted: string, value: unknown): Json => {
  const copy = structuredClone(conf);
  const keys = dotted.split('.');
  let o: Json = copy;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Json;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete o[last];
  else o[last] = value;
  return copy;
};
