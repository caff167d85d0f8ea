// Reply decoders on synthetic kernel messages, plus address text helpers and sysctl paths.
import { describe, expect, it } from 'vitest';
import { ifaddrmsg, parseAddress } from '../../../shared/netlink/addresses.js';
import * as C from '../../../shared/netlink/constants.js';
import { formatIP, ipToBytes, mustParsePrefix, netOf, networkOf, parseIP } from '../../../shared/ip/index.js';
import { formatMac, parseMac } from '../../../shared/netlink/ipaddr.js';
import { ifinfomsg } from '../../../shared/netlink/link-build.js';
import { parseLink } from '../../../shared/netlink/link-parse.js';
import { MessageBuilder, type NlMsg, splitMessages } from '../../../shared/netlink/message.js';
import { ndmsg, parseNeighbor } from '../../../shared/netlink/neighbors.js';
import { parseRoutes, rtmsg } from '../../../shared/netlink/routes.js';
import { sysctlPath } from '../../../shared/netlink/sysctl.js';

const bytesOf = (s: string): Uint8Array => ipToBytes(parseIP(s)!);

const asReply = (b: MessageBuilder): NlMsg => {
  const buf = b.finish(1);
  return splitMessages(buf, buf.length)[0]!;
};

describe('parseLink', () => {
  it('decodes a veth port of a bridge with hairpin set', () => {
    const b = new MessageBuilder(C.RTM_NEWLINK, 0).fixed(ifinfomsg(0, 6, C.IFF_UP | C.IFF_PROMISC));
    b.str(C.IFLA_IFNAME, 'veth0').u32(C.IFLA_MTU, 1500).bytes(C.IFLA_ADDRESS, Buffer.from('0a580a000001', 'hex'));
    b.u32(C.IFLA_MASTER, 3).u32(C.IFLA_LINK, 2).s32(C.IFLA_LINK_NETNSID, 0).u8(C.IFLA_OPERSTATE, 6);
    b.u32(C.IFLA_TXQLEN, 1000).u32(C.IFLA_PROMISCUITY, 1).rawStr(C.IFLA_IFALIAS, 'hello');
    b.nest(C.IFLA_LINKINFO, () => {
      b.str(C.IFLA_INFO_KIND, 'veth').str(C.IFLA_INFO_SLAVE_KIND, 'bridge');
      b.nest(C.IFLA_INFO_SLAVE_DATA, () => b.u8(C.IFLA_BRPORT_MODE, 1).u8(C.IFLA_BRPORT_ISOLATED, 0).u8(C.IFLA_BRPORT_STATE, 3));
    });
    const buf = b.finish(1);
    buf.writeUInt16LE(1, 16 + 2); // ARPHRD_ETHER
    const link = parseLink(splitMessages(buf, buf.length)[0]!);
    expect(link).toEqual({
      index: 6, name: 'veth0', hwType: 1, mtu: 1500, up: true, flags: C.IFF_UP | C.IFF_PROMISC, operstate: 'up',
      txQLen: 1000, promisc: true, promiscuity: 1, mac: '0a:58:0a:00:00:01', masterIndex: 3, linkIndex: 2,
      linkNetnsId: 0, alias: 'hello', kind: 'veth', slaveKind: 'bridge',
      bridgePort: { hairpin: true, isolated: false, state: 3 },
    });
  });

  it('decodes macvlan, vlan and bridge kind data', () => {
    const kindMsg = (kind: string, fill: (b: MessageBuilder) => void): NlMsg => {
      const b = new MessageBuilder(C.RTM_NEWLINK, 0).fixed(ifinfomsg(0, 9)).str(C.IFLA_IFNAME, 'x');
      b.nest(C.IFLA_LINKINFO, () => b.str(C.IFLA_INFO_KIND, kind).nest(C.IFLA_INFO_DATA, fill));
      return asReply(b);
    };
    expect(parseLink(kindMsg('macvlan', (b) => b.u32(C.IFLA_MACVLAN_MODE, 4)))?.macvlanMode).toBe('bridge');
    expect(parseLink(kindMsg('vlan', (b) => b.u16(C.IFLA_VLAN_ID, 42)))?.vlanId).toBe(42);
    expect(parseLink(kindMsg('ipvlan', (b) => b.u16(C.IFLA_IPVLAN_MODE, 1)))?.ipvlanMode).toBe('l3');
    expect(parseLink(kindMsg('bridge', (b) => b.u8(C.IFLA_BR_VLAN_FILTERING, 1).u16(C.IFLA_BR_VLAN_DEFAULT_PVID, 1)))?.bridge)
      .toEqual({ vlanFiltering: true, vlanDefaultPvid: 1 });
  });

  it('ignores other message types', () => {
    expect(parseLink(asReply(new MessageBuilder(C.RTM_NEWADDR, 0).fixed(ifinfomsg(0, 1))))).toBeUndefined();
  });
});

describe('parseAddress', () => {
  it('prefers IFA_FLAGS over the header byte and reports a peer', () => {
    const b = new MessageBuilder(C.RTM_NEWADDR, 0).fixed(ifaddrmsg(C.AF_INET6, 64, 0x80, 0, 4));
    b.bytes(C.IFA_ADDRESS, bytesOf('fd01::9')).bytes(C.IFA_LOCAL, bytesOf('fd01::5'));
    b.u32(C.IFA_FLAGS, C.IFA_F_PERMANENT | C.IFA_F_TENTATIVE | C.IFA_F_NOPREFIXROUTE);
    const a = parseAddress(asReply(b))!;
    expect(a).toMatchObject({ ifindex: 4, family: 6, address: 'fd01::5/64', ip: 'fd01::5', prefixLen: 64, peer: 'fd01::9' });
    expect(a.flags).toMatchObject({ permanent: true, tentative: true, noprefixroute: true, nodad: false, dadfailed: false });
  });
});

