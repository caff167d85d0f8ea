// `tscni overlay -ip-masq` on nftables (EnableNFTables) commits nf_tables batches in-process; before,
// it ran nftMasqScript's text through `nft -f -`. Beside netlink-vs-text.test.ts and with its driver:
// the text applied with `nft -f` in one netns, the agent's own calls (setupMasq / removeMasq) in
// another, and after every step the same `nft -j list ruleset` apart from handles and the same
// `nft list ruleset` text. Steps: apply (v4 cluster network and pod subnet), apply again with another
// lease (a restart), the removal of -release-on-exit, and that removal again (no table). `nft` is the
// oracle only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, removeAllNetns } from '../../helpers/netns.js';
import { apply, ruleset, skip } from './oracle.js';

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
