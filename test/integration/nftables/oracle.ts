// The two ways of writing the same nftables change, for the text-vs-netlink tests: the text form
// through `nft -f` (driver.ts `text`), our netlink batches (driver.ts `netlink`), each run in a netns
// of its own, and the listing both are compared by. `nft` is the oracle only.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { execInNetns } from '../../helpers/netns.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const NODE = join(repo, 'node_modules/.bin/node');
const RESOLVER = join(repo, 'test/integration/firewall/ts-resolve.mjs');
const DRIVER = join(here, 'driver.ts');

/** Why the comparison cannot run here, or undefined. */
export const skip = process.getuid?.() !== 0 ? 'needs root' : spawnSync('which', ['nft']).status !== 0 ? 'nft (the oracle) is not installed' : undefined;

/** Applies one driver step in `ns`, the text way or the netlink way. */
export function apply(ns: string, mode: 'text' | 'netlink', step: Record<string, unknown>): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, NODE, '--import', RESOLVER, DRIVER, mode, JSON.stringify(step)], { encoding: 'utf8' });
  expect(r.stdout, `${mode} ${String(step.kind)}: ${r.stderr}`).toBe('ok');
}

/** `nft -j list ruleset` without metainfo and handles, in listing order. */
export function ruleset(ns: string): unknown[] {
  const out = execInNetns(ns, 'nft', ['-j', 'list', 'ruleset']).stdout;
  if (out.trim() === '') return [];
  return (JSON.parse(out) as { nftables: Record<string, Record<string, unknown>>[] }).nftables
    .filter((i) => !('metainfo' in i))
    .map((i) => Object.fromEntries(Object.entries(i).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([f]) => f !== 'handle'))])));
}