describe('parseRoutes', () => {
  it('flattens RTA_MULTIPATH into one entry per next hop', () => {
    const b = new MessageBuilder(C.RTM_NEWROUTE, 0).fixed(rtmsg(C.AF_INET6, 64, 254, 3, 0, 1));
    b.bytes(C.RTA_DST, bytesOf('fd99::')).u32(C.RTA_PRIORITY, 1024).u32(C.RTA_TABLE, 254);
    const hop = (ifindex: number, gw: string, hops: number): Buffer => {
      const gwAttr = new MessageBuilder(0, 0).bytes(C.RTA_GATEWAY, bytesOf(gw)).finish(0).subarray(16);
      const h = Buffer.alloc(8);
      h.writeUInt16LE(8 + gwAttr.length, 0);
      h.writeUInt8(hops, 3);
      h.writeInt32LE(ifindex, 4);
      return Buffer.concat([h, gwAttr]);
    };
    b.bytes(C.RTA_MULTIPATH, Buffer.concat([hop(2, 'fd77::1', 0), hop(3, 'fd77::3', 4)]));
    const rs = parseRoutes(asReply(b))!;
    expect(rs).toHaveLength(2);
    expect(rs.map((r) => [r.dst, r.gw, r.ifindex, r.multipath?.weight, r.priority])).toEqual([
      ['fd99::/64', 'fd77::1', 2, 1, 1024],
      ['fd99::/64', 'fd77::3', 3, 5, 1024],
    ]);
  });

  it('names a default route 0.0.0.0/0 and reads tables from RTA_TABLE', () => {
    const b = new MessageBuilder(C.RTM_NEWROUTE, 0).fixed(rtmsg(C.AF_INET, 0, 0, 4, 0, 1));
    b.u32(C.RTA_TABLE, 5000).bytes(C.RTA_GATEWAY, bytesOf('10.0.0.1')).u32(C.RTA_OIF, 2);
    expect(parseRoutes(asReply(b))).toEqual([
      { family: 4, dst: '0.0.0.0/0', gw: '10.0.0.1', ifindex: 2, scope: 0, table: 5000, priority: 0, protocol: 4, type: 1, flags: 0 },
    ]);
  });
});

describe('parseNeighbor', () => {
  it('decodes ip, mac and state', () => {
    const b = new MessageBuilder(C.RTM_NEWNEIGH, 0).fixed(ndmsg(C.AF_INET, 5, C.NUD_PERMANENT));
    b.bytes(C.NDA_DST, bytesOf('10.4.0.9')).bytes(C.NDA_LLADDR, parseMac('02:00:00:00:00:09'));
    expect(parseNeighbor(asReply(b))).toEqual({ ifindex: 5, family: 4, ip: '10.4.0.9', mac: '02:00:00:00:00:09', state: 0x80, flags: 0 });
  });
});

describe('ip text helpers', () => {
  it('formats IPv6 per RFC 5952', () => {
    const f = (s: string): string => formatIP(parseIP(s)!);
    expect(f('fd00:0:0:0:0:0:0:1')).toBe('fd00::1');
    expect(f('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(f('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(f('::')).toBe('::');
    expect(f('::1')).toBe('::1');
    expect(f('FE80::A:B')).toBe('fe80::a:b');
    // Go's net.IP.String() prints an IPv4-mapped address dotted, and so do results and file names.
    expect(f('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(f('1:2:3:4:5:6:7::')).toBe('1:2:3:4:5:6:7:0');
  });

  it('rejects malformed addresses', () => {
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4x', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '']) {
      expect(parseIP(bad), bad).toBeUndefined();
    }
    expect(() => mustParsePrefix('10.0.0.1/33')).toThrowError(/CIDR/);
    expect(() => mustParsePrefix('fd00::/129')).toThrowError(/CIDR/);
  });

  it('parses CIDRs, masks prefixes and formats MACs', () => {
    expect(mustParsePrefix('10.1.2.3')).toMatchObject({ ip: { family: 4 }, prefix: 32 });
    expect(formatIP(networkOf(mustParsePrefix('10.1.2.3/20')))).toBe('10.1.0.0');
    expect(formatIP(networkOf(netOf(parseIP('fd12:3456::1')!, 17)))).toBe('fd12::');
    expect(formatIP(networkOf(netOf(parseIP('fd12:b456::1')!, 17)))).toBe('fd12:8000::');
    expect(formatMac(parseMac('0A-58-0A-F4-00-02'))).toBe('0a:58:0a:f4:00:02');
    expect(() => parseMac('0a:58:0a')).toThrowError(/MAC/);
  });
});

describe('sysctlPath', () => {
  it('follows the dot/slash convention and keeps path parts verbatim', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('net.ipv4.conf.eth0/100.arp_notify')).toBe('/proc/sys/net/ipv4/conf/eth0.100/arp_notify');
    expect(sysctlPath('net/ipv4/conf/eth0.100/arp_notify')).toBe('/proc/sys/net/ipv4/conf/eth0.100/arp_notify');
    expect(sysctlPath(['net', 'ipv6', 'conf', 'eth0.100', 'accept_ra'])).toBe('/proc/sys/net/ipv6/conf/eth0.100/accept_ra');
    expect(() => sysctlPath(['net', '..', 'x'])).toThrowError();
    expect(() => sysctlPath('net/../../etc')).toThrowError();
  });
});
