// Robustness sweep rig for the chained (meta) plugins. One throwaway node netns holds a bridge
// (our bridge plugin + host-local from dist/bin); each attachment is a fresh container netns that
// the bridge plugin wired up, its result kept as prevResult. The chained plugin then gets hostile
// input. The oracle for "nothing left / nothing changed" is independent of our code: `ip -j link`
// (with attributes) in both netns, `ip -j rule` and every route table in the container, `tc -j
// qdisc` in the node, iptables/ip6tables/nft rules of the node, the files under the rig's state
// dirs (host-local dataDir, tuning dataDir, TSCNI_STATE_DIR) and the sysctls the rows touch.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DIST_BIN, spawnPlugin, type PluginRun } from '../../helpers/plugin.js';
import { cniErrorProblems, type Json, Problems, rulesOf, setPath, successProblems } from './harness.js';

export { cniErrorProblems, type Json, Problems, setPath, successProblems };

export const NETC = 'rbcnet';
export const BRIDGE = 'rbcbr0';

export interface ChainedRig {
  node: string;
  dir: string;
  /** host-local's dataDir. */
  ipamDir: string;
  /** tuning's dataDir. */
  tuningDir: string;
  /** TSCNI_STATE_DIR of every chained invocation. */
  stateDir: string;
  /** The /24 the bridge network allocates from (10.37.<n>.0/24). */
  subnet: string;
  v6subnet?: string;
  /** Sysctls (paths under /proc/sys) of the container read by every snapshot. */
  sysctls: string[];
  /** Container netns of every live attachment, removed with the rig. */
  ctrs: Set<string>;
}

/** One container attached to the bridge: its netns and the bridge plugin's result. */
export interface Attachment {
  ctr: string;
  cid: string;
  ifName: string;
  prev: Json;
}

const live = new Set<ChainedRig>();

function newNetns(kind: string): string {
  const name = `rbc-${kind}-${randomBytes(4).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip netns add ${name}: ${r.stderr}`);
  return name;
}

export const nsPath = (name: string): string => `/run/netns/${name}`;

/** A node netns (lo up) and the directories; `n` picks the subnet 10.37.<n>.0/24 (fd37:0:<n>::/64 with v6). */
export function makeChainedRig(n: number, opts: { v6?: boolean; sysctls?: string[] } = {}): ChainedRig {
  const dir = mkdtempSync(path.join(tmpdir(), 'rbc-'));
  const rig: ChainedRig = {
    node: '',
    dir,
    ipamDir: path.join(dir, 'ipam'),
    tuningDir: path.join(dir, 'tuning'),
    stateDir: path.join(dir, 'state'),
    subnet: `10.37.${n}.0/24`,
    ...(opts.v6 ? { v6subnet: `fd37:0:${n}::/64` } : {}),
    sysctls: opts.sysctls ?? [],
    ctrs: new Set(),
  };
  live.add(rig);
  mkdirSync(rig.stateDir);
  rig.node = newNetns('n');
  spawnSync('ip', ['-n', rig.node, 'link', 'set', 'lo', 'up']);
  return rig;
}

export function removeChainedRig(rig: ChainedRig): void {
  for (const c of rig.ctrs) spawnSync('ip', ['netns', 'del', c]);
  if (rig.node) spawnSync('ip', ['netns', 'del', rig.node]);
  rmSync(rig.dir, { recursive: true, force: true });
  live.delete(rig);
}

/** For afterAll/afterEach: removes every rig of this file, also after a failed test. */
export function removeAllChainedRigs(): void {
  for (const rig of [...live]) removeChainedRig(rig);
}

/** Runs dist/bin/<plugin> inside the node netns with exactly `env` (undefined = unset) and `stdin`. */
export function runC(rig: ChainedRig, plugin: string, env: Record<string, string | undefined>, stdin: unknown): PluginRun {
  const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, TSCNI_STATE_DIR: rig.stateDir };
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined) clean[k] = v;
    else delete clean[k];
  }
  const input = typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
  return spawnPlugin(['ip', 'netns', 'exec', rig.node, path.join(DIST_BIN, plugin)], clean, input, 20_000);
}

/** The CNI env of attachment `a`; `over` replaces or (with undefined) removes variables. */
export function envC(a: Attachment, command: string, over: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: a.cid, CNI_NETNS: nsPath(a.ctr), CNI_IFNAME: a.ifName, CNI_PATH: DIST_BIN, ...over };
}

export function bridgeConf(rig: ChainedRig): Json {
  const ranges: Json[][] = [[{ subnet: rig.subnet }]];
  if (rig.v6subnet) ranges.push([{ subnet: rig.v6subnet }]);
  return {
    cniVersion: '1.0.0',
    name: NETC,
    type: 'bridge',
    bridge: BRIDGE,
    isGateway: true,
    ipam: { type: 'host-local', ranges, dataDir: rig.ipamDir },
  };
}

