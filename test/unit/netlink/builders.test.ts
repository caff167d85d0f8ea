// Request bytes of the link, bridge, address, route and tun builders (kinds this kernel lacks included).
import { describe, expect, it } from 'vitest';
import { buildAddAddress, buildDeleteAddress } from '../../../shared/netlink/addresses.js';
import { buildBridgePortSettings, buildBridgeVlan } from '../../../shared/netlink/bridge.js';
import * as C from '../../../shared/netlink/constants.js';
import {
  buildBridge, buildDummy, buildIpvlan, buildMacvlan, buildVeth, buildVlan,
} from '../../../shared/netlink/link-build.js';
import { attrList, attrString, attrU16, attrU32, attrU8, parseAttrs, parseNested } from '../../../shared/netlink/message.js';
import { buildRoute } from '../../../shared/netlink/routes.js';
import { tunIfreq } from '../../../shared/netlink/tuntap.js';
import { linkRequest } from '../../helpers/link-request.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('link builders', () => {
  it('veth: peer ifinfomsg, name, mtu, mac and netns fd nested under VETH_INFO_PEER', () => {
    const msg = buildVeth({ name: 'eth0', peerName: 'veth1234abcd', mtu: 1400, mac: '0a:58:0a:00:00:02', peerMac: '02:00:00:00:00:01' }, 9).finish(1);
    const { a, info, data } = linkRequest(msg);
    expect(attrString(a.get(C.IFLA_IFNAME))).toBe('eth0');
    expect(attrU32(a.get(C.IFLA_MTU))).toBe(1400);
    expect(hex(a.get(C.IFLA_ADDRESS)!)).toBe('0a580a000002');
    expect(a.has(C.IFLA_NET_NS_FD)).toBe(false);
    expect(attrString(info.get(C.IFLA_INFO_KIND))).toBe('veth');
    const peer = data!.get(C.VETH_INFO_PEER)!;
    expect(hex(peer.subarray(0, 16))).toBe('00'.repeat(16));
    const pa = parseAttrs(peer, 16);
    expect(attrString(pa.get(C.IFLA_IFNAME))).toBe('veth1234abcd');
    expect(attrU32(pa.get(C.IFLA_MTU))).toBe(1400);
    expect(attrU32(pa.get(C.IFLA_NET_NS_FD))).toBe(9);
    expect(hex(pa.get(C.IFLA_ADDRESS)!)).toBe('020000000001');
  });

  it('bridge: vlan filtering and default pvid only when asked', () => {
    expect(linkRequest(buildBridge({ name: 'cni0' }).finish(1)).data).toBeUndefined();
    const { data } = linkRequest(buildBridge({ name: 'cni0', vlanFiltering: true, vlanDefaultPvid: 5 }).finish(1));
    expect(attrU8(data!.get(C.IFLA_BR_VLAN_FILTERING))).toBe(1);
    expect(attrU16(data!.get(C.IFLA_BR_VLAN_DEFAULT_PVID))).toBe(5);
  });

  it('macvlan: lower link, netns fd and mode', () => {
    const { a, data } = linkRequest(buildMacvlan({ name: 'mv0', masterIndex: 4, mode: 'passthru' }, 11).finish(1));
    expect(attrU32(a.get(C.IFLA_LINK))).toBe(4);
    expect(attrU32(a.get(C.IFLA_NET_NS_FD))).toBe(11);
    expect(attrU32(data!.get(C.IFLA_MACVLAN_MODE))).toBe(8);
    expect(data!.has(C.IFLA_MACVLAN_BC_QUEUE_LEN)).toBe(false);
  });

  it('macvlan: broadcast queue length after the mode, exact bytes; an explicit 0 is sent', () => {
    const tail = (bcQueueLen: number): string => {
      const msg = buildMacvlan({ name: 'mv0', masterIndex: 4, mode: 'private', bcQueueLen }).finish(1);
      return hex(attrList(msg, 16 + C.IFINFOMSG_LEN).find(([t]) => t === C.IFLA_LINKINFO)![1]);
    };
    // kind "macvlan\0" (4+8 -> 12), data nest { mode 1 (8), bc_queue_len u32 (8) } (4+16 -> 20)
    const kind = '0c000100' + hex(Buffer.from('macvlan\0'));
    expect(tail(321)).toBe(kind + '14000200' + '0800010001000000' + '0800070041010000');
    expect(tail(0)).toBe(kind + '14000200' + '0800010001000000' + '0800070000000000');
  });

  it('ipvlan: mode and flags as u16', () => {
    const { info, data } = linkRequest(buildIpvlan({ name: 'ipv0', masterIndex: 2, mode: 'l3s', flag: 'vepa' }).finish(1));
    expect(attrString(info.get(C.IFLA_INFO_KIND))).toBe('ipvlan');
    expect(hex(data!.get(C.IFLA_IPVLAN_MODE)!)).toBe('0200');
    expect(hex(data!.get(C.IFLA_IPVLAN_FLAGS)!)).toBe('0200');
  });

  it('vlan: id (host order) and protocol (network order), exact bytes', () => {
    const msg = buildVlan({ name: 'eth0.100', masterIndex: 3, vlanId: 100, protocol: 0x88a8 }).finish(5);
    const tail = attrList(msg, 16 + C.IFINFOMSG_LEN).find(([t]) => t === C.IFLA_LINKINFO)![1];
    // kind "vlan\0" (4+5 -> 12), data nest { id 100 (6 -> 8), protocol 0x88a8 big-endian (6 -> 8) }
    expect(hex(tail)).toBe('09000100' + hex(Buffer.from('vlan\0')) + '000000' + '14000200' + '0600010064000000' + '0600050088a80000');
    expect(() => buildVlan({ name: 'v', masterIndex: 1, vlanId: 4095 })).toThrowError(/VLAN id/);
  });

  it('dummy: kind only, optional netns', () => {
    const { a, info, data } = linkRequest(buildDummy({ name: 'dummy0' }, 12).finish(1));
    expect(attrString(info.get(C.IFLA_INFO_KIND))).toBe('dummy');
    expect(data).toBeUndefined();
    expect(attrU32(a.get(C.IFLA_NET_NS_FD))).toBe(12);
  });

  it('rejects bad names and MACs before building', () => {
    expect(() => buildBridge({ name: 'x'.repeat(16) })).toThrowError(/interface name/);
    expect(() => buildBridge({ name: 'br0', mac: '02:00:00' })).toThrowError(/MAC/);
  });
});

