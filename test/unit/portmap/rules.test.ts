// portmap rule generation, checked against the reference's own expectations
// (portmap_iptables_test.go, portmap_nftables_test.go), plus the restore lines and CHECK matching.
import { describe, expect, it } from 'vitest';
import { parseSavedTable } from '../../../shared/firewall/iptables-save.js';
import { type IPNet, parseCIDR } from '../../../shared/ip/index.js';
import { loadConf, type PortmapConf } from '../../../plugins/portmap/config.js';
import {
  containersWithChains, dnatChainName, dnatChainRules, dnatComment, dnatEntryRules, iptablesCheck, iptablesPlan,
  iptablesSetupLines, iptablesTeardownLines, markDef, masqEntryRule, masqRule, multiportGroups, oldSnatChainName, ruleFields, setMarkRule,
} from '../../../plugins/portmap/iptables.js';
import { type HostportRule, nftCheck, nftDeleteContainerRules, nftSetupCommands, parseHostportRules } from '../../../plugins/portmap/nftables.js';

const CID = 'icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y';
const EIGHT = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8080, containerPort: 81, protocol: 'udp' },
  { hostPort: 8082, containerPort: 82, protocol: 'udp' },
  { hostPort: 8083, containerPort: 83, protocol: 'tcp', hostIP: '192.168.0.2' },
  { hostPort: 8084, containerPort: 84, protocol: 'tcp', hostIP: '0.0.0.0' },
  { hostPort: 8085, containerPort: 85, protocol: 'tcp', hostIP: '2001:db8:a::1' },
  { hostPort: 8086, containerPort: 86, protocol: 'tcp', hostIP: '::' },
];
const conf = (extra: Record<string, unknown>, portMappings: unknown[] = EIGHT): PortmapConf =>
  loadConf(JSON.stringify({ cniVersion: '1.0.0', name: 'test', type: 'portmap', runtimeConfig: { portMappings }, ...extra }));
const net = (s: string): IPNet => parseCIDR(s)!;
const V4 = net('10.0.0.2/24');
const V6 = net('2001:db8::2/64');

