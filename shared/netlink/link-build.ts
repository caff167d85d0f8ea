// RTM_NEWLINK message builders, one per link kind. Pure: namespaces arrive as already-open fds,
// so the bytes can be unit-tested without a kernel.
import {
  AF_UNSPEC, IFF_UP, IFINFOMSG_LEN, IFLA_ADDRESS, IFLA_BR_VLAN_DEFAULT_PVID, IFLA_BR_VLAN_FILTERING, IFLA_IFNAME,
  IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_IPVLAN_FLAGS, IFLA_IPVLAN_MODE, IFLA_LINK, IFLA_LINKINFO,
  IFLA_MACVLAN_BC_QUEUE_LEN, IFLA_MACVLAN_MODE, IFLA_MTU, IFLA_NET_NS_FD, IFLA_TXQLEN, IFLA_VLAN_ID, IFLA_VLAN_PROTOCOL, NLM_F_CREATE,
  NLM_F_EXCL, RTM_NEWLINK,
} from './constants.js';
import { parseMac } from './ipaddr.js';
import {
  type BridgeOptions, type CommonLinkOptions, type DummyOptions, type IfbOptions, IPVLAN_FLAGS, IPVLAN_MODES, type IpvlanOptions,
  MACVLAN_MODES, type MacvlanOptions, type VethOptions, type VlanOptions, type VrfOptions,
} from './link-types.js';
import { MessageBuilder } from './message.js';

/** struct ifinfomsg: family, pad, type, index, flags, change. */
export function ifinfomsg(family: number, index = 0, flags = 0, change = 0): Uint8Array {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

const IFNAMSIZ = 16;

/** Rejects names the kernel would refuse, with a clearer message than EINVAL. */
export function checkIfName(name: string): void {
  const n = Buffer.byteLength(name);
  if (n === 0 || n >= IFNAMSIZ || name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw new TypeError(`invalid interface name "${name}"`);
  }
}

function common(b: MessageBuilder, o: CommonLinkOptions): void {
  checkIfName(o.name);
  b.str(IFLA_IFNAME, o.name);
  if (o.mtu !== undefined) b.u32(IFLA_MTU, o.mtu);
  if (o.mac !== undefined) b.bytes(IFLA_ADDRESS, parseMac(o.mac));
  if (o.txQLen !== undefined) b.u32(IFLA_TXQLEN, o.txQLen);
}

/**
 * A create request: ifinfomsg, common attributes, optional lower link and target netns, then
 * IFLA_LINKINFO {kind, data}. `data` fills IFLA_INFO_DATA (omitted when undefined).
 */
export function newLinkMessage(
  kind: string,
  o: CommonLinkOptions,
  extra: { linkIndex?: number; netnsFd?: number; data?: (b: MessageBuilder) => void; flags?: number } = {},
): MessageBuilder {
  const flags = extra.flags ?? 0;
  const b = new MessageBuilder(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 256).fixed(ifinfomsg(AF_UNSPEC, 0, flags, flags));
  common(b, o);
  if (extra.linkIndex !== undefined) b.u32(IFLA_LINK, extra.linkIndex);
  if (extra.netnsFd !== undefined) b.u32(IFLA_NET_NS_FD, extra.netnsFd);
  b.nest(IFLA_LINKINFO, () => {
    b.str(IFLA_INFO_KIND, kind);
    if (extra.data) b.nest(IFLA_INFO_DATA, extra.data);
  });
  return b;
}

const VETH_INFO_PEER = 1;

/** A veth pair; the peer (a nested ifinfomsg + attributes) may be created directly in another netns. */
export function buildVeth(o: VethOptions, peerNetnsFd?: number): MessageBuilder {
  return newLinkMessage('veth', o, {
    data: (b) =>
      b.nest(VETH_INFO_PEER, () => {
        b.fixed(ifinfomsg(AF_UNSPEC));
        common(b, { name: o.peerName, mtu: o.peerMtu ?? o.mtu, mac: o.peerMac, txQLen: o.txQLen });
        if (peerNetnsFd !== undefined) b.u32(IFLA_NET_NS_FD, peerNetnsFd);
      }),
  });
}

export function buildBridge(o: BridgeOptions): MessageBuilder {
  const hasData = o.vlanFiltering !== undefined || o.vlanDefaultPvid !== undefined;
  return newLinkMessage('bridge', o, {
    data: hasData
      ? (b) => {
          if (o.vlanFiltering !== undefined) b.u8(IFLA_BR_VLAN_FILTERING, o.vlanFiltering ? 1 : 0);
          if (o.vlanDefaultPvid !== undefined) b.u16(IFLA_BR_VLAN_DEFAULT_PVID, o.vlanDefaultPvid);
        }
      : undefined,
  });
}

export function buildMacvlan(o: MacvlanOptions, netnsFd?: number): MessageBuilder {
  const mode = MACVLAN_MODES[o.mode];
  if (mode === undefined) throw new TypeError(`unknown macvlan mode "${o.mode}"`);
  return newLinkMessage('macvlan', o, {
    linkIndex: o.masterIndex,
    netnsFd,
    data: (b) => {
      b.u32(IFLA_MACVLAN_MODE, mode);
      if (o.bcQueueLen !== undefined) b.u32(IFLA_MACVLAN_BC_QUEUE_LEN, o.bcQueueLen);
    },
  });
}

export function buildIpvlan(o: IpvlanOptions, netnsFd?: number): MessageBuilder {
  const mode = IPVLAN_MODES[o.mode];
  if (mode === undefined) throw new TypeError(`unknown ipvlan mode "${o.mode}"`);
  const flag = IPVLAN_FLAGS[o.flag ?? 'bridge'];
  return newLinkMessage('ipvlan', o, {
    linkIndex: o.masterIndex,
    netnsFd,
    data: (b) => b.u16(IFLA_IPVLAN_MODE, mode).u16(IFLA_IPVLAN_FLAGS, flag),
  });
}

export function buildVlan(o: VlanOptions, netnsFd?: number): MessageBuilder {
  if (!Number.isInteger(o.vlanId) || o.vlanId < 0 || o.vlanId > 4094) throw new TypeError(`invalid VLAN id ${o.vlanId}`);
  return newLinkMessage('vlan', o, {
    linkIndex: o.masterIndex,
    netnsFd,
    data: (b) => {
      b.u16(IFLA_VLAN_ID, o.vlanId);
      if (o.protocol !== undefined) b.be16(IFLA_VLAN_PROTOCOL, o.protocol);
    },
  });
}

export function buildDummy(o: DummyOptions, netnsFd?: number): MessageBuilder {
  return newLinkMessage('dummy', o, { netnsFd });
}

/** IFLA_VRF_TABLE inside IFLA_INFO_DATA of kind "vrf" (linux/if_link.h). */
export const IFLA_VRF_TABLE = 1;

/** A VRF device bound to routing table `table` (the bytes of `ip link add NAME type vrf table N`). */
export function buildVrf(o: VrfOptions): MessageBuilder {
  if (!Number.isInteger(o.table) || o.table < 1 || o.table > 0xffffffff) throw new TypeError(`invalid VRF table ${o.table}`);
  return newLinkMessage('vrf', o, { data: (b) => b.u32(IFLA_VRF_TABLE, o.table) });
}

/** An ifb (intermediate functional block) device; `up` sets IFF_UP in the create request itself. */
export function buildIfb(o: IfbOptions): MessageBuilder {
  return newLinkMessage('ifb', o, o.up ? { flags: IFF_UP } : {});
}
