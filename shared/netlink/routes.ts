// Routes (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE): builders and the reply decoder.
import {
  NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RT_TABLE_UNSPEC,
  RTA_DST, RTA_GATEWAY, RTA_METRICS, RTA_MULTIPATH, RTA_OIF, RTA_PREF, RTA_PREFSRC, RTA_PRIORITY, RTA_TABLE, RTAX_ADVMSS,
  RTAX_MTU, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, RTMSG_LEN, RTN_UNICAST, RTNEXTHOP_LEN, RTNH_F_ONLINK,
  RTPROT_BOOT,
} from './constants.js';
import {
  type Family, formatIP, ipFromBytes, ipToBytes, mustParseIP, mustParsePrefix, networkOf, prefixLength,
} from '../ip/index.js';
import { afToFamily, familyToAf } from './ipaddr.js';
import { align4, attrList, attrU32, MessageBuilder, type NlMsg, parseAttrs, parseNested } from './message.js';

export interface Route {
  family: Family;
  /** Destination prefix, network form: "10.1.0.0/16"; "0.0.0.0/0" or "::/0" for a default route. */
  dst: string;
  gw?: string;
  ifindex?: number;
  /** Preferred source address (RTA_PREFSRC). */
  src?: string;
  scope: number;
  /** Full table id (RTA_TABLE when present, so tables above 255 are exact). */
  table: number;
  /** Metric (RTA_PRIORITY); 0 when unset. */
  priority: number;
  /** RTPROT_* (2 kernel, 3 boot, 4 static ...). */
  protocol: number;
  /** RTN_* (1 unicast, 2 local, 3 broadcast, 6 blackhole ...). */
  type: number;
  /** Raw rtm_flags (RTNH_F_ONLINK, RTM_F_CLONED ...). */
  flags: number;
  mtu?: number;
  advmss?: number;
  /** IPv6 router preference (RTA_PREF: 0 medium, 1 high, 3 low), as the kernel reports it. */
  pref?: number;
  /**
   * Set when this entry is one next hop of a multipath route: list results flatten
   * RTA_MULTIPATH into one entry per next hop, so "does dst via gw exist" is a simple search.
   */
  multipath?: { weight: number };
}

export interface RouteSpec {
  /** Destination CIDR; host bits are cleared. "0.0.0.0/0" / "::/0" for default. */
  dst: string;
  gw?: string;
  ifindex?: number;
  src?: string;
  /** RT_SCOPE_*; default universe (what the reference library sends when the caller sets none). */
  scope?: number;
  /** Default main (254). */
  table?: number;
  priority?: number;
  /** Default boot (3), as iproute2 and the reference library use. */
  protocol?: number;
  /** Default unicast. */
  type?: number;
  mtu?: number;
  advmss?: number;
  /** RTNH_F_ONLINK: the gateway is reachable on the link without a covering prefix. */
  onlink?: boolean;
  /** IPv6 router preference (RTA_PREF), sent only when given. */
  pref?: number;
}