describe('bridge builders', () => {
  it('bridge VLAN entry: AF_BRIDGE setlink with IFLA_AF_SPEC{VLAN_INFO{PVID|UNTAGGED, vid}}, exact bytes', () => {
    const msg = buildBridgeVlan(5, 10, { pvid: true, untagged: true }).finish(0x01020304);
    expect(hex(msg)).toBe(
      '2c000000' + '1300' + '0000' + '04030201' + '00000000' + // nlmsghdr: len 44, RTM_SETLINK
        '07000000' + '05000000' + '00000000' + '00000000' + // ifinfomsg: AF_BRIDGE, index 5
        '0c001a80' + // IFLA_AF_SPEC | NLA_F_NESTED, len 12
        '08000200' + '0600' + '0a00', // IFLA_BRIDGE_VLAN_INFO {flags 6, vid 10}
    );
    const self = buildBridgeVlan(5, 10, { self: true }, true).finish(1);
    expect(self.readUInt16LE(4)).toBe(C.RTM_DELLINK);
    const spec = parseNested(parseAttrs(self, 32).get(C.IFLA_AF_SPEC)!);
    expect(attrU16(spec.get(C.IFLA_BRIDGE_FLAGS))).toBe(C.BRIDGE_FLAGS_SELF);
    expect(() => buildBridgeVlan(5, 0)).toThrowError(/VLAN id/);
  });

  it('port settings: IFLA_PROTINFO must carry NLA_F_NESTED', () => {
    const msg = buildBridgePortSettings(7, { hairpin: true, isolated: false }).finish(1);
    expect(msg.readUInt8(16)).toBe(C.AF_BRIDGE);
    expect(msg.readUInt16LE(32 + 2)).toBe(C.IFLA_PROTINFO | C.NLA_F_NESTED);
    const p = parseNested(parseAttrs(msg, 32).get(C.IFLA_PROTINFO)!);
    expect(attrU8(p.get(C.IFLA_BRPORT_MODE))).toBe(1);
    expect(attrU8(p.get(C.IFLA_BRPORT_ISOLATED))).toBe(0);
    expect(p.has(C.IFLA_BRPORT_LEARNING)).toBe(false);
  });
});

