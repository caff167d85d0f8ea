// VXLAN devices and their forwarding database (the pieces an overlay agent such as flanneld's
// vxlan backend needs on top of links, routes and neighbours): RTM_NEWLINK of kind "vxlan", its
// IFLA_VXLAN_* settings read back, and AF_BRIDGE neighbour entries on the vxlan device (FDB:
// remote VTEP MAC -> remote public IP, NTF_SELF). Builders and parsers are pure; VxlanControl owns
// one NETLINK_ROUTE socket in the namespace current when it is opened (like TrafficControl).
import {
  AF_BRIDGE, AF_UNSPEC, IFINFOMSG_LEN, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_LINKINFO, NDA_DST, NDA_LLADDR, NDMSG_LEN,
  NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NUD_PERMANENT, RTM_DELNEIGH, RTM_GETLINK, RTM_GETNEIGH, RTM_NEWLINK,
  RTM_NEWNEIGH,
} from './constants.js';
import { formatIP, ipFromBytes, ipToBytes, mustParseIP } from '../ip/index.js';
import { formatMac, parseMac } from './ipaddr.js';
import { checkIfName, ifinfomsg, newLinkMessage } from './link-build.js';
import type { CommonLinkOptions, Link } from './link-types.js';
import { parseLink } from './link-parse.js';
import { attrU32, attrU8, MessageBuilder, type NlMsg, parseAttrs, parseNested } from './message.js';
import { ndmsg } from './neighbors.js';
import { NetlinkSocket } from './socket.js';
import { isErrno } from './errors.js';

// linux/if_link.h IFLA_VXLAN_*.
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_GROUP = 2;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_L2MISS = 13;
export const IFLA_VXLAN_L3MISS = 14;
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_LOCAL6 = 17;
export const IFLA_VXLAN_GBP = 23;
/** linux/neighbour.h: the entry belongs to the device itself (vxlan FDB), not to a bridge master. */
export const NTF_SELF = 0x02;

export interface VxlanOptions extends CommonLinkOptions {
  /** VNI (24 bits). */
  vni: number;
  /** Source address of the outer packets (the node's public IP). */
  local?: string;
  /** The underlay device (ifindex) the tunnel is bound to. */
  devIndex?: number;
  /** UDP destination port; 0 or absent: the kernel default (8472). */
  port?: number;
  /** Learn remote MACs from received packets; flanneld's default is off (it programs the FDB). */
  learning?: boolean;
  /** Group Based Policy extension. */
  gbp?: boolean;
}

/** What the kernel reports of a vxlan device. */
export interface VxlanInfo {
  vni: number;
  local?: string;
  group?: string;
  devIndex?: number;
  port: number;
  learning: boolean;
  l2miss: boolean;
  l3miss: boolean;
  gbp: boolean;
}

export interface VxlanLink extends Link {
  vxlan: VxlanInfo;
}

/** One FDB entry of a device (bridge fdb show). */
export interface FdbEntry {
  ifindex: number;
  mac: string;
  /** NDA_DST: the remote VTEP's (public) IP, for vxlan entries. */
  dst?: string;
  state: number;
  flags: number;
}

export interface FdbSpec {
  ifindex: number;
  mac: string;
  dst: string;
  /** Default permanent. */
  state?: number;
}

/** RTM_NEWLINK of kind vxlan, as `ip link add NAME type vxlan id VNI local IP dev DEV dstport PORT nolearning`. */
export function buildVxlan(o: VxlanOptions): MessageBuilder {
  if (!Number.isInteger(o.vni) || o.vni < 0 || o.vni > 0xffffff) throw new TypeError(`invalid VXLAN id ${o.vni}`);
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 0xffff)) throw new TypeError(`invalid VXLAN port ${o.port}`);
  const local = o.local !== undefined ? mustParseIP(o.local, 'VXLAN local address') : undefined;
  return newLinkMessage('vxlan', o, {
    data: (b) => {
      b.u32(IFLA_VXLAN_ID, o.vni);
      if (o.devIndex !== undefined) b.u32(IFLA_VXLAN_LINK, o.devIndex);
      if (local) b.bytes(local.family === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, ipToBytes(local));
      b.u8(IFLA_VXLAN_LEARNING, o.learning ? 1 : 0);
      // Port 0 is left out: the kernel then uses its default (IANA 4789 is opt-in; Linux keeps 8472).
      if (o.port) b.be16(IFLA_VXLAN_PORT, o.port);
      if (o.gbp) b.bytes(IFLA_VXLAN_GBP, new Uint8Array(0));
    },
  });
}

function vxlanInfo(data: Map<number, Buffer>): VxlanInfo {
  const ip = (t: number): string | undefined => {
    const v = data.get(t);
    return v && (v.length === 4 || v.length === 16) && v.some((x) => x !== 0) ? formatIP(ipFromBytes(v)) : undefined;
  };
  const port = data.get(IFLA_VXLAN_PORT);
  const info: VxlanInfo = {
    vni: attrU32(data.get(IFLA_VXLAN_ID)) ?? 0,
    port: port && port.length >= 2 ? port.readUInt16BE(0) : 0,
    learning: (attrU8(data.get(IFLA_VXLAN_LEARNING)) ?? 0) !== 0,
    l2miss: (attrU8(data.get(IFLA_VXLAN_L2MISS)) ?? 0) !== 0,
    l3miss: (attrU8(data.get(IFLA_VXLAN_L3MISS)) ?? 0) !== 0,
    gbp: data.has(IFLA_VXLAN_GBP),
  };
  const local = ip(IFLA_VXLAN_LOCAL) ?? ip(IFLA_VXLAN_LOCAL6);
  if (local !== undefined) info.local = local;
  const group = ip(IFLA_VXLAN_GROUP);
  if (group !== undefined) info.group = group;
  const dev = attrU32(data.get(IFLA_VXLAN_LINK));
  if (dev) info.devIndex = dev;
  return info;
}