let serial = 0;

/** A fresh container netns wired to the bridge by our bridge plugin; throws when that fails. */
export function attach(rig: ChainedRig): Attachment {
  const ctr = newNetns('c');
  rig.ctrs.add(ctr);
  const a: Attachment = { ctr, cid: `rbcctr${++serial}`, ifName: 'eth0', prev: {} };
  const r = runC(rig, 'bridge', envC(a, 'ADD'), bridgeConf(rig));
  if (r.status !== 0) throw new Error(`bridge ADD: ${r.stdout} ${r.stderr}`);
  a.prev = r.json as Json;
  return a;
}

/** The main plugin's DEL (as a runtime runs it after the chain's), then the container netns goes. */
export function detach(rig: ChainedRig, a: Attachment, p: Problems, label: string): void {
  p.add(`${label}: bridge DEL`, successProblems(runC(rig, 'bridge', envC(a, 'DEL'), { ...bridgeConf(rig), prevResult: a.prev })));
  spawnSync('ip', ['netns', 'del', a.ctr]);
  rig.ctrs.delete(a.ctr);
}

// ---- the oracle ---------------------------------------------------------------------------------

function ipJ(netns: string, args: string[]): Json[] {
  const r = spawnSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0) return [{ unreadable: `${netns} ${args.join(' ')}` }];
  return r.stdout.trim() ? (JSON.parse(r.stdout) as Json[]) : [];
}

/** Each link with the attributes a chained plugin may change (MTU, MAC, flags, queue, master, kind). */
function linksOf(netns: string): string[] {
  return ipJ(netns, ['-d', 'link', 'show']).map((l) => {
    const flags = ((l['flags'] as string[] | undefined) ?? []).filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER').sort();
    const kind = (l['linkinfo'] as Json | undefined)?.['info_kind'] ?? '';
    return `${l['ifname']} mtu=${l['mtu']} mac=${l['address']} flags=${flags.join(',')} txq=${l['txqlen']} master=${l['master'] ?? ''} kind=${kind} promisc=${l['promiscuity'] ?? ''} allmulti=${l['allmulti'] ?? ''}`;
  }).sort();
}

function routingOf(netns: string): string[] {
  const rules = [...ipJ(netns, ['-4', 'rule']), ...ipJ(netns, ['-6', 'rule'])].map((r) => `rule ${JSON.stringify(r)}`);
  const routes = [...ipJ(netns, ['-4', 'route', 'show', 'table', 'all']), ...ipJ(netns, ['-6', 'route', 'show', 'table', 'all'])]
    .map((r) => `route ${JSON.stringify(r)}`);
  return [...rules, ...routes].sort();
}

function qdiscsOf(netns: string): string[] {
  const r = spawnSync('ip', ['netns', 'exec', netns, 'tc', '-j', 'qdisc', 'show'], { encoding: 'utf8' });
  if (r.status !== 0) return [`<tc unreadable in ${netns}>`];
  return (JSON.parse(r.stdout || '[]') as Json[]).map((q) => JSON.stringify(q)).sort();
}

function filesUnder(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, base));
    else if (!f.startsWith('lock')) out.push(path.relative(base, p));
  }
  return out.sort();
}

function sysctlsOf(netns: string, paths: string[]): string[] {
  if (paths.length === 0) return [];
  const r = spawnSync('ip', ['netns', 'exec', netns, 'cat', ...paths.map((p) => `/proc/sys/${p}`)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l !== '').map((v, i) => `${paths[i]}=${v}`);
}

export interface ChainedSnapshot {
  nodeLinks: string[];
  ctrLinks: string[];
  ctrRouting: string[];
  ctrSysctls: string[];
  qdiscs: string[];
  rules: string[];
  files: string[];
}

/** The node, and the container of `a` when given (its netns may be gone: then empty). */
export function snap(rig: ChainedRig, a?: Attachment): ChainedSnapshot {
  const ctr = a && existsSync(nsPath(a.ctr)) ? a.ctr : undefined;
  return {
    nodeLinks: linksOf(rig.node),
    ctrLinks: ctr ? linksOf(ctr) : [],
    ctrRouting: ctr ? routingOf(ctr) : [],
    ctrSysctls: ctr ? sysctlsOf(ctr, rig.sysctls) : [],
    qdiscs: qdiscsOf(rig.node),
    // Packet counters (iptables-nft rules show up in `nft -j` with them) move with any traffic.
    rules: rulesOf(rig.node).map((r) => r.replace(/\{"counter":\{[^}]*\}\}/g, '{"counter":{}}')),
    files: filesUnder(rig.dir),
  };
}

