// GC of ipMasq rules (CNI 1.1): stale attachments of one network go, valid ones and other networks stay.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mustCall, natChains, natRules, Netns, nftTable, skipReason } from './harness.js';

const skip = skipReason();
const NET = 'gcnet';

describe.skipIf(skip !== undefined)(`ipMasq GC${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let ns: Netns;
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => ns.delete());

  const setup = (backend: string, network: string, containerID: string, ifName: string, ips: string[]): void => {
    mustCall(ns, { op: 'setup', backend, network, containerID, ifName, ips });
  };

  it('iptables: removes chains of invalid container IDs; a cid valid with any ifname keeps its chain', () => {
    setup('iptables', NET, 'keep', 'eth0', ['10.47.3.2/24', '2001:db8:47:3::2/64']);
    setup('iptables', NET, 'keep-other-if', 'eth0', ['10.47.3.3/24']);
    setup('iptables', NET, 'gone', 'eth0', ['10.47.3.4/24', '2001:db8:47:3::4/64']);
    setup('iptables', 'othernet', 'gone', 'eth0', ['10.47.4.4/24']);
    expect(natChains(ns, 4)).toHaveLength(4);
    mustCall(ns, {
      op: 'gc',
      network: NET,
      valid: [
        { containerID: 'keep', ifname: 'eth0' },
        { containerID: 'keep-other-if', ifname: 'net1' },
      ],
    });
    const v4 = natRules(ns, 4).join('\n');
    expect(natChains(ns, 4)).toHaveLength(3);
    expect(v4).not.toContain('10.47.3.4');
    expect(v4).toContain('10.47.3.2');
    expect(v4).toContain('10.47.3.3');
    expect(v4).toContain('10.47.4.4');
    expect(natChains(ns, 6)).toHaveLength(1);
    expect(natRules(ns, 6).join('\n')).toContain('2001:db8:47:3::2');
    // GC again: nothing left to do.
    mustCall(ns, { op: 'gc', network: NET, valid: [{ containerID: 'keep', ifname: 'eth0' }, { containerID: 'keep-other-if', ifname: 'x' }] });
    expect(natChains(ns, 4)).toHaveLength(3);
  });

  it('nftables: removes rules per (containerID, ifname) not in the valid list', () => {
    setup('nftables', NET, 'keep', 'eth0', ['10.47.3.2/24', '2001:db8:47:3::2/64']);
    setup('nftables', NET, 'keep', 'net1', ['10.47.3.3/24']);
    setup('nftables', NET, 'gone', 'eth0', ['10.47.3.4/24']);
    setup('nftables', 'othernet', 'gone', 'eth0', ['10.47.4.4/24']);
    mustCall(ns, { op: 'gc', network: NET, valid: [{ containerID: 'keep', ifname: 'eth0' }] });
    const rules = nftTable(ns, 'inet', 'cni_plugins_masquerade')!.rules.filter((r) => r.chain === 'masq_checks');
    expect(rules.map((r) => r.comment!.replace(/^[0-9a-f-]+, /, '')).sort()).toEqual([
      `net: ${NET}, if: eth0, id: keep`,
      `net: ${NET}, if: eth0, id: keep`,
      'net: othernet, if: eth0, id: gone',
    ]);
  });

  it('GC with an empty valid list clears the network in both backends; GC of nothing succeeds', () => {
    mustCall(ns, { op: 'gc', network: NET, valid: [] });
    setup('iptables', NET, 'a', 'eth0', ['10.47.3.2/24']);
    setup('nftables', NET, 'b', 'eth0', ['10.47.3.3/24']);
    mustCall(ns, { op: 'gc', network: NET, valid: [] });
    expect(natChains(ns, 4)).toEqual([]);
    expect(natRules(ns, 4)).toEqual([]);
    expect(nftTable(ns, 'inet', 'cni_plugins_masquerade')!.rules.filter((r) => r.chain === 'masq_checks')).toEqual([]);
  });
});
