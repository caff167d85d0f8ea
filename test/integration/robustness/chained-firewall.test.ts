// Robustness sweep of the chained firewall plugin (iptables and nftables backends): a real bridge
// attachment (prevResult kept), then hostile CNI_* variables, versions (0.4.0+), stdin, prevResult
// and config values (each one spec error object with the right code naming the field and value;
// nothing changed: iptables/ip6tables/nft rules of the node, the state records under
// TSCNI_STATE_DIR), and the lifecycle rows for both backends. The backend is always given: the
// default would probe the host's D-Bus for firewalld.
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ChainedPlugin, type ChainedRow, NETC, removeAllChainedRigs, setPath, longNameRows,
  outOfRangeRows, withExtraAddress, skelRows, stdinRows, typeRow, stdinRow as bad, sweepBothBackends,
} from './chained-harness.js';

afterAll(removeAllChainedRigs);

const firewall = (backend: string): ChainedPlugin => ({
  name: 'firewall',
  conf: () => ({ cniVersion: '1.0.0', name: NETC, type: 'firewall', backend }),
});

const ROWS: ChainedRow[] = [
  ...skelRows({ minVersion: '0.4.0' }),
  ...outOfRangeRows('ok'),
  ...longNameRows(5, [], ['failed to record the attachment']),
  ...stdinRows({ prevRequired: true, prevMentions: ['prevResult'] }),
  // wrong JSON types
  typeRow('backend', 5, '5'),
  typeRow('ingressPolicy', 5, '5'),
  typeRow('ingressPolicy', ['open'], 'open'),
  typeRow('firewalldZone', [], '[]'),
  typeRow('iptablesAdminChainName', {}, '{}'),
  typeRow('backend', 5, '5', 'DEL'),
  typeRow('backend', 5, '5', 'CHECK'),
  // values
  bad('ingressPolicy bogus', 7, ['ingressPolicy', 'bogus'], (c) => setPath(c, 'ingressPolicy', 'bogus')),
  bad('backend bogus', 7, ['backend', 'bogus'], (c) => setPath(c, 'backend', 'bogus')),
  bad('DEL with backend bogus', 7, ['backend', 'bogus'], (c) => setPath(c, 'backend', 'bogus'), 'DEL'),
  bad('admin chain too long', 7, ['iptablesAdminChainName', 'CNI-ADMIN-0123456789abcdefghij'], (c) => setPath(c, 'iptablesAdminChainName', 'CNI-ADMIN-0123456789abcdefghij')),
  bad('admin chain with an injected target', 7, ['iptablesAdminChainName', 'X -j ACCEPT'], (c) => setPath(c, 'iptablesAdminChainName', 'X -j ACCEPT')),
  bad('admin chain ACCEPT', 7, ['iptablesAdminChainName', 'ACCEPT'], (c) => setPath(c, 'iptablesAdminChainName', 'ACCEPT')),
  bad('admin chain starting with -', 7, ['iptablesAdminChainName', '-F'], (c) => setPath(c, 'iptablesAdminChainName', '-F')),
  bad('admin chain with a newline', 7, ['iptablesAdminChainName'], (c) => setPath(c, 'iptablesAdminChainName', 'A\n-F')),
  bad('firewalldZone with a NUL', 7, ['firewalldZone'], (c) => setPath(c, 'firewalldZone', 'a\u0000b')),
  // an IPv6 address too: ip6tables rules written, and DEL takes them back
  { label: 'ADD with an IPv6 address too', stdin: (c, a) => withExtraAddress(c, a, 'fd37:12::5/64'), code: 'ok' },
  // CHECK before any ADD: the per-address rules are missing
  bad('before any ADD', 101, ['10.37.12.2'], (c) => c, 'CHECK'),
  // GC / STATUS
  bad('GC with valid-attachments not a list', 7, ['cni.dev/valid-attachments'], (c) => ({ ...c, cniVersion: '1.1.0', prevResult: undefined, 'cni.dev/valid-attachments': 'x' }), 'GC'),
  bad('GC with an attachment of the wrong type', 7, ['cni.dev/valid-attachments[0].containerID'], (c) => ({ ...c, cniVersion: '1.1.0', prevResult: undefined, 'cni.dev/valid-attachments': [{ containerID: 5, ifname: 'eth0' }] }), 'GC'),
  bad('STATUS with backend bogus', 7, ['backend', 'bogus'], (c) => ({ ...c, cniVersion: '1.1.0', prevResult: undefined, backend: 'bogus' }), 'STATUS'),
];

/** The nftables backend shares the skeleton and config checks: the rows that reach its own code. */
const NFT_ROWS = ROWS.filter((r) => /^(prevResult|ADD without prevResult|CHECK with prevResult|ADD ingressPolicy bogus|CHECK before any ADD|GC )/.test(r.label));

describe('robustness: chained firewall', () => {
  it('hostile input and lifecycle on a real attachment (iptables, nftables)', () => {
    expect(sweepBothBackends(12, firewall, ROWS, NFT_ROWS)).toBeGreaterThan(60);
  });
});