export function rtmsg(
  family: number, dstLen: number, table: number, protocol: number, scope: number, type: number, flags = 0,
): Uint8Array {
  const b = Buffer.alloc(RTMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt8(dstLen, 1);
  b.writeUInt8(table > 255 ? RT_TABLE_UNSPEC : table, 4);
  b.writeUInt8(protocol, 5);
  b.writeUInt8(scope, 6);
  b.writeUInt8(type, 7);
  b.writeUInt32LE(flags >>> 0, 8);
  return b;
}

export type RouteWriteMode = 'add' | 'ecmp' | 'replace' | 'append' | 'delete';

const MODE_FLAGS: Record<RouteWriteMode, number> = {
  add: NLM_F_CREATE | NLM_F_EXCL,
  // Create without EXCL: IPv6 joins an existing route as another next hop (the reference's RouteAddEcmp).
  ecmp: NLM_F_CREATE,
  replace: NLM_F_CREATE | NLM_F_REPLACE,
  append: NLM_F_CREATE | NLM_F_APPEND,
  delete: 0,
};

/** RTM_NEWROUTE (add/replace/append) or RTM_DELROUTE (delete) for one route. */
export function buildRoute(r: RouteSpec, mode: RouteWriteMode): MessageBuilder {
  const dst = mustParsePrefix(r.dst);
  const family = dst.ip.family;
  const dstLen = prefixLength(dst);
  const table = r.table ?? RT_TABLE_MAIN;
  const del = mode === 'delete';
  // A delete only matches the fields it names: leave protocol/type/scope open unless given.
  const protocol = r.protocol ?? (del ? 0 : RTPROT_BOOT);
  const type = r.type ?? (del ? 0 : RTN_UNICAST);
  const scope = r.scope ?? (del ? 255 /* RT_SCOPE_NOWHERE: "any" for deletes */ : RT_SCOPE_UNIVERSE);
  const b = new MessageBuilder(del ? RTM_DELROUTE : RTM_NEWROUTE, MODE_FLAGS[mode]).fixed(
    rtmsg(familyToAf(family), dstLen, table, protocol, scope, type, r.onlink ? RTNH_F_ONLINK : 0),
  );
  if (dstLen > 0) b.bytes(RTA_DST, ipToBytes(networkOf(dst)));
  if (r.gw !== undefined) {
    const gw = mustParseIP(r.gw, 'gateway');
    if (gw.family !== family) throw new TypeError(`gateway ${r.gw} does not match the family of ${r.dst}`);
    b.bytes(RTA_GATEWAY, ipToBytes(gw));
  }
  if (r.src !== undefined) b.bytes(RTA_PREFSRC, ipToBytes(mustParseIP(r.src, 'source address')));
  if (r.ifindex !== undefined) b.u32(RTA_OIF, r.ifindex);
  if (r.priority !== undefined) b.u32(RTA_PRIORITY, r.priority);
  if (table > 255 || r.table !== undefined) b.u32(RTA_TABLE, table);
  if (r.pref !== undefined) b.u8(RTA_PREF, r.pref);
  if (r.mtu !== undefined || r.advmss !== undefined) {
    b.nest(RTA_METRICS, () => {
      if (r.mtu !== undefined) b.u32(RTAX_MTU, r.mtu);
      if (r.advmss !== undefined) b.u32(RTAX_ADVMSS, r.advmss);
    });
  }
  return b;
}

export function buildListRoutes(family?: Family): MessageBuilder {
  return new MessageBuilder(RTM_GETROUTE, 0).fixed(rtmsg(family ? familyToAf(family) : 0, 0, 0, 0, 0, 0));
}

/** Decodes one RTM_NEWROUTE message; a multipath route yields one entry per next hop. */
export function parseRoutes(m: NlMsg): Route[] | undefined {
  if (m.type !== RTM_NEWROUTE || m.payload.length < RTMSG_LEN) return undefined;
  const p = m.payload;
  const family = afToFamily(p.readUInt8(0));
  if (!family) return undefined;
  const a = parseAttrs(p, RTMSG_LEN);
  const dstLen = p.readUInt8(1);
  const dstRaw = a.get(RTA_DST);
  const dst = dstRaw ? `${formatIP(ipFromBytes(dstRaw))}/${dstLen}` : family === 4 ? `0.0.0.0/${dstLen}` : `::/${dstLen}`;
  const base: Route = {
    family,
    dst,
    scope: p.readUInt8(6),
    table: attrU32(a.get(RTA_TABLE)) ?? p.readUInt8(4),
    priority: attrU32(a.get(RTA_PRIORITY)) ?? 0,
    protocol: p.readUInt8(5),
    type: p.readUInt8(7),
    flags: p.readUInt32LE(8),
  };
  const gw = a.get(RTA_GATEWAY);
  if (gw) base.gw = formatIP(ipFromBytes(gw));
  const oif = attrU32(a.get(RTA_OIF));
  if (oif !== undefined) base.ifindex = oif;
  const src = a.get(RTA_PREFSRC);
  if (src) base.src = formatIP(ipFromBytes(src));
  const pref = a.get(RTA_PREF);
  if (pref && pref.length >= 1) base.pref = pref.readUInt8(0);
  const metrics = a.get(RTA_METRICS);
  if (metrics) {
    const mt = parseNested(metrics);
    const mtu = attrU32(mt.get(RTAX_MTU));
    if (mtu !== undefined) base.mtu = mtu;
    const advmss = attrU32(mt.get(RTAX_ADVMSS));
    if (advmss !== undefined) base.advmss = advmss;
  }
  const mp = a.get(RTA_MULTIPATH);
  return mp ? parseNextHops(mp, base) : [base];
}

/** struct rtnexthop {u16 len; u8 flags; u8 hops; s32 ifindex} followed by its own attributes. */
function parseNextHops(mp: Buffer, base: Route): Route[] {
  const out: Route[] = [];
  let at = 0;
  while (at + RTNEXTHOP_LEN <= mp.length) {
    const len = mp.readUInt16LE(at);
    if (len < RTNEXTHOP_LEN || at + len > mp.length) break;
    const hop: Route = { ...base, ifindex: mp.readInt32LE(at + 4), multipath: { weight: mp.readUInt8(at + 3) + 1 } };
    delete hop.gw;
    for (const [type, value] of attrList(mp, at + RTNEXTHOP_LEN, at + len)) {
      if (type === RTA_GATEWAY) hop.gw = formatIP(ipFromBytes(value));
    }
    out.push(hop);
    at += align4(len);
  }
  return out;
}

/**
 * A listed route as a request for `table`, flags cleared (a copied kernel route keeps none): what
 * sbr and vrf use to copy or move a route between tables.
 */
export function routeSpecInTable(r: Route, table: number): RouteSpec {
  const spec: RouteSpec = { dst: r.dst, scope: r.scope, table, protocol: r.protocol || RTPROT_BOOT, type: r.type || RTN_UNICAST };
  if (r.gw !== undefined) spec.gw = r.gw;
  if (r.ifindex !== undefined) spec.ifindex = r.ifindex;
  if (r.src !== undefined) spec.src = r.src;
  if (r.priority) spec.priority = r.priority;
  if (r.mtu !== undefined) spec.mtu = r.mtu;
  if (r.advmss !== undefined) spec.advmss = r.advmss;
  if (r.pref !== undefined) spec.pref = r.pref;
  return spec;
}
