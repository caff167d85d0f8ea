// ipMasq with both backends, inside throwaway netns: exact rules for v4, v6 and dual-stack,
// idempotent ADD, teardown without addresses, and teardown of nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callLibrary, mustCall, natChains, natRules, Netns, nftTable, skipReason } from './harness.js';

const skip = skipReason();
const NET = 'fwtest';
const CID = 'ctr-4711';
const COMMENT = `"name: \\"${NET}\\" id: \\"${CID}\\""`;

const V4 = '10.47.1.5/24';
const V6 = '2001:db8:47:1::5/64';

describe.skipIf(skip !== undefined)(`ipMasq iptables backend${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let ns: Netns;
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => ns.delete());

  const setup = (ips: string[]): unknown =>
    mustCall(ns, { op: 'setup', backend: 'iptables', network: NET, containerID: CID, ifName: 'eth0', ips });

  const chainOf = (family: 4 | 6): string => {
    const chains = natChains(ns, family);
    expect(chains).toHaveLength(1);
    return chains[0]!;
  };

  it('v4: chain with ACCEPT + MASQUERADE and one POSTROUTING jump; ADD twice changes nothing', () => {
    expect(setup([V4])).toBe('iptables');
    const chain = chainOf(4);
    expect(chain).toMatch(/^CNI-[0-9a-f]{24}$/);
    const expected = [
      `-A POSTROUTING -s 10.47.1.5/32 -m comment --comment ${COMMENT} -j ${chain}`,
      `-A ${chain} -d 10.47.1.0/24 -m comment --comment ${COMMENT} -j ACCEPT`,
      `-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${COMMENT} -j MASQUERADE`,
    ];
    expect(natRules(ns, 4)).toEqual(expected);
    expect(natRules(ns, 6)).toEqual([]);
    setup([V4]);
    expect(natRules(ns, 4)).toEqual(expected);
  });

  it('v6: the ip6tables nat table gets the same shape with ff00::/8', () => {
    setup([V6]);
    const chain = chainOf(6);
    expect(natRules(ns, 6)).toEqual([
      `-A POSTROUTING -s 2001:db8:47:1::5/128 -m comment --comment ${COMMENT} -j ${chain}`,
      `-A ${chain} -d 2001:db8:47:1::/64 -m comment --comment ${COMMENT} -j ACCEPT`,
      `-A ${chain} ! -d ff00::/8 -m comment --comment ${COMMENT} -j MASQUERADE`,
    ]);
    expect(natRules(ns, 4)).toEqual([]);
  });

  it('dual-stack ADD twice, then teardown without addresses removes everything in both families', () => {
    setup([V4, V6]);
    setup([V4, V6]);
    expect(natRules(ns, 4)).toHaveLength(3);
    expect(natRules(ns, 6)).toHaveLength(3);
    expect(chainOf(4)).toBe(chainOf(6));
    mustCall(ns, { op: 'teardown', network: NET, containerID: CID, ifName: 'eth0' });
    expect(natRules(ns, 4)).toEqual([]);
    expect(natRules(ns, 6)).toEqual([]);
    expect(natChains(ns, 4)).toEqual([]);
    expect(natChains(ns, 6)).toEqual([]);
  });

  it('leaves other containers alone on teardown', () => {
    setup([V4]);
    mustCall(ns, { op: 'setup', backend: 'iptables', network: NET, containerID: 'other', ifName: 'eth0', ips: ['10.47.1.6/24'] });
    mustCall(ns, { op: 'teardown', network: NET, containerID: CID, ifName: 'eth0' });
    const rules = natRules(ns, 4);
    expect(rules).toHaveLength(3);
    expect(rules.every((r) => r.includes('id: \\"other\\"'))).toBe(true);
  });

  it('teardown with nothing there succeeds and creates nothing', () => {
    mustCall(ns, { op: 'teardown', network: NET, containerID: CID, ifName: 'eth0' });
    mustCall(ns, { op: 'teardown', network: NET, containerID: CID, ifName: 'eth0' });
    expect(ns.exec(['nft', 'list', 'ruleset']).trim()).toBe('');
  });

  it('default backend is iptables when it works; explicit values win; STATUS probes pass', () => {
    expect(mustCall(ns, { op: 'setup', network: NET, containerID: CID, ifName: 'eth0', ips: [V4] })).toBe('iptables');
    expect(mustCall(ns, { op: 'resolve' })).toBe('iptables');
    expect(mustCall(ns, { op: 'resolve', configured: 'nftables' })).toBe('nftables');
    expect(mustCall(ns, { op: 'usable', backend: 'iptables' })).toEqual({ ok: true });
    expect(mustCall(ns, { op: 'usable', backend: 'nftables' })).toEqual({ ok: true });
    const bad = callLibrary(ns, { op: 'resolve', configured: 'ebtables' });
    expect(bad).toMatchObject({ ok: false, error: { code: 7 } });
    expect(JSON.stringify(bad)).toContain('ipMasqBackend');
    expect(JSON.stringify(bad)).toContain('ebtables');
  });
});

describe.skipIf(skip !== undefined)(`ipMasq nftables backend${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let ns: Netns;
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => ns.delete());

  const setup = (ips: string[], containerID = CID, ifName = 'eth0'): unknown =>
    mustCall(ns, { op: 'setup', backend: 'nftables', network: NET, containerID, ifName, ips });
  const table = () => nftTable(ns, 'inet', 'cni_plugins_masquerade');
  const masqRules = () => (table()?.rules ?? []).filter((r) => r.chain === 'masq_checks');

  it('dual-stack: table, postrouting base chain, one commented rule per address; ADD twice is idempotent', () => {
    expect(setup([V4, V6])).toBe('nftables');
    setup([V4, V6]);
    const t = table()!;
    const post = t.chains.find((c) => c.name === 'postrouting')!;
    expect(post).toMatchObject({ type: 'nat', hook: 'postrouting', prio: 100 });
    expect(t.rules.filter((r) => r.chain === 'postrouting')).toHaveLength(3);
    const rules = masqRules();
    expect(rules).toHaveLength(2);
    for (const r of rules) {
      expect(r.comment).toMatch(new RegExp(`^[0-9a-f]{16}-[0-9a-f]{16}, net: ${NET}, if: eth0, id: ${CID}$`));
    }
    expect(rules[0]!.expr).toEqual([
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.47.1.5' } },
      { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr: '10.47.1.0', len: 24 } } } },
      { masquerade: null },
    ]);
    expect(rules[1]!.expr[1]).toEqual({
      match: { op: '!=', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: { prefix: { addr: '2001:db8:47:1::', len: 64 } } },
    });
    // The iptables form was not touched.
    expect(natRules(ns, 4)).toEqual([]);
  });

  it('a new ADD of the same attachment replaces its addresses (stale rules go)', () => {
    setup([V4]);
    setup(['10.47.1.9/24']);
    const rules = masqRules();
    expect(rules).toHaveLength(1);
    expect(JSON.stringify(rules[0]!.expr)).toContain('10.47.1.9');
  });

  it('teardown without addresses removes only this (container, ifname)', () => {
    setup([V4, V6]);
    setup(['10.47.1.6/24'], CID, 'net1');
    mustCall(ns, { op: 'teardown', network: NET, containerID: CID, ifName: 'eth0' });
    const rules = masqRules();
    expect(rules).toHaveLength(1);
    expect(rules[0]!.comment).toContain('if: net1');
    mustCall(ns, { op: 'teardown', network: NET, containerID: CID, ifName: 'net1' });
    expect(masqRules()).toEqual([]);
  });
});
