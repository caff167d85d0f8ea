// Throwaway network namespaces for the firewall integration tests: everything (our library, the Go
// reference plugins, iptables-save / nft as oracles) runs inside a netns named tscni-fw-*, so the
// host's firewall is never touched. Callers delete every netns they create, also on failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const NODE = join(repo, 'node_modules/.bin/node');
const DRIVER = join(here, 'driver.ts');
const RESOLVER = join(here, 'ts-resolve.mjs');
export const GO_PLUGINS = '/usr/lib/cni';

/** Why these tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of ['ip', 'nft', 'iptables-save', 'ip6tables-save', 'iptables-restore']) {
    if (spawnSync('which', [tool]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

export const hasGoPlugins = (): boolean => existsSync(join(GO_PLUGINS, 'ptp')) && existsSync(join(GO_PLUGINS, 'bridge'));

export class Netns {
  readonly name: string;
  constructor() {
    this.name = `tscni-fw-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', this.name]);
  }
  get path(): string {
    return `/var/run/netns/${this.name}`;
  }
  /** Run a command inside the netns; returns stdout, throws on a non-zero exit. */
  exec(argv: readonly string[], input?: string, env?: NodeJS.ProcessEnv): string {
    const r = spawnSync('ip', ['netns', 'exec', this.name, ...argv], {
      input,
      env: env ? { ...process.env, ...env } : process.env,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stdout} ${r.stderr}`);
    return r.stdout;
  }
  delete(): void {
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

export type DriverOutcome = { ok: true; value: unknown } | { ok: false; error: { code?: number; msg: string; details?: string } };

/** One library call (see driver.ts) inside `ns`. */
export function callLibrary(ns: Netns, call: Record<string, unknown>): DriverOutcome {
  const r = spawnSync('ip', ['netns', 'exec', ns.name, NODE, '--import', RESOLVER, DRIVER, JSON.stringify(call)], {
    encoding: 'utf8',
  });
  if (r.stdout === '') throw new Error(`driver crashed: ${r.stderr}`);
  return JSON.parse(r.stdout) as DriverOutcome;
}

/** Like callLibrary, but the call must succeed. */
export function mustCall(ns: Netns, call: Record<string, unknown>): unknown {
  const outcome = callLibrary(ns, call);
  if (!outcome.ok) throw new Error(`${String(call.op)} failed: ${JSON.stringify(outcome.error)}`);
  return outcome.value;
}

/** The "-A ..." lines of the nat table of one family. */
export function natRules(ns: Netns, family: 4 | 6): string[] {
  const out = ns.exec([family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'nat']);
  return out.split('\n').filter((l) => l.startsWith('-A '));
}

/** The user-defined chains of the nat table of one family. */
export function natChains(ns: Netns, family: 4 | 6): string[] {
  const out = ns.exec([family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'nat']);
  const builtin = new Set(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
  return out
    .split('\n')
    .filter((l) => l.startsWith(':'))
    .map((l) => l.slice(1).split(' ')[0]!)
    .filter((c) => !builtin.has(c));
}

export interface NftRule {
  chain: string;
  comment?: string;
  expr: unknown[];
}
export interface NftChain {
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

/** Chains and rules of one nft table, or undefined when the table does not exist. */
export function nftTable(ns: Netns, family: string, table: string): { chains: NftChain[]; rules: NftRule[] } | undefined {
  const r = spawnSync('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'table', family, table], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables;
  return {
    chains: items.filter((i) => i.chain).map((i) => i.chain as NftChain),
    rules: items.filter((i) => i.rule).map((i) => i.rule as NftRule),
  };
}

/** A CNI invocation of a Go reference plugin inside `node`, with the container in `container`. */
export function runGoPlugin(
  node: Netns,
  plugin: string,
  command: 'ADD' | 'DEL',
  conf: object,
  container: Netns,
  containerID: string,
  ifName = 'eth0',
): string {
  return node.exec([join(GO_PLUGINS, plugin)], JSON.stringify(conf), {
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerID,
    CNI_NETNS: container.path,
    CNI_IFNAME: ifName,
    CNI_PATH: GO_PLUGINS,
  });
}

/** A temp directory (host-local's dataDir) and its removal. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'tscni-fw-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
