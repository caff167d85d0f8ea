import { describe, expect, it } from 'vitest';
import { parseCIDR, type IPNet } from '../../../shared/ip/index.js';
import {
  nftInstanceHash,
  nftMasqComment,
  nftMasqDeleteScript,
  nftMasqSetupScript,
  staleNftMasqHandles,
  truncateUtf8,
} from '../../../shared/firewall/ipmasq-nftables.js';
import type { NftRuleInfo } from '../../../shared/firewall/nft-json.js';

const net = (s: string): IPNet => parseCIDR(s)!;

describe('nftables ipMasq', () => {
  it('comment: instance hash, readable tail without double quotes', () => {
    expect(nftInstanceHash('test', 'eth0', '1234')).toMatch(/^ee26b0dd4af7e749-[0-9a-f]{16}$/);
    expect(nftMasqComment('te"st', 'eth0', '1234')).toBe(`${nftInstanceHash('te"st', 'eth0', '1234')}, net: test, if: eth0, id: 1234`);
  });

  it('comment is cut to 128 bytes without splitting a character', () => {
    const long = nftMasqComment('net', 'eth0', 'c'.repeat(200));
    expect(long).toHaveLength(128);
    expect(long.startsWith(nftInstanceHash('net', 'eth0', 'c'.repeat(200)))).toBe(true);
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(Buffer.byteLength(nftMasqComment('net', 'eth0', 'é'.repeat(100)))).toBeLessThanOrEqual(128);
  });

  it('exact setup script (table, chains, postrouting rewrite, stale deletions, one rule per address)', () => {
    const c = nftMasqComment('test', 'eth0', '1234');
    expect(nftMasqSetupScript([7], [net('10.47.3.2/24'), net('2001:db8:47::2/64')], c)).toBe(
      [
        'add table inet cni_plugins_masquerade { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }',
        'add chain inet cni_plugins_masquerade masq_checks { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }',
        'add chain inet cni_plugins_masquerade postrouting { type nat hook postrouting priority srcnat ; }',
        'flush chain inet cni_plugins_masquerade postrouting',
        'add rule inet cni_plugins_masquerade postrouting ip daddr == 224.0.0.0/4  return',
        'add rule inet cni_plugins_masquerade postrouting ip6 daddr == ff00::/8  return',
        'add rule inet cni_plugins_masquerade postrouting goto masq_checks',
        'delete rule inet cni_plugins_masquerade masq_checks handle 7',
        `add rule inet cni_plugins_masquerade masq_checks ip saddr == 10.47.3.2 ip daddr != 10.47.3.0/24 masquerade comment "${c}"`,
        `add rule inet cni_plugins_masquerade masq_checks ip6 saddr == 2001:db8:47::2 ip6 daddr != 2001:db8:47::/64 masquerade comment "${c}"`,
        '',
      ].join('\n'),
    );
  });

  it('delete script by handle; empty when nothing matches', () => {
    expect(nftMasqDeleteScript([3, 4])).toBe(
      'delete rule inet cni_plugins_masquerade masq_checks handle 3\ndelete rule inet cni_plugins_masquerade masq_checks handle 4\n',
    );
    expect(nftMasqDeleteScript([])).toBe('');
  });

  it('GC keeps valid (containerID, ifname) pairs and other networks', () => {
    const rule = (handle: number, network: string, ifName: string, cid: string): NftRuleInfo => ({
      family: 'inet',
      table: 'cni_plugins_masquerade',
      chain: 'masq_checks',
      handle,
      comment: nftMasqComment(network, ifName, cid),
    });
    const rules = [
      rule(1, 'n', 'eth0', 'a'),
      rule(2, 'n', 'net1', 'a'),
      rule(3, 'n', 'eth0', 'b'),
      rule(4, 'm', 'eth0', 'b'),
      { ...rule(5, 'n', 'eth0', 'b'), comment: undefined },
    ];
    expect(staleNftMasqHandles(rules, 'n', [{ containerID: 'a', ifname: 'eth0' }])).toEqual([2, 3]);
    expect(staleNftMasqHandles(rules, 'n', [])).toEqual([1, 2, 3]);
  });
});
