import { describe, expect, it } from 'vitest';
import {
  spoofCheckNames,
  spoofCheckSetupCommands,
  spoofCheckTeardownCommands,
} from '../../../shared/firewall/macspoofchk.js';
import type { NftListing } from '../../../shared/firewall/nft-json.js';

const id = { containerID: 'container99', ifName: 'net1' };
const att = { ...id, hostIfName: 'net0', mac: '02:00:00:00:12:34' };
const B = { family: 'bridge', table: 'nat' };
const EMPTY: NftListing = { chains: [], rules: [] };
const INSTALLED: NftListing = {
  chains: [
    { ...B, name: 'PREROUTING' },
    { ...B, name: 'cni-br-iface-container99-net1' },
    { ...B, name: 'cni-br-iface-container99-net1-mac' },
  ],
  rules: [
    { ...B, chain: 'PREROUTING', handle: 4, comment: 'macspoofchk-container99-net1' },
    { ...B, chain: 'PREROUTING', handle: 9, comment: 'macspoofchk-other-eth0' },
    { ...B, chain: 'cni-br-iface-container99-net1', handle: 5, comment: 'macspoofchk-container99-net1' },
  ],
};

describe('macspoofchk commands', () => {
  it('names follow the reference', () => {
    expect(spoofCheckNames(id)).toEqual({
      ifaceChain: 'cni-br-iface-container99-net1',
      macChain: 'cni-br-iface-container99-net1-mac',
      comment: 'macspoofchk-container99-net1',
    });
  });

  it('setup: table, base chain, both chains flushed, 4 commented rules in one transaction', () => {
    const rule = (chain: string, expr: unknown[]) => ({ add: { rule: { ...B, chain, expr, comment: 'macspoofchk-container99-net1' } } });
    expect(spoofCheckSetupCommands(att, EMPTY)).toEqual([
      { add: { table: { family: 'bridge', name: 'nat' } } },
      { add: { chain: { ...B, name: 'PREROUTING', type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' } } },
      { add: { chain: { ...B, name: 'cni-br-iface-container99-net1' } } },
      { add: { chain: { ...B, name: 'cni-br-iface-container99-net1-mac' } } },
      { flush: { chain: { ...B, name: 'cni-br-iface-container99-net1' } } },
      { flush: { chain: { ...B, name: 'cni-br-iface-container99-net1-mac' } } },
      rule('PREROUTING', [
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'net0' } },
        { jump: { target: 'cni-br-iface-container99-net1' } },
      ]),
      rule('cni-br-iface-container99-net1', [{ jump: { target: 'cni-br-iface-container99-net1-mac' } }]),
      rule('cni-br-iface-container99-net1-mac', [
        { match: { op: '==', left: { payload: { protocol: 'ether', field: 'saddr' } }, right: '02:00:00:00:12:34' } },
        { return: null },
      ]),
      rule('cni-br-iface-container99-net1-mac', [{ drop: null }]),
    ]);
  });

  it('setup over an existing install deletes only its own old PREROUTING rule first', () => {
    const deletes = spoofCheckSetupCommands(att, INSTALLED).filter((c) => 'delete' in c);
    expect(deletes).toEqual([{ delete: { rule: { ...B, chain: 'PREROUTING', handle: 4 } } }]);
  });

  it('teardown: PREROUTING rule by comment, then the iface chain before the mac chain; nothing when absent', () => {
    expect(spoofCheckTeardownCommands(id, INSTALLED)).toEqual([
      { delete: { rule: { ...B, chain: 'PREROUTING', handle: 4 } } },
      { delete: { chain: { ...B, name: 'cni-br-iface-container99-net1' } } },
      { delete: { chain: { ...B, name: 'cni-br-iface-container99-net1-mac' } } },
    ]);
    expect(spoofCheckTeardownCommands(id, EMPTY)).toEqual([]);
  });
});