/** A link reply with its vxlan settings; undefined for other messages and for links of another kind. */
export function parseVxlanLink(m: NlMsg): VxlanLink | undefined {
  const link = parseLink(m);
  if (!link || link.kind !== 'vxlan') return undefined;
  const info = parseAttrs(m.payload, IFINFOMSG_LEN).get(IFLA_LINKINFO);
  const data = info ? parseNested(info).get(IFLA_INFO_DATA) : undefined;
  return { ...link, vxlan: vxlanInfo(data ? parseNested(data) : new Map()) };
}

export type FdbWriteMode = 'add' | 'append' | 'replace' | 'delete';

/** RTM_NEWNEIGH/RTM_DELNEIGH of family AF_BRIDGE with NTF_SELF: `bridge fdb add MAC dev DEV dst IP self permanent`. */
export function buildFdb(f: FdbSpec, mode: FdbWriteMode): MessageBuilder {
  const dst = mustParseIP(f.dst, 'FDB destination');
  const flags =
    mode === 'delete' ? 0 : NLM_F_CREATE | (mode === 'replace' ? NLM_F_REPLACE : mode === 'append' ? NLM_F_APPEND : NLM_F_EXCL);
  return new MessageBuilder(mode === 'delete' ? RTM_DELNEIGH : RTM_NEWNEIGH, flags)
    .fixed(ndmsg(AF_BRIDGE, f.ifindex, mode === 'delete' ? 0 : (f.state ?? NUD_PERMANENT), NTF_SELF))
    .bytes(NDA_LLADDR, parseMac(f.mac))
    .bytes(NDA_DST, ipToBytes(dst));
}

export function buildListFdb(): MessageBuilder {
  return new MessageBuilder(RTM_GETNEIGH, 0).fixed(ndmsg(AF_BRIDGE, 0));
}

export function parseFdb(m: NlMsg): FdbEntry | undefined {
  if (m.type !== RTM_NEWNEIGH || m.payload.length < NDMSG_LEN) return undefined;
  const p = m.payload;
  if (p.readUInt8(0) !== AF_BRIDGE) return undefined;
  const a = parseAttrs(p, NDMSG_LEN);
  const ll = a.get(NDA_LLADDR);
  if (!ll || ll.length !== 6) return undefined;
  const e: FdbEntry = { ifindex: p.readInt32LE(4), mac: formatMac(ll), state: p.readUInt16LE(8), flags: p.readUInt8(10) };
  const dst = a.get(NDA_DST);
  if (dst && (dst.length === 4 || dst.length === 16)) e.dst = formatIP(ipFromBytes(dst));
  return e;
}

/** VXLAN devices and FDB entries in one namespace (open it inside that namespace, e.g. with withNetns). */
export class VxlanControl {
  private readonly sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.sock = sock;
  }

  static open(): VxlanControl {
    return new VxlanControl(NetlinkSocket.open());
  }

  close(): void {
    this.sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  createVxlan(o: VxlanOptions): void {
    this.sock.ack(buildVxlan(o), `link add ${o.name} type vxlan id ${o.vni}`);
  }

  /** The vxlan device named `name`; undefined when there is no link of that name or it is not a vxlan. */
  findVxlan(name: string): VxlanLink | undefined {
    checkIfName(name);
    const req = new MessageBuilder(RTM_GETLINK, 0).fixed(ifinfomsg(AF_UNSPEC)).str(IFLA_IFNAME, name);
    try {
      return this.sock.get(req, `link get ${name}`, (m) => (m.type === RTM_NEWLINK ? (parseVxlanLink(m) ?? null) : undefined)) ?? undefined;
    } catch (err) {
      if (isErrno(err, 'ENODEV')) return undefined;
      throw err;
    }
  }

  /** Adds an entry; EEXIST when the device already has one for that MAC and destination. */
  addFdb(f: FdbSpec): void {
    this.sock.ack(buildFdb(f, 'add'), `fdb add ${f.mac} dst ${f.dst} dev index ${f.ifindex}`);
  }

  /** Adds or updates the entry for that MAC (flanneld's NeighSet of its FDB entries). */
  replaceFdb(f: FdbSpec): void {
    this.sock.ack(buildFdb(f, 'replace'), `fdb replace ${f.mac} dst ${f.dst} dev index ${f.ifindex}`);
  }

  /** Adds another destination for the MAC (`bridge fdb append`). */
  appendFdb(f: FdbSpec): void {
    this.sock.ack(buildFdb(f, 'append'), `fdb append ${f.mac} dst ${f.dst} dev index ${f.ifindex}`);
  }

  /** ENOENT when there is no such entry. */
  deleteFdb(f: FdbSpec): void {
    this.sock.ack(buildFdb(f, 'delete'), `fdb del ${f.mac} dst ${f.dst} dev index ${f.ifindex}`);
  }

  listFdb(ifindex?: number): FdbEntry[] {
    const all = this.sock.dump(buildListFdb(), 'fdb list', parseFdb);
    return ifindex === undefined ? all : all.filter((e) => e.ifindex === ifindex);
  }
}