/** The differences between two snapshots, as readable lines; `ignore` drops keys not compared. */
export function diff(before: ChainedSnapshot, after: ChainedSnapshot, ignore: (keyof ChainedSnapshot)[] = []): string[] {
  const out: string[] = [];
  for (const key of Object.keys(before) as (keyof ChainedSnapshot)[]) {
    if (ignore.includes(key)) continue;
    const added = after[key].filter((x) => !before[key].includes(x));
    const removed = before[key].filter((x) => !after[key].includes(x));
    if (added.length) out.push(`${key} left/changed: ${added.join(' | ')}`);
    if (removed.length) out.push(`${key} removed/changed: ${removed.join(' | ')}`);
  }
  return out;
}

// ---- rows ---------------------------------------------------------------------------------------

/** One hostile invocation of the chained plugin against a live attachment. */
export interface ChainedRow {
  label: string;
  command?: string;
  env?: (a: Attachment) => Record<string, string | undefined>;
  /** stdin: the plugin's valid config (prevResult = the attachment's) transformed; a string is sent as is. */
  stdin?: (conf: Json, a: Attachment) => unknown;
  /**
   * A spec error code; 'any' = any spec code but 999 (where the plugin's choice is documented, not
   * fixed by the reference); 'about' = CNI_COMMAND unset (the about text on stderr, exit 0, stdout empty);
   * 'success' = exit 0 changing nothing (a DEL of what never existed); 'ok' = see ignoreAfterDel.
   */
  code: number | 'any' | 'about' | 'ok' | 'success';
  mentions?: readonly (string | RegExp)[];
  /** For 'ok' rows (odd input the plugin accepts): what its DEL leaves to the main plugin's DEL. */
  ignoreAfterDel?: (keyof ChainedSnapshot)[];
}

export interface ChainedPlugin {
  name: string;
  /** A valid config that does something (without prevResult). */
  conf: (rig: ChainedRig) => Json;
}

/** The plugin's config with the attachment's prevResult. */
export const confFor = (p: ChainedPlugin, rig: ChainedRig, a: Attachment): Json => ({ ...p.conf(rig), prevResult: a.prev });

/**
 * Runs every row against one attachment; the rig must look exactly as before after each row.
 * Returns the number of rows run.
 */
export function sweepRows(rig: ChainedRig, a: Attachment, p: ChainedPlugin, rows: readonly ChainedRow[], problems: Problems): number {
  const before = snap(rig, a);
  const nodeBefore = snap(rig);
  for (const row of rows) {
    const label = `${p.name}: ${row.label}`;
    if (row.code === 'ok') {
      // Odd input the plugin accepts (as the reference does): on a fresh attachment, the ADD works,
      // its DEL takes it back, and after the main plugin's DEL the node is as before.
      const b = attach(rig);
      try {
        const conf = confFor(p, rig, b);
        const stdin = row.stdin ? row.stdin(conf, b) : conf;
        const attached = snap(rig, b);
        problems.add(label, successProblems(runC(rig, p.name, envC(b, row.command ?? 'ADD', row.env ? row.env(b) : {}), stdin)));
        problems.add(`${label}: DEL`, successProblems(runC(rig, p.name, envC(b, 'DEL'), stdin)));
        problems.add(`${label}: after DEL`, diff(attached, snap(rig, b), row.ignoreAfterDel ?? []));
      } finally {
        detach(rig, b, problems, label);
      }
      problems.add(`${label}: after the main plugin's DEL`, diff(nodeBefore, snap(rig)));
      continue;
    }
    const conf = confFor(p, rig, a);
    const stdin = row.stdin ? row.stdin(conf, a) : conf;
    const e = envC(a, row.command ?? 'ADD', row.env ? row.env(a) : {});
    const t0 = Date.now();
    const r = runC(rig, p.name, e, stdin);
    if (process.env['RB_TIMING']) process.stderr.write(`${Date.now() - t0}ms ${label}\n`);
    if (row.code === 'success') {
      problems.add(label, successProblems(r));
    } else if (row.code === 'about') {
      if (r.status !== 0 || r.stdout !== '' || !r.stderr.includes(`CNI ${p.name} plugin`)) {
        problems.add(label, [`want the about text on stderr, exit 0, empty stdout; got ${r.status} ${JSON.stringify(r.stdout)} ${JSON.stringify(r.stderr.slice(0, 200))}`]);
      }
    } else {
      problems.add(label, cniErrorProblems(r, row.code, row.mentions ?? []));
    }
    problems.add(label, diff(before, snap(rig, a)));
  }
  return rows.length;
}

// ---- rows every chained plugin gets -------------------------------------------------------------

