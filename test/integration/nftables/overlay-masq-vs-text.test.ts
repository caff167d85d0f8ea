// `tscni overlay -ip-masq` on nftables (EnableNFTables) commits nf_tables batches in-process; before,
// it ran nftMasqScript's text through `nft -f -`. Beside netlink-vs-text.test.ts and with its driver:
// the text applied with `nft -f` in one netns, the agent's own calls (setupMasq / removeMasq) in
// another, and after every step the same `nft -j list ruleset` apart from handles and the same
// `nft list ruleset` text. Steps: apply (v4 cluster network and pod subnet), apply again with another
// lease (a restart), the removal of -release-on-exit, and that removal again (no table). `nft` is the
// oracle only.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, removeAllNetns } from '../../helpers/netns.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const NODE = join(repo, 'node_modules/.bin/node');
const RESOLVER = join(repo, 'test/integration/firewall/ts-resolve.mjs');
const DRIVER = join(here, 'driver.ts');

const skip = process.getuid?.() !== 0 ? 'needs root' : spawnSync('which', ['nft']).status !== 0 ? 'nft (the oracle) is not installed' : undefined;

function apply(ns: string, mode: 'text' | 'netlink', step: Record<string, unknown>): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, NODE, '--import', RESOLVER, DRIVER, mode, JSON.stringify(step)], { encoding: 'utf8' });
  expect(r.stdout, `${mode} ${String(step.kind)}: ${r.stderr}`).toBe('ok');
}

/** `nft -j list ruleset` without metainfo and handles, in listing order. */
function ruleset(ns: string): unknown[] {
  const out = execInNetns(ns, 'nft', ['-j', 'list', 'ruleset']).stdout;
  if (out.trim() === '') return [];
  return (JSON.parse(out) as { nftables: Record<string, Record<string, unknown>>[] }).nftables
    .filter((i) => !('metainfo' in i))
    .map((i) => Object.fromEntries(Object.entries(i).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([f]) => f !== 'handle'))])));
}

describe.skipIf(skip)(`overlay -ip-masq: the netlink batches list exactly as the nft text did${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let textNs = '';
  let nlNs = '';
  beforeAll(() => {
    textNs = createNetns('tox-text');
    nlNs = createNetns('tox-nl');
  });
  afterAll(() => removeAllNetns());

  /** Applies the step both ways; returns the netlink side's `nft list ruleset` text. */
  function both(step: Record<string, unknown>): string {
    apply(textNs, 'text', step);
    apply(nlNs, 'netlink', step);
    expect(ruleset(nlNs), `after ${String(step.kind)}`).toEqual(ruleset(textNs));
    const listed = execInNetns(nlNs, 'nft', ['list', 'ruleset']).stdout;
    expect(listed).toBe(execInNetns(textNs, 'nft', ['list', 'ruleset']).stdout);
    return listed;
  }

  it('apply, apply again with another subnet (restart), -release-on-exit removal, removal again', () => {
    const first = both({ kind: 'overlay-masq-add', cluster: '10.158.0.0/16', pod: '10.158.1.0/24' });
    // All six of flanneld's rules are there (a listing of nothing would also be equal).
    expect(first).toContain('meta mark & 0x00004000 == 0x00004000 return comment "flanneld masq"');
    expect(first).toContain('ip saddr != 10.158.0.0/16 ip daddr 10.158.1.0/24 return comment "flanneld masq"');
    expect(first).toContain('ip saddr 10.158.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random comment "flanneld masq"');
    expect(first.match(/comment "flanneld masq"/g)).toHaveLength(6);
    const again = both({ kind: 'overlay-masq-add', cluster: '10.158.0.0/16', pod: '10.158.42.0/24' });
    expect(again).toContain('ip saddr 10.158.42.0/24 ip daddr 10.158.0.0/16 return');
    expect(again).not.toContain('10.158.1.0/24');
    expect(again.match(/comment "flanneld masq"/g)).toHaveLength(6);
    expect(both({ kind: 'overlay-masq-del' })).toBe('');
    expect(both({ kind: 'overlay-masq-del' })).toBe('');
  });
});