describe('address builders', () => {
  it('IPv4: local + address + computed broadcast; none for /31', () => {
    const msg = buildAddAddress(3, '10.1.2.3/24').finish(1);
    expect(hex(msg.subarray(16, 24))).toBe('0218000003000000');
    const a = parseAttrs(msg, 24);
    expect(hex(a.get(C.IFA_LOCAL)!)).toBe('0a010203');
    expect(hex(a.get(C.IFA_ADDRESS)!)).toBe('0a010203');
    expect(hex(a.get(C.IFA_BROADCAST)!)).toBe('0a0102ff');
    expect(parseAttrs(buildAddAddress(3, '10.1.2.3/31').finish(1), 24).has(C.IFA_BROADCAST)).toBe(false);
  });

  it('IPv6: nodad in the header byte, noprefixroute in IFA_FLAGS', () => {
    const msg = buildAddAddress(4, 'fd01::5/64', { noDad: true, noPrefixRoute: true }).finish(1);
    expect(msg.readUInt8(16)).toBe(C.AF_INET6);
    expect(msg.readUInt8(18)).toBe(C.IFA_F_NODAD);
    const a = parseAttrs(msg, 24);
    expect(attrU32(a.get(C.IFA_FLAGS))).toBe(C.IFA_F_NODAD | C.IFA_F_NOPREFIXROUTE);
    expect(a.has(C.IFA_BROADCAST)).toBe(false);
    expect(buildDeleteAddress(4, 'fd01::5/64').finish(1).readUInt16LE(4)).toBe(C.RTM_DELADDR);
  });
});

describe('route builders', () => {
  it('default route: no RTA_DST, main table in the header', () => {
    const msg = buildRoute({ dst: '0.0.0.0/0', gw: '10.0.0.1', ifindex: 2 }, 'add').finish(1);
    expect(msg.readUInt16LE(6)).toBe(C.NLM_F_CREATE | C.NLM_F_EXCL);
    expect(hex(msg.subarray(16, 28))).toBe('02000000' + 'fe' + '03' + '00' + '01' + '00000000');
    const a = parseAttrs(msg, 28);
    expect(a.has(C.RTA_DST)).toBe(false);
    expect(hex(a.get(C.RTA_GATEWAY)!)).toBe('0a000001');
    expect(attrU32(a.get(C.RTA_OIF))).toBe(2);
  });

  it('tables above 255 go in RTA_TABLE; host bits are cleared; metrics nest', () => {
    const msg = buildRoute({ dst: '10.9.8.7/16', table: 1000, mtu: 1400, priority: 10 }, 'append').finish(1);
    expect(msg.readUInt16LE(6)).toBe(C.NLM_F_CREATE | C.NLM_F_APPEND);
    expect(msg.readUInt8(16 + 4)).toBe(C.RT_TABLE_UNSPEC);
    const a = parseAttrs(msg, 28);
    expect(attrU32(a.get(C.RTA_TABLE))).toBe(1000);
    expect(hex(a.get(C.RTA_DST)!)).toBe('0a090000');
    expect(attrU32(a.get(C.RTA_PRIORITY))).toBe(10);
    expect(attrU32(parseNested(a.get(C.RTA_METRICS)!).get(C.RTAX_MTU))).toBe(1400);
  });

  it('delete leaves scope/protocol/type open; family mismatch is refused', () => {
    const msg = buildRoute({ dst: 'fd00:1::/64' }, 'delete').finish(1);
    expect(msg.readUInt16LE(4)).toBe(C.RTM_DELROUTE);
    expect(hex(msg.subarray(16, 28))).toBe('0a400000' + 'fe' + '00' + 'ff' + '00' + '00000000');
    expect(() => buildRoute({ dst: '10.0.0.0/8', gw: 'fd00::1' }, 'add')).toThrowError(/family/);
  });
});

describe('tun/tap ifreq', () => {
  it('puts the name and IFF_TAP|IFF_NO_PI flags where TUNSETIFF reads them', () => {
    const req = tunIfreq({ name: 'tap0', mode: 'tap', vnetHdr: true });
    expect(req.length).toBe(40);
    expect(req.toString('utf8', 0, 4)).toBe('tap0');
    expect(req.readUInt8(4)).toBe(0);
    expect(req.readUInt16LE(16)).toBe(0x0002 | 0x1000 | 0x4000);
    expect(tunIfreq({ name: 'tun0', mode: 'tun', noPi: false, multiQueue: true }).readUInt16LE(16)).toBe(0x0001 | 0x0100);
  });
});