describe('iptables chains and rules (reference portmap_iptables_test.go)', () => {
  it('names the per-container chain as the reference', () => {
    expect(dnatChainName('testNetName', CID)).toBe('CNI-DN-bfd599665540dd91d5d28');
    expect(dnatChainName('test', CID)).toBe('CNI-DN-67e92b96e692a494b6b85');
  });

  it('generates the entry rules and the container chain for IPv4, IPv6 and snat off', () => {
    const c = conf({ snat: true, conditionsV4: ['-a', 'b'], conditionsV6: ['-c', 'd'] });
    const comment = `dnat name: "test" id: "${CID}"`;
    expect(dnatEntryRules(c, CID, 4)).toEqual([
      ['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', 'tcp', '--destination-ports', '8080,8081,8083,8084,8085,8086', '-a', 'b'],
      ['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', 'udp', '--destination-ports', '8080,8082', '-a', 'b'],
    ]);
    expect(dnatEntryRules(c, CID, 6)[1]).toEqual(['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', 'udp', '--destination-ports', '8080,8082', '-c', 'd']);
    expect(dnatChainRules(c, V4)).toEqual([
      ['-p', 'tcp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8080', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
      ['-p', 'tcp', '--dport', '8081', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8081', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
      ['-p', 'udp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'udp', '--dport', '8080', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'udp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:81'],
      ['-p', 'udp', '--dport', '8082', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'udp', '--dport', '8082', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'udp', '--dport', '8082', '-j', 'DNAT', '--to-destination', '10.0.0.2:82'],
      ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-j', 'DNAT', '--to-destination', '10.0.0.2:83'],
      ['-p', 'tcp', '--dport', '8084', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8084', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8084', '-j', 'DNAT', '--to-destination', '10.0.0.2:84'],
    ]);
    expect(dnatChainRules(c, V6)).toEqual([
      ['-p', 'tcp', '--dport', '8080', '-s', '2001:db8::2/64', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:80'],
      ['-p', 'tcp', '--dport', '8081', '-s', '2001:db8::2/64', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:80'],
      ['-p', 'udp', '--dport', '8080', '-s', '2001:db8::2/64', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'udp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:81'],
      ['-p', 'udp', '--dport', '8082', '-s', '2001:db8::2/64', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'udp', '--dport', '8082', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:82'],
      ['-p', 'tcp', '--dport', '8085', '-d', '2001:db8:a::1', '-s', '2001:db8::2/64', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8085', '-d', '2001:db8:a::1', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:85'],
      ['-p', 'tcp', '--dport', '8086', '-s', '2001:db8::2/64', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8086', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:86'],
    ]);
    expect(dnatChainRules(conf({ snat: false, conditionsV4: ['-a', 'b'] }), V4)).toEqual([
      ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
      ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
      ['-p', 'udp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:81'],
      ['-p', 'udp', '--dport', '8082', '-j', 'DNAT', '--to-destination', '10.0.0.2:82'],
      ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-j', 'DNAT', '--to-destination', '10.0.0.2:83'],
      ['-p', 'tcp', '--dport', '8084', '-j', 'DNAT', '--to-destination', '10.0.0.2:84'],
    ]);
  });

  it('uses an external mark chain', () => {
    const c = conf({ externalSetMarkChain: 'PLZ-SET-MARK', conditionsV4: ['-a', 'b'] }, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    expect(dnatChainRules(c, V4)).toEqual([
      ['-p', 'tcp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', 'PLZ-SET-MARK'],
      ['-p', 'tcp', '--dport', '8080', '-s', '127.0.0.1', '-j', 'PLZ-SET-MARK'],
      ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ]);
    // and creates no mark chains of its own
    expect(iptablesPlan(c, CID, V4).markBit).toBeUndefined();
  });

  it('masquerades every source with masqAll (no separate localhost rule)', () => {
    const one = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
    expect(dnatChainRules(conf({ masqAll: true }, one), V4)).toEqual([
      ['-p', 'tcp', '--dport', '8080', '-s', '0.0.0.0/0', '-j', 'CNI-HOSTPORT-SETMARK'],
      ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ]);
    expect(dnatChainRules(conf({ masqAll: true }, one), V6)[0]).toEqual(['-p', 'tcp', '--dport', '8080', '-s', '::/0', '-j', 'CNI-HOSTPORT-SETMARK']);
  });

  it('generates the mark chains (bit 5 -> 0x20/0x20, bit 13 -> 0x2000/0x2000, bit 31)', () => {
    expect(markDef(5)).toBe('0x20/0x20');
    expect(markDef(13)).toBe('0x2000/0x2000');
    expect(markDef(31)).toBe('0x80000000/0x80000000');
    expect(markDef(0)).toBe('0x1/0x1');
    expect(setMarkRule(5)).toEqual(['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', '0x20/0x20']);
    expect(masqRule(5)).toEqual(['-m', 'mark', '--mark', '0x20/0x20', '-j', 'MASQUERADE']);
    expect(masqEntryRule()).toEqual(['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', 'CNI-HOSTPORT-MASQ']);
  });

  it('prints a hostIP in Go form (an IPv4-mapped spelling is an IPv4 address)', () => {
    const c = conf({ snat: false }, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '::ffff:192.168.0.9' }]);
    expect(dnatChainRules(c, V4)).toEqual([['-p', 'tcp', '--dport', '8080', '-d', '192.168.0.9', '-j', 'DNAT', '--to-destination', '10.0.0.2:80']]);
    expect(dnatChainRules(c, V6)).toEqual([]);
    expect(nftSetupCommands({ ...c, backend: 'nftables' }, 'x', V4, []).filter((l) => l.includes(' hostports '))).toEqual([
      'add rule ip cni_hostport hostports ip daddr 192.168.0.9 tcp dport 8080 dnat to 10.0.0.2:80 comment "x"',
    ]);
  });

  it('splits multiport lists at 15 ports and trims long comments to 255 bytes', () => {
    const many = Array.from({ length: 17 }, (_, i) => ({ hostPort: 9000 + i, containerPort: 80, protocol: 'tcp' as const, hostIP: '' }));
    expect(multiportGroups(many).map((g) => g.ports.split(',').length)).toEqual([15, 2]);
    const long = dnatComment('n'.repeat(300), 'c');
    expect(long).toHaveLength(256);
    expect(long.endsWith('...')).toBe(true);
  });
});

// What iptables-save prints after the reference's ADD (captured from Debian's 1.1.1 portmap).
const SAVED_AFTER_ADD = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-DN-2a5d55b1904717023b0ef - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-HOSTPORT-MASQ - [0:0]
:CNI-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A CNI-DN-2a5d55b1904717023b0ef -s 10.31.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-2a5d55b1904717023b0ef -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-2a5d55b1904717023b0ef -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.31.0.2:80
-A CNI-DN-2a5d55b1904717023b0ef -s 10.31.0.0/24 -d 192.168.0.2/32 -p udp -m udp --dport 8083 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-2a5d55b1904717023b0ef -s 127.0.0.1/32 -d 192.168.0.2/32 -p udp -m udp --dport 8083 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-2a5d55b1904717023b0ef -d 192.168.0.2/32 -p udp -m udp --dport 8083 -j DNAT --to-destination 10.31.0.2:83
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"test\\" id: \\"abc\\"" -m multiport --dports 8080,8085 -j CNI-DN-2a5d55b1904717023b0ef
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"test\\" id: \\"abc\\"" -m multiport --dports 8083 -j CNI-DN-2a5d55b1904717023b0ef
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
COMMIT
`;
const THREE = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8083, containerPort: 83, protocol: 'udp', hostIP: '192.168.0.2' },
  { hostPort: 8085, containerPort: 85, protocol: 'tcp', hostIP: '2001:db8:a::1' },
];

describe('iptables restore lines', () => {
  const c = conf({}, THREE);
  const plan = iptablesPlan(c, 'abc', net('10.31.0.2/24'));
  const empty = parseSavedTable('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n', 'nat');

  it('creates every chain and rule on an empty table, the MASQ jump at POSTROUTING position 1', () => {
    expect(plan.dnatChain).toBe('CNI-DN-2a5d55b1904717023b0ef');
    expect(iptablesSetupLines(empty, plan)).toEqual([
      '-N CNI-HOSTPORT-SETMARK',
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
      '-N CNI-HOSTPORT-MASQ',
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      '-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      '-N CNI-HOSTPORT-DNAT',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      ':CNI-DN-2a5d55b1904717023b0ef - [0:0]',
      '-A CNI-DN-2a5d55b1904717023b0ef -p tcp --dport 8080 -s 10.31.0.2/24 -j CNI-HOSTPORT-SETMARK',
      '-A CNI-DN-2a5d55b1904717023b0ef -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK',
      '-A CNI-DN-2a5d55b1904717023b0ef -p tcp --dport 8080 -j DNAT --to-destination 10.31.0.2:80',
      '-A CNI-DN-2a5d55b1904717023b0ef -p udp --dport 8083 -d 192.168.0.2 -s 10.31.0.2/24 -j CNI-HOSTPORT-SETMARK',
      '-A CNI-DN-2a5d55b1904717023b0ef -p udp --dport 8083 -d 192.168.0.2 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK',
      '-A CNI-DN-2a5d55b1904717023b0ef -p udp --dport 8083 -d 192.168.0.2 -j DNAT --to-destination 10.31.0.2:83',
      '-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"test\\" id: \\"abc\\"" -m multiport -p tcp --destination-ports 8080,8085 -j CNI-DN-2a5d55b1904717023b0ef',
      '-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"test\\" id: \\"abc\\"" -m multiport -p udp --destination-ports 8083 -j CNI-DN-2a5d55b1904717023b0ef',
    ]);
  });

  it("over the reference's rules: shared rules are kept, the container's chain is rewritten", () => {
    const saved = parseSavedTable(SAVED_AFTER_ADD, 'nat');
    const lines = iptablesSetupLines(saved, plan);
    expect(lines.filter((l) => !l.includes('CNI-DN-'))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('-D '))).toHaveLength(2);
    expect(lines).toContain(':CNI-DN-2a5d55b1904717023b0ef - [0:0]');
  });

  it("CHECK accepts the reference's saved rules and names what is missing", () => {
    const saved = parseSavedTable(SAVED_AFTER_ADD, 'nat');
    expect(iptablesCheck(saved, plan)).toBeUndefined();
    const without = parseSavedTable(SAVED_AFTER_ADD.replace(/^-A CNI-DN-\S+ -s 127.0.0.1\/32 -p tcp.*\n/m, ''), 'nat');
    expect(iptablesCheck(without, plan)).toMatch(/^rule -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK in chain CNI-DN-/);
    expect(iptablesCheck(empty, plan)).toBe('chain CNI-DN-2a5d55b1904717023b0ef not found in iptables table nat');
    // Other ports, other rules.
    expect(iptablesCheck(saved, iptablesPlan(conf({}, [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }]), 'abc', net('10.31.0.2/24')))).toBeDefined();
  });

  it('compares rule fields independent of the iptables-save spelling', () => {
    expect(ruleFields(['-p', 'tcp', '--dport', '8080', '-s', '10.31.0.2/24', '-j', 'X'])).toBe(
      ruleFields(['-s', '10.31.0.0/24', '-p', 'tcp', '-m', 'tcp', '--dport', '8080', '-j', 'X']),
    );
    expect(ruleFields(['-p', 'tcp', '-s', '0.0.0.0/0', '-j', 'X'])).toBe(ruleFields(['-p', 'tcp', '-j', 'X']));
  });

  it('tears down the container chain, its jumps and the legacy SNAT chain, leaving shared chains', () => {
    const saved = parseSavedTable(SAVED_AFTER_ADD, 'nat');
    const lines = iptablesTeardownLines(saved, 'test', 'abc');
    expect(lines).toEqual([
      '-D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"test\\" id: \\"abc\\"" -m multiport --dports 8080,8085 -j CNI-DN-2a5d55b1904717023b0ef',
      '-D CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"test\\" id: \\"abc\\"" -m multiport --dports 8083 -j CNI-DN-2a5d55b1904717023b0ef',
      '-F CNI-DN-2a5d55b1904717023b0ef',
      '-X CNI-DN-2a5d55b1904717023b0ef',
    ]);
    expect(iptablesTeardownLines(saved, 'other', 'abc')).toEqual([]);
  });

  it('also removes the CNI-SN- chain of old reference versions and its jump from CNI-HOSTPORT-SNAT', () => {
    const sn = oldSnatChainName('test', 'abc');
    expect(sn).toMatch(/^CNI-SN-[0-9a-f]{21}$/);
    const legacy = parseSavedTable(`*nat\n:CNI-HOSTPORT-SNAT - [0:0]\n:${sn} - [0:0]\n-A CNI-HOSTPORT-SNAT -m comment --comment "snat name: \\"test\\" id: \\"abc\\"" -s 10.31.0.2/32 -j ${sn}\n-A ${sn} -s 127.0.0.1/32 -d 10.31.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE\nCOMMIT\n`, 'nat');
    expect(iptablesTeardownLines(legacy, 'test', 'abc')).toEqual([
      `-D CNI-HOSTPORT-SNAT -m comment --comment "snat name: \\"test\\" id: \\"abc\\"" -s 10.31.0.2/32 -j ${sn}`,
      `-F ${sn}`,
      `-X ${sn}`,
    ]);
  });

  it('finds the containers of one network from the dnat comments (for GC)', () => {
    const saved = parseSavedTable(SAVED_AFTER_ADD, 'nat');
    expect(containersWithChains(saved, 'test')).toEqual(['abc']);
    expect(containersWithChains(saved, 'tes')).toEqual([]);
  });
});

describe('nftables commands (reference portmap_nftables_test.go)', () => {
  const none: HostportRule[] = [];
  const cid = 'icee6giejonei6so';
  const rulesOf = (cmds: string[]): string[] => cmds.filter((l) => l.startsWith('add rule')).sort();

  it('generates the IPv4 rules with snat and conditions', () => {
    const c = conf({ backend: 'nftables', snat: true, conditionsV4: ['a', 'b'], conditionsV6: ['c', 'd'] });
    const cmds = nftSetupCommands(c, cid, V4, none);
    expect(cmds.filter((l) => !l.startsWith('add rule'))).toEqual([
      'add table ip cni_hostport { comment "CNI portmap plugin" ; }',
      'add chain ip cni_hostport hostports',
      'add chain ip cni_hostport hostip_hostports',
      'add chain ip cni_hostport hostports_all',
      'flush chain ip cni_hostport hostports_all',
      'add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }',
      'flush chain ip cni_hostport prerouting',
      'add chain ip cni_hostport output { type nat hook output priority -100 ; }',
      'flush chain ip cni_hostport output',
      'add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }',
    ]);
    expect(rulesOf(cmds)).toEqual([
      `add rule ip cni_hostport hostports ip daddr 192.168.0.2 tcp dport 8083 dnat to 10.0.0.2:83 comment "${cid}"`,
      `add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.0.0.2:80 comment "${cid}"`,
      `add rule ip cni_hostport hostports tcp dport 8081 dnat to 10.0.0.2:80 comment "${cid}"`,
      `add rule ip cni_hostport hostports tcp dport 8084 dnat to 10.0.0.2:84 comment "${cid}"`,
      `add rule ip cni_hostport hostports udp dport 8080 dnat to 10.0.0.2:81 comment "${cid}"`,
      `add rule ip cni_hostport hostports udp dport 8082 dnat to 10.0.0.2:82 comment "${cid}"`,
      'add rule ip cni_hostport hostports_all jump hostip_hostports',
      'add rule ip cni_hostport hostports_all jump hostports',
      `add rule ip cni_hostport masquerading ip saddr 10.0.0.2 ip daddr 10.0.0.2 masquerade comment "${cid}"`,
      `add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.0.0.2 masquerade comment "${cid}"`,
      'add rule ip cni_hostport output a b fib daddr type local jump hostports_all',
      'add rule ip cni_hostport prerouting a b fib daddr type local jump hostports_all',
    ]);
  });

  it('generates the IPv6 rules without snat', () => {
    const c = conf({ backend: 'nftables', snat: false, conditionsV4: ['a', 'b'], conditionsV6: ['c', 'd'] });
    const cmds = nftSetupCommands(c, cid, V6, none);
    expect(cmds.some((l) => l.includes('masquerading'))).toBe(false);
    expect(rulesOf(cmds)).toEqual([
      `add rule ip6 cni_hostport hostports ip6 daddr 2001:db8:a::1 tcp dport 8085 dnat to [2001:db8::2]:85 comment "${cid}"`,
      `add rule ip6 cni_hostport hostports tcp dport 8080 dnat to [2001:db8::2]:80 comment "${cid}"`,
      `add rule ip6 cni_hostport hostports tcp dport 8081 dnat to [2001:db8::2]:80 comment "${cid}"`,
      `add rule ip6 cni_hostport hostports tcp dport 8086 dnat to [2001:db8::2]:86 comment "${cid}"`,
      `add rule ip6 cni_hostport hostports udp dport 8080 dnat to [2001:db8::2]:81 comment "${cid}"`,
      `add rule ip6 cni_hostport hostports udp dport 8082 dnat to [2001:db8::2]:82 comment "${cid}"`,
      'add rule ip6 cni_hostport hostports_all jump hostip_hostports',
      'add rule ip6 cni_hostport hostports_all jump hostports',
      'add rule ip6 cni_hostport output c d fib daddr type local jump hostports_all',
      'add rule ip6 cni_hostport prerouting c d fib daddr type local jump hostports_all',
    ]);
  });

  it('masqAll: one masquerade rule from any source, per family', () => {
    const one = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
    const masq = (ip: IPNet, masqAll: boolean) =>
      nftSetupCommands(conf({ backend: 'nftables', masqAll }, one), cid, ip, none).filter((l) => l.includes(' masquerading ') && l.startsWith('add rule'));
    expect(masq(V4, true)).toEqual([`add rule ip cni_hostport masquerading ip saddr 0.0.0.0/0 ip daddr 10.0.0.2 masquerade comment "${cid}"`]);
    expect(masq(V6, true)).toEqual([`add rule ip6 cni_hostport masquerading ip6 saddr ::/0 ip6 daddr 2001:db8::2 masquerade comment "${cid}"`]);
    expect(masq(V4, false)).toHaveLength(2);
    expect(masq(V6, false)).toEqual([`add rule ip6 cni_hostport masquerading ip6 saddr 2001:db8::2 ip6 daddr 2001:db8::2 masquerade comment "${cid}"`]);
  });

  it('deletes the earlier rules of the same container (re-ADD) and DEL finds rules by comment', () => {
    const dnatTo = (ip: string) => JSON.stringify([{ dnat: { addr: ip, port: 80 } }]);
    const rules: HostportRule[] = [
      { family: 'ip', chain: 'hostports', handle: 7, comment: cid, expr: dnatTo('10.0.0.2') },
      { family: 'ip', chain: 'hostip_hostports', handle: 8, comment: cid, expr: dnatTo('10.0.0.2') },
      { family: 'ip', chain: 'masquerading', handle: 9, comment: cid, expr: JSON.stringify([{ match: { right: '10.0.0.2' } }, { masquerade: null }]) },
      { family: 'ip', chain: 'hostports', handle: 10, comment: 'other', expr: dnatTo('10.0.0.2') },
      { family: 'ip', chain: 'prerouting', handle: 11, comment: undefined, expr: '[]' },
      // The same container in another network (another address): not this attachment's rule.
      { family: 'ip', chain: 'hostports', handle: 12, comment: cid, expr: dnatTo('10.0.0.22') },
    ];
    const dels = [
      'delete rule ip cni_hostport hostports handle 7',
      'delete rule ip cni_hostport hostip_hostports handle 8',
      'delete rule ip cni_hostport masquerading handle 9',
    ];
    // Without a record: every rule with the container ID, as the reference's DEL.
    expect(nftDeleteContainerRules(rules, 4, cid)).toEqual([...dels, 'delete rule ip cni_hostport hostports handle 12']);
    expect(nftDeleteContainerRules(rules, 4, cid, ['10.0.0.2'])).toEqual(dels);
    expect(nftDeleteContainerRules(rules, 6, cid)).toEqual([]);
    expect(nftSetupCommands(conf({ backend: 'nftables' }), cid, V4, rules).filter((l) => l.startsWith('delete'))).toEqual(dels);
  });

  it('reads rules from `nft -j list table` output', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'ip', name: 'cni_hostport', handle: 3 } },
        { rule: { family: 'ip', table: 'cni_hostport', chain: 'hostports', handle: 4, comment: cid, expr: [{ dnat: { addr: '10.0.0.2', port: 80 } }] } },
        { rule: { family: 'ip', table: 'other', chain: 'x', handle: 5, expr: [] } },
      ],
    });
    expect(parseHostportRules(json)).toEqual([{ family: 'ip', chain: 'hostports', handle: 4, comment: cid, expr: '[{"dnat":{"addr":"10.0.0.2","port":80}}]' }]);
    expect(parseHostportRules('')).toEqual([]);
  });

  it('CHECK counts the rules carrying the container ID as the reference', () => {
    const c = conf({ backend: 'nftables' });
    const rule = (chain: string, handle: number): HostportRule => ({ family: 'ip', chain, handle, comment: cid, expr: '[]' });
    expect(nftCheck(c, cid, V4, [])).toBe('missing hostport rules in "hostports" chain');
    const hostports = [1, 2, 3, 4, 5, 6].map((h) => rule('hostports', h));
    expect(nftCheck(c, cid, V4, hostports)).toBe('missing hostport rules in "masquerading" chain');
    expect(nftCheck(c, cid, V4, [...hostports, rule('masquerading', 7), rule('masquerading', 8)])).toBeUndefined();
    expect(nftCheck(conf({ backend: 'nftables', snat: false }), cid, V4, hostports)).toBeUndefined();
  });
});
