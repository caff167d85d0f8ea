// Shared by the soak, crash and fuzz scripts (issue 12): a throwaway node netns, plugins run as a
// runtime runs them (the built binaries, CNI_* env, config on stdin, inside the node netns), and
// snapshots of everything a plugin can leave behind, read with independent tools (ip, iptables-save,
// nft, the files on disk), never with tscni's own code.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST_BIN = process.env.TSCNI_BIN_DIR ?? path.join(ROOT, 'dist/bin');

/** Command-line flags: `--name value` and bare `--flag`. */
export function flags(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else {
      out[key] = typeof defaults[key] === 'number' ? Number(next) : next;
      i++;
    }
  }
  return out;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same run. */
export function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (xs) => xs[Math.floor(next() * xs.length)];
  return next;
}

export function requireRootAndBuild() {
  if (process.getuid?.() !== 0) throw new Error('run as root: the runs create network namespaces');
  if (!fs.existsSync(path.join(DIST_BIN, 'bridge'))) throw new Error(`${DIST_BIN} is empty: run \`npm run build\` first`);
}

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
  return r;
}

/** Async spawn of a short helper (ip netns add/del in parallel workers). */
export function shAsync(cmd, args) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${err}`))));
  });
}

export const nsPath = (name) => `/run/netns/${name}`;
export const uniqueName = (prefix) => `${prefix}-${randomBytes(3).toString('hex')}`;

export function addNetns(name) {
  sh('ip', ['netns', 'add', name]);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function delNetns(name) {
  if (fs.existsSync(nsPath(name))) sh('ip', ['netns', 'del', name], { allowFail: true });
}

export const tempDir = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** The environment of one plugin call: exactly the CNI_* variables given, plus PATH. */
export function cniEnv(vars) {
  const env = { PATH: process.env.PATH };
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  return env;
}

/**
 * Starts dist/bin/<plugin> inside `node` (ip netns exec replaces itself with the plugin, so the
 * child's pid is the plugin's). Resolves with {status, signal, stdout, stderr, ms, pid}.
 * `onSpawn(child)` sees the child right after the spawn (the crash runs kill it); `detached` gives
 * it its own process group, so helpers it leaves running after a kill can be found; `cwd` is where
 * relative paths in a config (a dataDir of "x/y") land.
 */
export function runPlugin(node, plugin, env, stdin, { timeoutMs = 30_000, onSpawn, file, detached = false, cwd } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const bin = file ?? path.join(DIST_BIN, plugin);
    const child = spawn('ip', ['netns', 'exec', node, bin], { env, stdio: ['pipe', 'pipe', 'pipe'], detached, cwd });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // a plugin that exits without reading stdin
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: performance.now() - t0, pid: child.pid, timedOut });
    });
    child.stdin.end(typeof stdin === 'string' || Buffer.isBuffer(stdin) ? stdin : JSON.stringify(stdin));
    onSpawn?.(child);
  });
}

export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- what a plugin can leave behind ----------------------------------------------------------

export function linksOf(netns) {
  const r = sh('ip', ['-n', netns, '-j', 'link', 'show'], { allowFail: true });
  if (r.status !== 0) return [`<netns ${netns} unreadable>`];
  return JSON.parse(r.stdout).map((l) => `${l.ifname}${l.linkinfo?.info_kind ? `(${l.linkinfo.info_kind})` : ''}`).sort();
}

export function addressesOf(netns) {
  const r = sh('ip', ['-n', netns, '-j', 'addr', 'show'], { allowFail: true });
  if (r.status !== 0) return [];
  const out = [];
  for (const l of JSON.parse(r.stdout)) for (const a of l.addr_info ?? []) if (a.scope !== 'link' && a.scope !== 'host') out.push(`${l.ifname} ${a.local}/${a.prefixlen}`);
  return out.sort();
}

export function routesOf(netns) {
  const out = [];
  for (const fam of ['-4', '-6']) {
    const r = sh('ip', [fam, '-n', netns, '-j', 'route', 'show', 'table', 'all'], { allowFail: true });
    if (r.status !== 0) continue;
    for (const x of JSON.parse(r.stdout)) {
      if (x.table === 'local' || x.dst?.startsWith('fe80') || x.dst === 'multicast' || x.type === 'multicast') continue;
      out.push(`${x.table ?? 'main'} ${x.dst} ${x.gateway ?? ''} ${x.dev ?? ''}`.trim());
    }
  }
  return out.sort();
}

export function ipRulesOf(netns) {
  const out = [];
  for (const fam of ['-4', '-6']) {
    const r = sh('ip', [fam, '-n', netns, '-j', 'rule', 'show'], { allowFail: true });
    if (r.status === 0) for (const x of JSON.parse(r.stdout)) out.push(`${fam} ${x.priority} ${x.src ?? ''} ${x.table}`);
  }
  return out.sort();
}

function inNode(node, cmd, args) {
  const r = sh('ip', ['netns', 'exec', node, cmd, ...args], { allowFail: true });
  return r.status === 0 ? r.stdout : '';
}

/** iptables/ip6tables rules and chains (both iptables backends' view), and nft tables, chains, rules, sets. */
export function firewallOf(node) {
  const out = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    let table = '';
    for (const line of inNode(node, tool, []).split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      if (line.startsWith('-A ')) out.push(`${tool} ${table}: ${line}`);
      else if (line.startsWith(':')) out.push(`${tool} ${table}: chain ${line.split(' ')[0].slice(1)}`);
    }
  }
  const nft = inNode(node, 'nft', ['-j', 'list', 'ruleset']);
  if (nft.trim()) {
    for (const o of JSON.parse(nft).nftables) {
      const [kind, v] = Object.entries(o)[0];
      if (kind === 'metainfo') continue;
      // iptables-nft's own tables are already listed by iptables-save.
      if (kind === 'rule') out.push(`nft rule ${v.family} ${v.table} ${v.chain} ${JSON.stringify(v.expr.filter((x) => !('counter' in x)))} ${v.comment ?? ''}`);
      else if (kind === 'chain' || kind === 'table' || kind === 'set' || kind === 'map') {
        out.push(`nft ${kind} ${v.family} ${v.table ?? ''} ${v.name}${v.elem ? ` ${JSON.stringify(v.elem)}` : ''}`);
      }
    }
  }
  return [...new Set(out)].sort();
}

/** Every file under `dir` (relative path, size), so leftover leases, records and temp files show. */
export function filesUnder(dir) {
  const out = [];
  const walk = (d, rel) => {
    let ents;
    try {
      ents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Owner-index entries of host-local (<dataDir>/.tscni-host-local/<net>/owners/*): "key -> leases". */
export function indexEntries(dataDir, net) {
  const dir = path.join(dataDir, '.tscni-host-local', net, 'owners');
  const out = [];
  for (const f of filesUnder(dir)) {
    let content;
    try {
      content = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    } catch (e) {
      out.push(`${f}: unreadable (${e.message})`);
      continue;
    }
    for (const [k, v] of Object.entries(content)) if (!Array.isArray(v) || v.length > 0) out.push(`${k} -> ${JSON.stringify(v)}`);
  }
  return out.sort();
}

/** Lines of `after` not in `before`, and the reverse, labelled. */
export function diffLines(label, before, after) {
  const added = after.filter((x) => !before.includes(x));
  const removed = before.filter((x) => !after.includes(x));
  const out = [];
  if (added.length) out.push(`${label} left: ${added.join(' | ')}`);
  if (removed.length) out.push(`${label} removed: ${removed.join(' | ')}`);
  return out;
}

/** Qdiscs other than the kernel's defaults (bandwidth's tbf, ingress, htb on veths and ifbs). */
export function qdiscsOf(ns) {
  const r = sh('ip', ['netns', 'exec', ns, 'tc', '-j', 'qdisc', 'show'], { allowFail: true });
  if (r.status !== 0) return [];
  return JSON.parse(r.stdout).filter((q) => !['noqueue', 'noop', 'pfifo_fast', 'fq_codel', 'mq'].includes(q.kind)).map((q) => `${q.dev} ${q.kind} ${q.handle}`).sort();
}

/** Snapshot of a node netns (+ optional container netns) and state directories. */
export function snapshot({ node, ctr, dirs = [] }) {
  const s = { nodeLinks: linksOf(node), nodeAddrs: addressesOf(node), nodeRoutes: routesOf(node), qdiscs: qdiscsOf(node), firewall: firewallOf(node) };
  if (ctr) {
    s.ctrLinks = fs.existsSync(nsPath(ctr)) ? linksOf(ctr) : [];
    s.ctrAddrs = fs.existsSync(nsPath(ctr)) ? addressesOf(ctr) : [];
    s.ctrRoutes = fs.existsSync(nsPath(ctr)) ? routesOf(ctr) : [];
    s.ctrRules = fs.existsSync(nsPath(ctr)) ? ipRulesOf(ctr) : [];
  }
  s.files = dirs.flatMap((d) => filesUnder(d).map((f) => `${path.basename(d)}/${f}`));
  return s;
}

export function diffSnapshots(before, after, ignore = []) {
  const out = [];
  for (const k of Object.keys(after)) if (!ignore.includes(k)) out.push(...diffLines(k, before[k] ?? [], after[k]));
  return out;
}

/** Pids of processes whose process group is `pgid` (orphans of a killed plugin: iptables-restore ...). */
export function processGroup(pgid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
