// Robustness sweep of the chained portmap plugin (iptables and nftables backends): a real bridge
// attachment (prevResult kept), then hostile CNI_* variables, versions, stdin, prevResult and
// config values, runtimeConfig.portMappings of every wrong shape (each one spec error object with
// the right code naming the field and value; nothing changed: iptables/ip6tables/nft rules of the
// node, the state records under TSCNI_STATE_DIR), and the lifecycle rows for both backends.
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ChainedPlugin, type ChainedRow, type Json, NETC, removeAllChainedRigs, setPath,
  longNameRows, outOfRangeRows, withExtraAddress, skelRows, stdinRows, typeRow, stdinRow as bad,
  sweepBothBackends,
} from './chained-harness.js';

afterAll(removeAllChainedRigs);

const MAPPINGS = [
  { hostPort: 18080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 18081, containerPort: 81, protocol: 'udp' },
];

const portmap = (backend: string): ChainedPlugin => ({
  name: 'portmap',
  conf: () => ({ cniVersion: '1.0.0', name: NETC, type: 'portmap', backend, runtimeConfig: { portMappings: MAPPINGS } }),
});

/** The first mapping with `key` set to `value`. */
const mapping = (key: string, value: unknown) => (c: Json): Json =>
  setPath(c, 'runtimeConfig.portMappings', [{ ...MAPPINGS[0], [key]: value }]);

