import { describe, expect, it } from 'vitest';
import { parseCIDR, type IPNet } from '../../../shared/ip/index.js';
import { parseSavedTable, restoreScript } from '../../../shared/firewall/iptables-save.js';
import {
  iptablesChainRemovalLines,
  iptablesMasqChain,
  iptablesMasqComment,
  iptablesMasqNewChainLines,
  iptablesMasqSetupLines,
  staleIptablesMasqChains,
} from '../../../shared/firewall/ipmasq-iptables.js';

const net = (s: string): IPNet => parseCIDR(s)!;
const CHAIN = iptablesMasqChain('test', '1234');
const COMMENT = iptablesMasqComment('test', '1234');
const Q = '"name: \\"test\\" id: \\"1234\\""';
const EMPTY = parseSavedTable('*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n', 'nat');

// What the Go reference (1.1.1 ptp, ipMasq) leaves in iptables-save for test/1234/10.47.3.2/24.
const REFERENCE_DUMP = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:${CHAIN} - [0:0]
-A POSTROUTING -s 10.47.3.2/32 -m comment --comment ${Q} -j ${CHAIN}
-A POSTROUTING -s 10.47.3.0/24 -m comment --comment ${Q} -j ${CHAIN}
-A POSTROUTING -s 10.9.9.9/32 -j ACCEPT
-A ${CHAIN} -d 10.47.3.0/24 -m comment --comment ${Q} -j ACCEPT
-A ${CHAIN} ! -d 224.0.0.0/4 -m comment --comment ${Q} -j MASQUERADE
COMMIT
`;

describe('iptables ipMasq rules', () => {
  it('comment uses Go %q quoting', () => {
    expect(COMMENT).toBe('name: "test" id: "1234"');
    expect(iptablesMasqComment('a"b', 'c')).toBe('name: "a\\"b" id: "c"');
  });

  it('new v4 chain: exact iptables-restore input', () => {
    const lines = iptablesMasqSetupLines(EMPTY, [net('10.47.3.2/24')], CHAIN, COMMENT);
    expect(restoreScript('nat', lines)).toBe(
      [
        '*nat',
        `:${CHAIN} - [0:0]`,
        `-A ${CHAIN} -d 10.47.3.0/24 -m comment --comment ${Q} -j ACCEPT`,
        `-A ${CHAIN} ! -d 224.0.0.0/4 -m comment --comment ${Q} -j MASQUERADE`,
        `-A POSTROUTING -s 10.47.3.2/32 -m comment --comment ${Q} -j ${CHAIN}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('a new container without reading the table: -N, then exactly the rules of an empty table', () => {
    for (const ips of [[net('10.47.3.2/24')], [net('10.47.3.2/24'), net('10.47.4.2/24')], [net('2001:db8:47::2/64')]]) {
      const fromEmpty = iptablesMasqSetupLines(EMPTY, ips, CHAIN, COMMENT);
      expect(iptablesMasqNewChainLines(ips, CHAIN, COMMENT)).toEqual([`-N ${CHAIN}`, ...fromEmpty.slice(1)]);
    }
  });

  it('v6 uses ff00::/8 and a /128 source', () => {
    const lines = iptablesMasqSetupLines(EMPTY, [net('2001:db8:47::2/64')], CHAIN, COMMENT);
    expect(lines.slice(1)).toEqual([
      `-A ${CHAIN} -d 2001:db8:47::/64 -m comment --comment ${Q} -j ACCEPT`,
      `-A ${CHAIN} ! -d ff00::/8 -m comment --comment ${Q} -j MASQUERADE`,
      `-A POSTROUTING -s 2001:db8:47::2/128 -m comment --comment ${Q} -j ${CHAIN}`,
    ]);
  });

  it('two addresses of one family: one MASQUERADE rule, appended in the reference order', () => {
    const lines = iptablesMasqSetupLines(EMPTY, [net('10.47.3.2/24'), net('10.47.4.2/24')], CHAIN, COMMENT);
    expect(lines.map((l) => l.split(' -m ')[0])).toEqual([
      `:${CHAIN} - [0:0]`,
      `-A ${CHAIN} -d 10.47.3.0/24`,
      `-A ${CHAIN} ! -d 224.0.0.0/4`,
      `-A POSTROUTING -s 10.47.3.2/32`,
      `-A ${CHAIN} -d 10.47.4.0/24`,
      `-A POSTROUTING -s 10.47.4.2/32`,
    ]);
  });

  it('adds nothing over the rules the reference created (and never re-declares an existing chain)', () => {
    const table = parseSavedTable(REFERENCE_DUMP, 'nat');
    expect(iptablesMasqSetupLines(table, [net('10.47.3.2/24')], CHAIN, COMMENT)).toEqual([]);
    expect(iptablesMasqSetupLines(table, [net('10.47.3.7/24')], CHAIN, COMMENT)).toEqual([
      `-A POSTROUTING -s 10.47.3.7/32 -m comment --comment ${Q} -j ${CHAIN}`,
    ]);
  });

  it('removal deletes every jump to the chain (also the legacy -s ip/len one), then flushes and deletes it', () => {
    const table = parseSavedTable(REFERENCE_DUMP, 'nat');
    expect(iptablesChainRemovalLines(table, new Set([CHAIN]))).toEqual([
      `-D POSTROUTING -s 10.47.3.2/32 -m comment --comment ${Q} -j ${CHAIN}`,
      `-D POSTROUTING -s 10.47.3.0/24 -m comment --comment ${Q} -j ${CHAIN}`,
      `-F ${CHAIN}`,
      `-X ${CHAIN}`,
    ]);
    expect(iptablesChainRemovalLines(table, new Set([iptablesMasqChain('test', 'other')]))).toEqual([]);
  });

  it('GC picks chains of this network whose container ID is not valid', () => {
    const gone = iptablesMasqChain('test', 'gone');
    const other = iptablesMasqChain('othernet', 'gone');
    const dump = `${REFERENCE_DUMP.replace('COMMIT\n', '')}:${gone} - [0:0]
:${other} - [0:0]
-A ${gone} ! -d 224.0.0.0/4 -m comment --comment "name: \\"test\\" id: \\"gone\\"" -j MASQUERADE
-A ${other} ! -d 224.0.0.0/4 -m comment --comment "name: \\"othernet\\" id: \\"gone\\"" -j MASQUERADE
COMMIT
`;
    const table = parseSavedTable(dump, 'nat');
    expect([...staleIptablesMasqChains(table, 'test', ['1234'])]).toEqual([gone]);
    expect([...staleIptablesMasqChains(table, 'test', [])].sort()).toEqual([CHAIN, gone].sort());
    expect([...staleIptablesMasqChains(table, 'othernet', ['gone'])]).toEqual([]);
  });
});