const bad = (label: string, code: number, mentions: readonly (string | RegExp)[], rest: Partial<ChainedRow> = {}): ChainedRow => ({ label, code, mentions, ...rest });

/** Missing CNI_* variables per command, bad container IDs and ifnames, versions. */
export function skelRows(opts: { minVersion?: string; usesNetns?: boolean } = {}): ChainedRow[] {
  const rows: ChainedRow[] = [];
  const required: Record<string, string[]> = {
    ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
    CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  };
  for (const [command, vars] of Object.entries(required)) {
    rows.push({ label: `${command} without CNI_COMMAND`, command, env: () => ({ CNI_COMMAND: undefined }), code: 'about' });
    for (const v of vars) rows.push(bad(`${command} without ${v}`, 4, [v], { command, env: () => ({ [v]: undefined }) }));
    rows.push(bad(`${command} with container ID ../x`, 4, ['containerID', '../x'], { command, env: () => ({ CNI_CONTAINERID: '../x' }) }));
    rows.push(bad(`${command} with container ID /`, 4, ['containerID', '/'], { command, env: () => ({ CNI_CONTAINERID: '/' }) }));
    rows.push(bad(`${command} with ifname ../x`, 4, ['CNI_IFNAME', '../x'], { command, env: () => ({ CNI_IFNAME: '../x' }) }));
    rows.push(bad(`${command} with ifname /`, 4, ['CNI_IFNAME', '"/"'], { command, env: () => ({ CNI_IFNAME: '/' }) }));
    rows.push(bad(`${command} with ifname too long`, 4, ['CNI_IFNAME', 'eth0123456789abc'], { command, env: () => ({ CNI_IFNAME: 'eth0123456789abc' }) }));
    rows.push(bad(`${command} with cniVersion 9.9.9`, 1, ['CNI version', '9.9.9'], { command, stdin: (c) => setPath(c, 'cniVersion', '9.9.9') }));
    rows.push(bad(`${command} with cniVersion not a string`, 6, ['cniVersion', 'number'], { command, stdin: (c) => setPath(c, 'cniVersion', 1) }));
  }
  if (opts.usesNetns) {
    // Plugins that work inside the container: a CNI_NETNS that is no netns is code 8 naming the path.
    for (const command of ['ADD', 'CHECK']) {
      rows.push(bad(`${command} with a netns path that is a file`, 8, ['/etc/hostname'], { command, env: () => ({ CNI_NETNS: '/etc/hostname' }) }));
      rows.push(bad(`${command} with a missing netns path`, 8, ['/run/netns/rbc-gone'], { command, env: () => ({ CNI_NETNS: '/run/netns/rbc-gone' }) }));
    }
  }
  rows.push(bad('GC without CNI_PATH', 4, ['CNI_PATH'], { command: 'GC', env: () => ({ CNI_PATH: undefined }), stdin: (c) => ({ ...c, cniVersion: '1.1.0', prevResult: undefined }) }));
  rows.push(bad('unknown CNI_COMMAND', 4, ['CNI_COMMAND', 'ADDD'], { command: 'ADDD' }));
  rows.push(bad('CHECK at 0.3.1', 1, ['CHECK'], { command: 'CHECK', stdin: (c) => ({ ...c, cniVersion: '0.3.1', prevResult: undefined }) }));
  rows.push(bad('GC at 1.0.0', 1, ['GC'], { command: 'GC', stdin: (c) => ({ ...c, prevResult: undefined }) }));
  rows.push(bad('STATUS at 1.0.0', 1, ['STATUS'], { command: 'STATUS', stdin: (c) => ({ ...c, prevResult: undefined }) }));
  rows.push(bad('STATUS at 0.4.0', 1, ['STATUS'], { command: 'STATUS', stdin: (c) => ({ ...c, cniVersion: '0.4.0', prevResult: undefined }) }));
  // An empty cniVersion is 0.1.0 (libcni): below the plugin's first version (code 1), or a 1.0.0
  // prevResult the 0.1.0 result types cannot read (code 6).
  rows.push(opts.minVersion
    ? bad('ADD with cniVersion ""', 1, ['CNI version', '0.1.0'], { stdin: (c) => setPath(c, 'cniVersion', '') })
    : bad('ADD with cniVersion ""', 6, ['prevResult', '1.0.0'], { stdin: (c) => setPath(c, 'cniVersion', '') }));
  rows.push(bad('ADD with cniVersion "1.0"', 1, ['CNI version', '"1.0"'], { stdin: (c) => setPath(c, 'cniVersion', '1.0') }));
  if (opts.minVersion) {
    // Versions below the plugin's first: code 1 for every command, naming the version.
    const below = { '0.3.0': '0.2.0', '0.3.1': '0.3.0', '0.4.0': '0.3.1' }[opts.minVersion] ?? '0.1.0';
    for (const command of ['ADD', 'DEL']) {
      rows.push(bad(`${command} at ${below} (below ${opts.minVersion})`, 1, ['CNI version', below], { command, stdin: (c) => ({ ...c, cniVersion: below, prevResult: undefined }) }));
    }
  }
  return rows;
}