const ROWS: ChainedRow[] = [
  ...skelRows(),
  ...outOfRangeRows('ok'),
  ...longNameRows(5, [], ['failed to record the attachment']),
  ...stdinRows({ prevRequired: true, prevMentions: ['prevResult'] }),
  // wrong JSON types
  typeRow('backend', 5, '5'),
  typeRow('snat', 'yes', '"yes"'),
  typeRow('masqAll', 1, '1'),
  typeRow('markMasqBit', '13', '"13"'),
  typeRow('externalSetMarkChain', 5, '5'),
  typeRow('conditionsV4', '-s 10.0.0.0/8', '-s 10.0.0.0/8'),
  typeRow('conditionsV6', [5], '5'),
  typeRow('runtimeConfig', 'x', '"x"'),
  typeRow('runtimeConfig.portMappings', 'x', '"x"'),
  typeRow('runtimeConfig.portMappings', {}, '{}'),
  typeRow('runtimeConfig.portMappings', [5], '5'),
  typeRow('runtimeConfig.portMappings', 'x', '"x"', 'DEL'),
  typeRow('runtimeConfig.portMappings', 'x', '"x"', 'CHECK'),
  bad('hostPort a string', 7, ['hostPort', '"8080"'], mapping('hostPort', '8080')),
  bad('hostPort 80.5', 7, ['hostPort', '80.5'], mapping('hostPort', 80.5)),
  bad('protocol a number', 7, ['protocol', '6'], mapping('protocol', 6)),
  bad('hostIP a number', 7, ['hostIP', '5'], mapping('hostIP', 5)),
  // values
  bad('hostPort 0', 7, ['Invalid host port number: 0', 'hostPort'], mapping('hostPort', 0)),
  bad('hostPort -1', 7, ['hostPort', '-1'], mapping('hostPort', -1)),
  bad('hostPort 70000', 7, ['hostPort', '70000'], mapping('hostPort', 70000)),
  bad('containerPort 0', 7, ['Invalid container port number: 0', 'containerPort'], mapping('containerPort', 0)),
  bad('containerPort 65536', 7, ['containerPort', '65536'], mapping('containerPort', 65536)),
  bad('protocol icmp', 7, ['protocol', 'icmp'], mapping('protocol', 'icmp')),
  bad('protocol empty', 7, ['protocol'], mapping('protocol', '')),
  bad('hostIP not an IP', 7, ['hostIP', 'nope'], mapping('hostIP', 'nope')),
  bad('hostIP a CIDR', 7, ['hostIP', '10.0.0.1/8'], mapping('hostIP', '10.0.0.1/8')),
  bad('a second mapping bad', 7, ['hostPort', '0'], (c) => setPath(c, 'runtimeConfig.portMappings', [MAPPINGS[0], { ...MAPPINGS[1], hostPort: 0 }])),
  bad('backend bogus', 7, ['backend', 'bogus'], (c) => setPath(c, 'backend', 'bogus')),
  bad('markMasqBit 32', 7, ['MasqMarkBit must be between 0 and 31', '32'], (c) => setPath(c, 'markMasqBit', 32)),
  bad('markMasqBit -1', 7, ['MasqMarkBit', '-1'], (c) => setPath(c, 'markMasqBit', -1)),
  bad('markMasqBit with externalSetMarkChain', 7, ['externalSetMarkChain', 'markMasqBit'], (c) => ({ ...c, markMasqBit: 5, externalSetMarkChain: 'KUBE-MARK-MASQ' })),
  bad('externalSetMarkChain with an injected target', 7, ['externalSetMarkChain', 'X -j ACCEPT'], (c) => setPath(c, 'externalSetMarkChain', 'X -j ACCEPT')),
  bad('externalSetMarkChain with a newline', 7, ['externalSetMarkChain'], (c) => setPath(c, 'externalSetMarkChain', 'X\n-F')),
  bad('externalSetMarkChain empty', 7, ['externalSetMarkChain'], (c) => setPath(c, 'externalSetMarkChain', '')),
  bad('externalSetMarkChain too long', 7, ['externalSetMarkChain', 'KUBE-MARK-MASQ-0123456789abcdef'], (c) => setPath(c, 'externalSetMarkChain', 'KUBE-MARK-MASQ-0123456789abcdef')),
  // A line break would end the rule in iptables-restore's input and run the rest as a command.
  bad('iptables conditions with a newline', 7, ['conditionsV4'], (c) => setPath(c, 'conditionsV4', ['-s', '10.0.0.0/8\n-A INPUT -j ACCEPT'])),
  bad('nftables conditions with the iptables backend', 7, ['conditionsV4', 'nftables'], (c) => setPath(c, 'conditionsV4', ['ip saddr 10.0.0.0/8'])),
  bad('iptables conditions with the nftables backend', 7, ['conditionsV4', 'iptables'], (c) => ({ ...c, backend: 'nftables', conditionsV4: ['-s', '10.0.0.0/8'] })),
  bad('nftables conditions escaping the rule', 7, ['conditionsV4', 'flush ruleset'], (c) => ({ ...c, backend: 'nftables', conditionsV4: ['ip saddr 10.0.0.0/8; flush ruleset'] })),
  bad('nftables conditions with a newline', 7, ['conditionsV4'], (c) => ({ ...c, backend: 'nftables', conditionsV4: ['ip saddr 10.0.0.0/8\nflush ruleset'] })),
  // an IPv6 address too: ip6tables DNAT written, and DEL takes it back
  { label: 'ADD with an IPv6 address too', stdin: (c, a) => withExtraAddress(c, a, 'fd37:11::5/64'), code: 'ok' },
  { label: 'ADD with an IPv6 hostIP for an IPv4-only container', stdin: mapping('hostIP', 'fd37:11::1'), code: 'ok' },
  // CHECK before any ADD
  bad('before any ADD', 101, [/CNI-DN-|hostport/], (c) => c, 'CHECK'),
  // GC / STATUS
  bad('GC with valid-attachments not a list', 7, ['cni.dev/valid-attachments'], (c) => ({ ...c, cniVersion: '1.1.0', prevResult: undefined, 'cni.dev/valid-attachments': 5 }), 'GC'),
  bad('STATUS with backend bogus', 7, ['backend', 'bogus'], (c) => ({ ...c, cniVersion: '1.1.0', prevResult: undefined, backend: 'bogus' }), 'STATUS'),
];

/** The nftables backend shares the skeleton and config checks: the rows that reach its own code. */
const NFT_ROWS = ROWS.filter((r) => /^(prevResult|ADD without prevResult|CHECK with prevResult|ADD hostPort 0|ADD protocol icmp|CHECK before any ADD|GC )/.test(r.label));

describe('robustness: chained portmap', () => {
  it('hostile input and lifecycle on a real attachment (iptables, nftables)', () => {
    expect(sweepBothBackends(11, portmap, ROWS, NFT_ROWS)).toBeGreaterThan(60);
  });
});
