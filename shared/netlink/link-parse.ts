// RTM_NEWLINK replies -> typed Link.
import {
  IFF_PROMISC, IFF_UP, IFLA_ADDRESS, IFLA_BR_STP_STATE, IFLA_BR_VLAN_DEFAULT_PVID, IFLA_BR_VLAN_FILTERING,
  IFLA_BRPORT_ISOLATED, IFLA_BRPORT_LEARNING, IFLA_BRPORT_MODE, IFLA_BRPORT_STATE, IFLA_BRPORT_UNICAST_FLOOD,
  IFLA_BROADCAST, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND, IFLA_IPVLAN_MODE, IFLA_LINK, IFLA_LINK_NETNSID, IFLA_LINKINFO, IFLA_MACVLAN_MODE,
  IFLA_MASTER, IFLA_MTU, IFLA_OPERSTATE, IFLA_PROMISCUITY, IFLA_PROTINFO, IFLA_TXQLEN, IFLA_VLAN_ID,
  IFINFOMSG_LEN, RTM_NEWLINK,
} from './constants.js';
import { formatMac } from './ipaddr.js';
import { IFLA_VRF_TABLE } from './link-build.js';
import {
  type Attrs, attrS32, attrString, attrU16, attrU32, attrU8, type NlMsg, parseAttrs, parseNested,
} from './message.js';
import {
  type BridgeInfo, type BridgePortInfo, IPVLAN_MODES, type IpvlanMode, type Link, MACVLAN_MODES, type MacvlanMode,
  OPER_STATES,
} from './link-types.js';

function byValue<K extends string>(table: Readonly<Record<K, number>>, v: number | undefined): K | undefined {
  if (v === undefined) return undefined;
  for (const k of Object.keys(table) as K[]) if (table[k] === v) return k;
  return undefined;
}

function bridgePort(a: Attrs): BridgePortInfo {
  const flag = (t: number): boolean | undefined => {
    const v = attrU8(a.get(t));
    return v === undefined ? undefined : v !== 0;
  };
  const port: BridgePortInfo = { hairpin: flag(IFLA_BRPORT_MODE) ?? false, isolated: flag(IFLA_BRPORT_ISOLATED) ?? false };
  const state = attrU8(a.get(IFLA_BRPORT_STATE));
  if (state !== undefined) port.state = state;
  const learning = flag(IFLA_BRPORT_LEARNING);
  if (learning !== undefined) port.learning = learning;
  const flood = flag(IFLA_BRPORT_UNICAST_FLOOD);
  if (flood !== undefined) port.unicastFlood = flood;
  return port;
}

function bridgeInfo(a: Attrs): BridgeInfo {
  const info: BridgeInfo = { vlanFiltering: (attrU8(a.get(IFLA_BR_VLAN_FILTERING)) ?? 0) !== 0 };
  const pvid = attrU16(a.get(IFLA_BR_VLAN_DEFAULT_PVID));
  if (pvid !== undefined) info.vlanDefaultPvid = pvid;
  const stp = attrU32(a.get(IFLA_BR_STP_STATE));
  if (stp !== undefined) info.stpState = stp;
  return info;
}

function applyLinkInfo(link: Link, info: Attrs): void {
  const kind = attrString(info.get(IFLA_INFO_KIND));
  if (kind) link.kind = kind;
  const slaveKind = attrString(info.get(IFLA_INFO_SLAVE_KIND));
  if (slaveKind) link.slaveKind = slaveKind;
  const dataRaw = info.get(IFLA_INFO_DATA);
  if (dataRaw) {
    const data = parseNested(dataRaw);
    if (kind === 'macvlan' || kind === 'macvtap') {
      const mode: MacvlanMode | undefined = byValue(MACVLAN_MODES, attrU32(data.get(IFLA_MACVLAN_MODE)));
      if (mode) link.macvlanMode = mode;
    } else if (kind === 'ipvlan' || kind === 'ipvtap') {
      const mode: IpvlanMode | undefined = byValue(IPVLAN_MODES, attrU16(data.get(IFLA_IPVLAN_MODE)));
      if (mode) link.ipvlanMode = mode;
    } else if (kind === 'vlan') {
      const id = attrU16(data.get(IFLA_VLAN_ID));
      if (id !== undefined) link.vlanId = id;
    } else if (kind === 'bridge') {
      link.bridge = bridgeInfo(data);
    } else if (kind === 'vrf') {
      const table = attrU32(data.get(IFLA_VRF_TABLE));
      if (table !== undefined) link.vrfTable = table;
    }
  }
  const slaveData = info.get(IFLA_INFO_SLAVE_DATA);
  if (slaveData && slaveKind === 'bridge') link.bridgePort = bridgePort(parseNested(slaveData));
}

/** Decodes one RTM_NEWLINK message (from a get or a dump); other messages yield undefined. */
export function parseLink(m: NlMsg): Link | undefined {
  if (m.type !== RTM_NEWLINK || m.payload.length < IFINFOMSG_LEN) return undefined;
  const p = m.payload;
  const flags = p.readUInt32LE(8);
  const a = parseAttrs(p, IFINFOMSG_LEN);
  const mac = a.get(IFLA_ADDRESS);
  const brd = a.get(IFLA_BROADCAST);
  const link: Link = {
    index: p.readInt32LE(4),
    name: attrString(a.get(IFLA_IFNAME)) ?? '',
    hwType: p.readUInt16LE(2),
    mtu: attrU32(a.get(IFLA_MTU)) ?? 0,
    up: (flags & IFF_UP) !== 0,
    flags,
    operstate: OPER_STATES[attrU8(a.get(IFLA_OPERSTATE)) ?? 0] ?? 'unknown',
    txQLen: attrU32(a.get(IFLA_TXQLEN)) ?? 0,
    promisc: (flags & IFF_PROMISC) !== 0,
    promiscuity: attrU32(a.get(IFLA_PROMISCUITY)) ?? 0,
  };
  if (mac && mac.length > 0) link.mac = formatMac(mac);
  if (brd && brd.length > 0) link.broadcast = formatMac(brd);
  const master = attrU32(a.get(IFLA_MASTER));
  if (master) link.masterIndex = master;
  const lower = attrU32(a.get(IFLA_LINK));
  if (lower !== undefined) link.linkIndex = lower;
  const nsid = attrS32(a.get(IFLA_LINK_NETNSID));
  if (nsid !== undefined) link.linkNetnsId = nsid;
  const alias = attrString(a.get(IFLA_IFALIAS));
  if (alias) link.alias = alias;
  const info = a.get(IFLA_LINKINFO);
  if (info) applyLinkInfo(link, parseNested(info));
  // AF_BRIDGE dumps carry port settings in IFLA_PROTINFO instead of the slave data.
  const protinfo = a.get(IFLA_PROTINFO);
  if (protinfo && !link.bridgePort && protinfo.length > 1) link.bridgePort = bridgePort(parseNested(protinfo));
  return link;
}
