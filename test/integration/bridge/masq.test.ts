// ipMasq with both backends (the reference's chain names, comments and rule shapes), DEL when the
// container link is already gone, GC of attachments no longer valid, STATUS.
import { afterEach, describe, expect, it } from 'vitest';
import { execInNetns } from '../../helpers/netns.js';
import { bridgeConf, cleanupRigs, leases, makeRig, natRules, nftRuleset, run } from './helpers.js';

afterEach(() => cleanupRigs());

type Json = Record<string, any>;
const DUAL = [[{ subnet: '10.77.4.0/24' }], [{ subnet: '2001:db8:77:4::/64' }]];
// formatChainName("brnet", cid): "CNI-" + sha512("brnet" + cid) hex, 28 chars.
const commentOf = (cid: string): string => `"name: \\"brnet\\" id: \\"${cid}\\""`;

function masqRules(ns: string): Json[] {
  return nftRuleset(ns)
    .filter((o) => o['rule'] && (o['rule'] as Json).table === 'cni_plugins_masquerade')
    .map((o) => o['rule'] as Json);
}

describe('bridge ipMasq', () => {
  it('iptables (the default): per-container chain with the reference rules, removed by DEL', () => {
    const rig = makeRig();
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true }, DUAL);
    const add = run(rig, 'ADD', conf);
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    const v4 = natRules(rig.node, 4);
    const chain = v4.find((l) => l.startsWith(':CNI-'))!.split(' ')[0]!.slice(1);
    expect(chain).toMatch(/^CNI-[0-9a-f]{24}$/);
    expect(v4).toEqual([
      `:${chain} - [0:0]`,
      `-A POSTROUTING -s 10.77.4.2/32 -m comment --comment ${commentOf('ctr1')} -j ${chain}`,
      `-A ${chain} -d 10.77.4.0/24 -m comment --comment ${commentOf('ctr1')} -j ACCEPT`,
      `-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${commentOf('ctr1')} -j MASQUERADE`,
    ]);
    expect(natRules(rig.node, 6)).toEqual([
      `:${chain} - [0:0]`,
      `-A POSTROUTING -s 2001:db8:77:4::2/128 -m comment --comment ${commentOf('ctr1')} -j ${chain}`,
      `-A ${chain} -d 2001:db8:77:4::/64 -m comment --comment ${commentOf('ctr1')} -j ACCEPT`,
      `-A ${chain} ! -d ff00::/8 -m comment --comment ${commentOf('ctr1')} -j MASQUERADE`,
    ]);
    expect(masqRules(rig.node)).toEqual([]);
    expect(run(rig, 'DEL', conf).status).toBe(0);
    expect(natRules(rig.node, 4)).toEqual([]);
    expect(natRules(rig.node, 6)).toEqual([]);
  });

  it('nftables: one commented rule per address in inet cni_plugins_masquerade masq_checks', () => {
    const rig = makeRig();
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true, ipMasqBackend: 'nftables' }, DUAL);
    const add = run(rig, 'ADD', conf);
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    const chains = nftRuleset(rig.node).filter((o) => o['chain']).map((o) => o['chain'] as Json);
    expect(chains.find((c) => c.name === 'postrouting')).toMatchObject({ family: 'inet', table: 'cni_plugins_masquerade', type: 'nat', hook: 'postrouting', prio: 100 });
    const rules = masqRules(rig.node).filter((r) => r.chain === 'masq_checks');
    expect(rules).toHaveLength(2);
    for (const r of rules) expect(r.comment).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}, net: brnet, if: eth0, id: ctr1$/);
    expect(JSON.stringify(rules[0]!.expr)).toContain('10.77.4.2');
    expect(JSON.stringify(rules[1]!.expr)).toContain('2001:db8:77:4::2');
    expect(natRules(rig.node, 4)).toEqual([]);
    expect(run(rig, 'DEL', conf).status).toBe(0);
    expect(masqRules(rig.node).filter((r) => r.chain === 'masq_checks')).toEqual([]);
  });

  it('DEL removes the rules of both backends even when the container link is already gone', () => {
    const rig = makeRig(2);
    const [c1, c2] = rig.containers as [string, string];
    const ipt = bridgeConf(rig, { ipMasq: true, ipMasqBackend: 'iptables' });
    const nft = bridgeConf(rig, { ipMasq: true, ipMasqBackend: 'nftables' });
    expect(run(rig, 'ADD', ipt, { cid: 'a', container: c1 }).status).toBe(0);
    expect(run(rig, 'ADD', nft, { cid: 'b', container: c2 }).status).toBe(0);
    expect(execInNetns(c1, 'ip', ['link', 'del', 'eth0']).status).toBe(0);
    expect(execInNetns(c2, 'ip', ['link', 'del', 'eth0']).status).toBe(0);
    // The configured backend does not matter for DEL: both are cleaned.
    expect(run(rig, 'DEL', nft, { cid: 'a', container: c1 }).status).toBe(0);
    expect(run(rig, 'DEL', ipt, { cid: 'b', container: c2, netnsPath: '/run/netns/tscni-br-gone' }).status).toBe(0);
    expect(natRules(rig.node, 4)).toEqual([]);
    expect(masqRules(rig.node).filter((r) => r.chain === 'masq_checks')).toEqual([]);
    expect(leases(rig)).toEqual([]);
  });

  it('GC removes masquerade rules and IPAM allocations of attachments not in valid-attachments', () => {
    const rig = makeRig(3);
    const [c1, c2, c3] = rig.containers as [string, string, string];
    const conf = bridgeConf(rig, { ipMasq: true });
    const nft = bridgeConf(rig, { ipMasq: true, ipMasqBackend: 'nftables' });
    expect(run(rig, 'ADD', conf, { cid: 'keep', container: c1 }).status).toBe(0);
    expect(run(rig, 'ADD', conf, { cid: 'stale', container: c2 }).status).toBe(0);
    expect(run(rig, 'ADD', nft, { cid: 'stale2', container: c3 }).status).toBe(0);
    expect(leases(rig)).toHaveLength(3);
    const gc = run(rig, 'GC', { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }, { cid: '', ifName: '', container: '' });
    expect(gc.stdout + gc.stderr).toBe('');
    expect(gc.status).toBe(0);
    const v4 = natRules(rig.node, 4).join('\n');
    expect(v4).toContain('id: \\"keep\\"');
    expect(v4).not.toContain('stale');
    expect(masqRules(rig.node).filter((r) => r.chain === 'masq_checks')).toEqual([]);
    expect(leases(rig)).toEqual(['10.77.1.2']);
  });

  it('STATUS succeeds when the backend works; an unknown backend is a config error', () => {
    const rig = makeRig();
    const call = { cid: '', ifName: '', container: '' };
    const ok = run(rig, 'STATUS', bridgeConf(rig, { ipMasq: true, ipMasqBackend: 'nftables' }), call);
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const bad = run(rig, 'STATUS', bridgeConf(rig, { ipMasq: true, ipMasqBackend: 'pf' }), call);
    expect(bad.status).toBe(1);
    expect((bad.json as Json).code).toBe(7);
    const badAdd = run(rig, 'ADD', bridgeConf(rig, { ipMasq: true, ipMasqBackend: 'pf' }));
    expect((badAdd.json as Json).code).toBe(7);
    expect(leases(rig)).toEqual([]);
  });
});
