// Conntrack over ctnetlink (NETLINK_NETFILTER, subsystem CTNETLINK), in-process: dump the table of
// one address family and delete the entries a filter selects, each by its original tuple. This is
// what the reference does through vishvananda/netlink's ConntrackDeleteFilter, and what `conntrack
// -D -p udp --dport N` does, without running a program.
//
// Wire format (linux/netfilter/nfnetlink.h, nfnetlink_conntrack.h): nlmsghdr with type
// (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_*, then struct nfgenmsg {u8 family; u8 version; be16
// res_id}, then attributes. Addresses and ports inside tuples are in network byte order.
import { isErrno } from '../netlink/errors.js';
import { MessageBuilder, type NlMsg, parseAttrs, parseNested } from '../netlink/message.js';
import { NetlinkSocket } from '../netlink/socket.js';
import type { Family } from '../ip/index.js';

export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_CTNETLINK = 1;
export const NFNETLINK_V0 = 0;
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;

export const CTA_TUPLE_ORIG = 1;
export const CTA_ZONE = 18;
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V4_DST = 2;
export const CTA_IP_V6_SRC = 3;
export const CTA_IP_V6_DST = 4;
export const CTA_PROTO_NUM = 1;
export const CTA_PROTO_SRC_PORT = 2;
export const CTA_PROTO_DST_PORT = 3;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

const AF: Readonly<Record<Family, number>> = { 4: 2, 6: 10 };
const msgType = (op: number): number => (NFNL_SUBSYS_CTNETLINK << 8) | op;

/** The original-direction tuple of one conntrack entry (what a delete names). */
export interface ConntrackTuple {
  readonly family: Family;
  /** Raw address bytes (4 or 16). */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly proto: number;
  /** Ports for TCP/UDP/SCTP/DCCP/UDPLITE; undefined for ICMP and others. */
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** Conntrack zone (CTA_ZONE); 0 is the default zone. */
  readonly zone: number;
}

function nfgenmsg(family: Family): Uint8Array {
  // version NFNETLINK_V0, res_id 0 (big endian)
  return Uint8Array.of(AF[family], NFNETLINK_V0, 0, 0);
}

/** IPCTNL_MSG_CT_GET dump request for one family (the socket adds NLM_F_REQUEST | NLM_F_DUMP). */
export function buildConntrackDump(family: Family): MessageBuilder {
  return new MessageBuilder(msgType(IPCTNL_MSG_CT_GET), 0, 32).fixed(nfgenmsg(family));
}

/** IPCTNL_MSG_CT_DELETE naming one entry by its original tuple (and zone, when not the default). */
export function buildConntrackDelete(t: ConntrackTuple): MessageBuilder {
  const b = new MessageBuilder(msgType(IPCTNL_MSG_CT_DELETE), 0, 96).fixed(nfgenmsg(t.family));
  const [srcAttr, dstAttr] = t.family === 4 ? [CTA_IP_V4_SRC, CTA_IP_V4_DST] : [CTA_IP_V6_SRC, CTA_IP_V6_DST];
  b.nest(
    CTA_TUPLE_ORIG,
    () => {
      b.nest(CTA_TUPLE_IP, () => b.bytes(srcAttr, t.src).bytes(dstAttr, t.dst), true);
      b.nest(
        CTA_TUPLE_PROTO,
        () => {
          b.u8(CTA_PROTO_NUM, t.proto);
          if (t.srcPort !== undefined) b.be16(CTA_PROTO_SRC_PORT, t.srcPort);
          if (t.dstPort !== undefined) b.be16(CTA_PROTO_DST_PORT, t.dstPort);
        },
        true,
      );
    },
    true,
  );
  if (t.zone !== 0) b.be16(CTA_ZONE, t.zone);
  return b;
}

/** Decodes one IPCTNL_MSG_CT_NEW message of a dump into its original tuple. */
export function parseConntrackEntry(m: NlMsg): ConntrackTuple | undefined {
  if (m.type !== msgType(IPCTNL_MSG_CT_NEW) || m.payload.length < 4) return undefined;
  const af = m.payload.readUInt8(0);
  const family: Family | undefined = af === AF[4] ? 4 : af === AF[6] ? 6 : undefined;
  if (!family) return undefined;
  const attrs = parseAttrs(m.payload, 4);
  const orig = attrs.get(CTA_TUPLE_ORIG);
  if (!orig) return undefined;
  const tuple = parseNested(orig);
  const ip = tuple.get(CTA_TUPLE_IP);
  const proto = tuple.get(CTA_TUPLE_PROTO);
  if (!ip || !proto) return undefined;
  const ipAttrs = parseNested(ip);
  const [srcAttr, dstAttr] = family === 4 ? [CTA_IP_V4_SRC, CTA_IP_V4_DST] : [CTA_IP_V6_SRC, CTA_IP_V6_DST];
  const src = ipAttrs.get(srcAttr);
  const dst = ipAttrs.get(dstAttr);
  const protoAttrs = parseNested(proto);
  const num = protoAttrs.get(CTA_PROTO_NUM);
  if (!src || !dst || !num || num.length < 1) return undefined;
  const sport = protoAttrs.get(CTA_PROTO_SRC_PORT);
  const dport = protoAttrs.get(CTA_PROTO_DST_PORT);
  const zone = attrs.get(CTA_ZONE);
  return {
    family,
    // Copies: the values are views into the shared receive buffer.
    src: Uint8Array.from(src),
    dst: Uint8Array.from(dst),
    proto: num.readUInt8(0),
    ...(sport && sport.length >= 2 ? { srcPort: sport.readUInt16BE(0) } : {}),
    ...(dport && dport.length >= 2 ? { dstPort: dport.readUInt16BE(0) } : {}),
    zone: zone && zone.length >= 2 ? zone.readUInt16BE(0) : 0,
  };
}

/** What to delete: entries of `proto` whose original destination port is one of `dstPorts`. */
export interface ConntrackFilter {
  readonly proto: number;
  readonly dstPorts: ReadonlySet<number>;
}

export const matchesFilter = (t: ConntrackTuple, f: ConntrackFilter): boolean =>
  t.proto === f.proto && t.dstPort !== undefined && f.dstPorts.has(t.dstPort);

/**
 * Deletes the conntrack entries of `family` matching `filter` in the current network namespace;
 * returns how many were deleted. An entry that expired between the dump and its delete (ENOENT) is
 * not an error. Throws NetlinkError (e.g. EPERM, or EPROTONOSUPPORT without nf_conntrack_netlink).
 */
export function deleteConntrackEntries(family: Family, filter: ConntrackFilter): number {
  if (filter.dstPorts.size === 0) return 0;
  const sock = NetlinkSocket.open(NETLINK_NETFILTER);
  try {
    const entries = sock.dump(buildConntrackDump(family), `conntrack dump (IPv${family})`, parseConntrackEntry);
    let deleted = 0;
    for (const t of entries) {
      if (!matchesFilter(t, filter)) continue;
      try {
        sock.ack(buildConntrackDelete(t), `conntrack delete (IPv${family} proto ${t.proto} dport ${t.dstPort})`);
        deleted++;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    return deleted;
  } finally {
    sock.close();
  }
}