/** A JSON text nested `depth` levels deep (arrays), as hostile stdin or inside a key. */
export const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const prev04 = (a: Attachment): Json => ({ cniVersion: '0.4.0', interfaces: a.prev['interfaces'], ips: [] });

/** stdin that is no config, nesting, and prevResult abuse (ADD and CHECK). */
export function stdinRows(opts: { prevRequired: boolean; prevMentions: readonly (string | RegExp)[]; checkWithoutPrevOk?: boolean }): ChainedRow[] {
  const rows: ChainedRow[] = [
    bad('non-JSON stdin', 6, ['network config'], { stdin: () => 'this is not json' }),
    bad('DEL with non-JSON stdin', 6, ['network config'], { command: 'DEL', stdin: () => '{"cniVersion": ' }),
    bad('empty stdin', 6, ['network config'], { stdin: () => '' }),
    bad('JSON array', 6, ['network config', 'array'], { stdin: () => '[1,2]' }),
    bad('JSON nested 100000 deep', 6, ['network config'], { stdin: () => deep(100_000) }),
    bad('a key nested 100000 deep', 6, [], { stdin: (c) => JSON.stringify(c).replace(/^\{/, `{"rbcDeep":${deep(100_000)},`) }),
    bad('prevResult nested 9000 deep', 6, ['prevResult'], { stdin: (c) => JSON.stringify({ ...c, prevResult: 'X' }).replace('"X"', `{"cniVersion":"1.0.0","interfaces":${deep(9000)}}`) }),
    bad('name ../x', 7, ['network name', '../x'], { stdin: (c) => setPath(c, 'name', '../x') }),
    bad('DEL with name a/b', 7, ['network name', 'a/b'], { command: 'DEL', stdin: (c) => setPath(c, 'name', 'a/b') }),
    bad('prevResult of the 0.4.0 family', 6, ['prevResult', '"0.4.0"'], { stdin: (c, a) => ({ ...c, prevResult: prev04(a) }) }),
    bad('CHECK with prevResult of the 0.4.0 family', 6, ['prevResult', '"0.4.0"'], { command: 'CHECK', stdin: (c, a) => ({ ...c, prevResult: prev04(a) }) }),
    bad('prevResult not an object', 6, ['prevResult', 'string'], { stdin: (c) => ({ ...c, prevResult: 'x' }) }),
    bad('prevResult.interfaces a string', 6, ['prevResult', 'interfaces'], { stdin: (c) => setPath(c, 'prevResult.interfaces', 'eth0') }),
    bad('prevResult.interfaces[0] a number', 6, ['prevResult', 'interfaces'], { stdin: (c) => setPath(c, 'prevResult.interfaces', [5]) }),
    bad('prevResult.ips an object', 6, ['prevResult', 'ips'], { stdin: (c) => setPath(c, 'prevResult.ips', {}) }),
    bad('prevResult address not a CIDR', 6, ['prevResult', 'nope'], { stdin: (c) => setPath(c, 'prevResult.ips', [{ address: 'nope', interface: 2 }]) }),
    bad('prevResult address without a prefix', 6, ['prevResult', '10.37.0.9'], { stdin: (c) => setPath(c, 'prevResult.ips', [{ address: '10.37.0.9', interface: 2 }]) }),
    bad('prevResult interface index a string', 6, ['prevResult', 'interface'], { stdin: (c, a) => setPath(c, 'prevResult.ips', [{ ...(a.prev['ips'] as Json[])[0], interface: '2' }]) }),
    bad('prevResult interface index 1.5', 6, ['prevResult', 'interface'], { stdin: (c, a) => setPath(c, 'prevResult.ips', [{ ...(a.prev['ips'] as Json[])[0], interface: 1.5 }]) }),
    bad('prevResult gateway not an IP', 6, ['prevResult', 'gw!'], { stdin: (c, a) => setPath(c, 'prevResult.ips', [{ ...(a.prev['ips'] as Json[])[0], gateway: 'gw!' }]) }),
    bad('prevResult.routes[0].dst not a CIDR', 6, ['prevResult', 'x/y'], { stdin: (c) => setPath(c, 'prevResult.routes', [{ dst: 'x/y' }]) }),
  ];
  // An interface index out of range (or negative) is not a decoding error in the reference's
  // types; the plugins treat the address as naming no interface. Each file adds these rows with the
  // outcome its plugin documents (see outOfRangeRows).
  if (opts.prevRequired) {
    rows.push(bad('ADD without prevResult', 7, opts.prevMentions, { stdin: (c) => ({ ...c, prevResult: undefined }) }));
  }
  // sbr: the reference's CHECK does nothing, so it needs no prevResult (its README).
  if (!opts.checkWithoutPrevOk) rows.push(bad('CHECK without prevResult', 7, opts.prevMentions, { command: 'CHECK', stdin: (c) => ({ ...c, prevResult: undefined }) }));
  return rows;
}

/** `key` set to `value` must be code 7 naming the key and the value. */
export const typeRow = (key: string, value: unknown, shown: string, command = 'ADD'): ChainedRow => ({
  label: `${command} ${key}: ${JSON.stringify(value)}`,
  command,
  stdin: (c) => setPath(c, key, value),
  code: 7,
  mentions: [key, shown],
});

// ---- lifecycle ----------------------------------------------------------------------------------

export interface LifecycleSpec {
  /** ADD of the valid config: 'ok', or the code it must fail with on this kernel (vrf without VRF support). */
  add: 'ok' | number | 'any';
  /** The mention an expected ADD failure must carry. */
  addMentions?: readonly (string | RegExp)[];
  /** A config (prevResult included) whose ADD fails, with its code and mentions. */
  failingAdd: { stdin: (conf: Json, a: Attachment) => Json; code: number | 'any'; mentions: readonly (string | RegExp)[] };
  /** A second ADD of the same (cid, ifname): 'ok' or the code it fails with. */
  addTwice: 'ok' | number | 'any';
  /** What a CHECK after DEL must fail with (101 unless the plugin documents another). */
  checkAfterDel: number | 'ok';
  /**
   * Snapshot parts the chained DEL leaves, on purpose, to the main plugin's DEL (bandwidth: the
   * qdiscs on the host veth, deleted with the veth). They are compared after the main plugin's DEL.
   */
  leftToMainDel?: (keyof ChainedSnapshot)[];
  /** The plugin implements GC (cniVersion 1.1.0, cni.dev/valid-attachments). */
  gc?: boolean;
}

/**
 * The lifecycle rows, each on a fresh attachment (bridge ADD before, bridge DEL after; the node
 * must then look as it did before the attachment): ADD + CHECK + ADD twice + DEL + DEL again +
 * CHECK after DEL; DEL of a never-added attachment (no netns, missing netns path, no prevResult);
 * DEL after a failed ADD; DEL without prevResult; DEL without CNI_NETNS; DEL after the netns was
 * removed (with and without prevResult).
 */
export function lifecycle(rig: ChainedRig, p: ChainedPlugin, spec: LifecycleSpec, problems: Problems): void {
  const base = snap(rig);
  const ok = (label: string, r: PluginRun): void => problems.add(`${p.name}: ${label}`, successProblems(r));
  const run = (a: Attachment, command: string, stdin: unknown, over: Record<string, string | undefined> = {}): PluginRun =>
    runC(rig, p.name, envC(a, command, over), stdin);
  /** ADD of the valid config as this kernel allows; the result when it succeeded. */
  const add = (a: Attachment, label: string): Json | undefined => {
    const r = run(a, 'ADD', confFor(p, rig, a));
    if (spec.add === 'ok') {
      ok(`${label}: ADD`, r);
      return r.status === 0 ? (r.json as Json) : undefined;
    }
    problems.add(`${p.name}: ${label}: ADD`, cniErrorProblems(r, spec.add, spec.addMentions ?? []));
    return undefined;
  };
  /** One scenario on a fresh attachment; the node must be as before once the main plugin's DEL ran. */
  const scenario = (label: string, fn: (a: Attachment, attached: ChainedSnapshot) => void): void => {
    const a = attach(rig);
    try {
      fn(a, snap(rig, a));
    } finally {
      detach(rig, a, problems, `${p.name}: ${label}`);
    }
    problems.add(`${p.name}: ${label}: after the main plugin's DEL`, diff(base, snap(rig)));
  };
  const same = (label: string, before: ChainedSnapshot, a: Attachment, ignore: (keyof ChainedSnapshot)[] = []): void =>
    problems.add(`${p.name}: ${label}`, diff(before, snap(rig, a), ignore));
  const afterDel = spec.leftToMainDel ?? [];

  scenario('ADD, CHECK, ADD twice, DEL, DEL again, CHECK after DEL', (a, attached) => {
    const res = add(a, 'first');
    const conf = { ...p.conf(rig), prevResult: res ?? a.prev };
    if (res) {
      ok('CHECK after ADD', run(a, 'CHECK', conf));
      const after1 = snap(rig, a);
      // The oracle must see what the ADD did, or "nothing changed" below would prove nothing.
      if (diff(attached, after1).length === 0) problems.add(`${p.name}: ADD`, ['changed nothing the oracle sees']);
      const twice = run(a, 'ADD', confFor(p, rig, a));
      if (spec.addTwice === 'ok') ok('second ADD', twice);
      else problems.add(`${p.name}: second ADD`, cniErrorProblems(twice, spec.addTwice, []));
      if (spec.addTwice !== 'ok') same('second ADD changed nothing', after1, a);
      ok('CHECK after the second ADD', run(a, 'CHECK', conf));
    }
    ok('DEL', run(a, 'DEL', conf));
    same('after DEL', attached, a, afterDel);
    ok('DEL again', run(a, 'DEL', conf));
    same('after DEL again', attached, a, afterDel);
    if (res) {
      const check = run(a, 'CHECK', conf);
      if (spec.checkAfterDel === 'ok') ok('CHECK after DEL', check);
      else problems.add(`${p.name}: CHECK after DEL`, cniErrorProblems(check, spec.checkAfterDel, []));
    }
  });

  if (spec.gc && spec.add === 'ok') {
    scenario('GC keeps a valid attachment and removes a stale one', (a, attached) => {
      const res = add(a, 'gc');
      const added = snap(rig, a);
      const gc = (valid: Json[]): PluginRun =>
        runC(rig, p.name, { CNI_COMMAND: 'GC', CNI_PATH: envC(a, 'GC')['CNI_PATH'] }, { ...p.conf(rig), cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid });
      ok('GC listing the attachment', gc([{ containerID: a.cid, ifname: a.ifName }]));
      same('GC listing the attachment changed nothing', added, a);
      ok('GC of another network', runC(rig, p.name, { CNI_COMMAND: 'GC', CNI_PATH: envC(a, 'GC')['CNI_PATH'] }, { ...p.conf(rig), name: 'rbcother', cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }));
      same('GC of another network changed nothing', added, a);
      ok('GC without the attachment', gc([{ containerID: 'rbcsomeoneelse', ifname: 'eth0' }]));
      same('GC without the attachment removed it', attached, a, afterDel);
      ok('DEL after GC', run(a, 'DEL', { ...p.conf(rig), prevResult: res ?? a.prev }));
      same('DEL after GC', attached, a, afterDel);
    });
  }

  scenario('DEL of a never-added attachment', (a, attached) => {
    const conf = confFor(p, rig, a);
    ok('DEL never added, no CNI_NETNS', run(a, 'DEL', conf, { CNI_NETNS: undefined }));
    ok('DEL never added, netns path missing', run(a, 'DEL', conf, { CNI_NETNS: '/run/netns/rbc-gone' }));
    ok('DEL never added, no prevResult', run(a, 'DEL', { ...conf, prevResult: undefined }));
    ok('DEL never added', run(a, 'DEL', conf));
    same('DEL of a never-added attachment changed nothing', attached, a);
  });

  scenario('DEL after a failed ADD', (a, attached) => {
    const conf = spec.failingAdd.stdin(confFor(p, rig, a), a);
    problems.add(`${p.name}: failed ADD`, cniErrorProblems(run(a, 'ADD', conf), spec.failingAdd.code, spec.failingAdd.mentions));
    same('a failed ADD changed nothing', attached, a);
    ok('DEL after a failed ADD', run(a, 'DEL', conf));
    same('DEL after a failed ADD changed nothing', attached, a);
  });

  scenario('DEL without prevResult', (a, attached) => {
    add(a, 'no prevResult');
    ok('DEL without prevResult', run(a, 'DEL', { ...p.conf(rig) }));
    same('after DEL without prevResult', attached, a, afterDel);
  });

  scenario('DEL without CNI_NETNS', (a) => {
    const res = add(a, 'no netns');
    ok('DEL without CNI_NETNS', run(a, 'DEL', { ...p.conf(rig), prevResult: res ?? a.prev }, { CNI_NETNS: undefined }));
    // What lives in the container goes with it; the node must be clean once the main plugin's DEL ran.
  });

  scenario('DEL after the netns was removed', (a) => {
    const res = add(a, 'netns removed');
    spawnSync('ip', ['netns', 'del', a.ctr]);
    ok('DEL with the netns removed, with prevResult', run(a, 'DEL', { ...p.conf(rig), prevResult: res ?? a.prev }));
    ok('DEL with the netns removed, without prevResult', run(a, 'DEL', p.conf(rig)));
  });
}

/** With RB_DUMP=<dir>: the problem lines of `name` also go to <dir>/<name>.problems (readable, uncoloured). */
export function dumpProblems(problems: Problems, name: string): void {
  const dir = process.env['RB_DUMP'];
  if (dir) writeFileSync(path.join(dir, `${name}.problems`), `${problems.lines.join('\n')}\n`);
}

/**
 * prevResult addresses whose interface index is out of range or negative: `outcome` is 'ok' (the
 * plugin accepts it, as the reference: the ADD works and DEL takes it back) or an error code.
 */
export function outOfRangeRows(outcome: 'ok' | number, ignoreAfterDel: (keyof ChainedSnapshot)[] = [], mentions: readonly (string | RegExp)[] = []): ChainedRow[] {
  return [99, -1].map((index) => ({
    label: `ADD with a prevResult interface index ${index}`,
    stdin: (c: Json, a: Attachment) => setPath(c, 'prevResult.ips', (a.prev['ips'] as Json[]).map((ip) => ({ ...ip, interface: index }))),
    code: outcome,
    mentions,
    ignoreAfterDel,
  }));
}

/** A network name of 300 characters (valid for the skel and the reference; too long for a directory). */
export const LONG_NAME = `rbc${'n'.repeat(297)}`;

/**
 * The long network name: 'ok' (ADD and DEL work, nothing left) for plugins that keep no per-network
 * directory; a code for those whose state records cannot be written then (ADD fails before any
 * change; DEL of it still succeeds).
 */
export function longNameRows(outcome: 'ok' | number, ignoreAfterDel: (keyof ChainedSnapshot)[] = [], mentions: readonly (string | RegExp)[] = []): ChainedRow[] {
  const rows: ChainedRow[] = [{ label: 'ADD with a 300-character network name', stdin: (c) => setPath(c, 'name', LONG_NAME), code: outcome, mentions, ignoreAfterDel }];
  if (outcome !== 'ok') rows.push({ label: 'DEL with a 300-character network name', command: 'DEL', stdin: (c) => setPath(c, 'name', LONG_NAME), code: 'success' });
  return rows;
}

/** The attachment's prevResult with one more address (on the container interface): for dual-stack rows. */
export const withExtraAddress = (c: Json, a: Attachment, address: string, gateway?: string): Json =>
  setPath(c, 'prevResult.ips', [...(a.prev['ips'] as Json[]), { address, interface: 2, ...(gateway ? { gateway } : {}) }]);

/** A row that sends the plugin's valid config transformed by `stdin` and expects `code` naming `mentions`. */
export const stdinRow = (
  label: string,
  code: number | 'any',
  mentions: (string | RegExp)[],
  stdin: ChainedRow['stdin'],
  command = 'ADD',
): ChainedRow => ({ label: `${command} ${label}`, command, code, mentions, stdin });

/**
 * An ADD and DEL first (IPv4 and IPv6), so the chains and tables a firewall plugin keeps on purpose
 * (shared by every container) are in the baseline the rows are compared with.
 */
export function warmUpDualStack(rig: ChainedRig, a: Attachment, p: ChainedPlugin, problems: Problems): void {
  const conf = withExtraAddress(confFor(p, rig, a), a, 'fd37:ff::5/64');
  problems.add(`${p.name}: warm-up ADD`, successProblems(runC(rig, p.name, envC(a, 'ADD'), conf)));
  problems.add(`${p.name}: warm-up DEL`, successProblems(runC(rig, p.name, envC(a, 'DEL'), conf)));
}

/**
 * The sweep of a plugin with an iptables and an nftables backend (portmap, firewall): every row on
 * iptables, the rows that reach backend code on nftables, then the lifecycle on each backend. A
 * config ADD refuses is refused by DEL too (as the reference), so the failed ADD is one without
 * prevResult. Returns the number of rows run.
 */
export function sweepBothBackends(
  rigIndex: number,
  plugin: (backend: string) => ChainedPlugin,
  rows: readonly ChainedRow[],
  nftRows: readonly ChainedRow[],
): number {
  const problems = new Problems();
  const rig = makeChainedRig(rigIndex);
  const a = attach(rig);
  let n = 0;
  for (const backend of ['iptables', 'nftables']) {
    const p = plugin(backend);
    warmUpDualStack(rig, a, p, problems);
    n += sweepRows(rig, a, p, backend === 'iptables' ? rows : nftRows, problems);
  }
  const name = plugin('iptables').name;
  detach(rig, a, problems, `${name} sweep`);
  for (const backend of ['iptables', 'nftables']) {
    lifecycle(rig, plugin(backend), {
      add: 'ok',
      failingAdd: { stdin: (c) => ({ ...c, prevResult: undefined }), code: 7, mentions: ['prevResult'] },
      addTwice: 'ok',
      checkAfterDel: 101,
      gc: true,
    }, problems);
  }
  dumpProblems(problems, name);
  problems.check();
  return n;
}
