// Neighbour (ARP/NDP) entries: RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH.
import {
  NDA_DST, NDA_LLADDR, NDMSG_LEN, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NUD_PERMANENT, RTM_DELNEIGH,
  RTM_GETNEIGH, RTM_NEWNEIGH,
} from './constants.js';
import { type Family, formatIP, ipFromBytes, ipToBytes, mustParseIP } from '../ip/index.js';
import { afToFamily, familyToAf, formatMac, parseMac } from './ipaddr.js';
import { MessageBuilder, type NlMsg, parseAttrs } from './message.js';

export interface Neighbor {
  ifindex: number;
  family: Family;
  ip: string;
  mac?: string;
  /** NUD_* bits (0x80 permanent, 0x02 reachable, 0x04 stale, 0x40 noarp ...). */
  state: number;
  /** NTF_* bits. */
  flags: number;
}

export interface NeighborSpec {
  ifindex: number;
  ip: string;
  mac: string;
  /** NUD_* state; default permanent. */
  state?: number;
  flags?: number;
}

export function ndmsg(family: number, ifindex: number, state = 0, flags = 0, type = 0): Uint8Array {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  b.writeUInt8(type, 11);
  return b;
}

export function buildAddNeighbor(n: NeighborSpec, replace: boolean): MessageBuilder {
  const ip = mustParseIP(n.ip, 'neighbour address');
  return new MessageBuilder(RTM_NEWNEIGH, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL))
    .fixed(ndmsg(familyToAf(ip.family), n.ifindex, n.state ?? NUD_PERMANENT, n.flags ?? 0))
    .bytes(NDA_DST, ipToBytes(ip))
    .bytes(NDA_LLADDR, parseMac(n.mac));
}

export function buildDeleteNeighbor(ifindex: number, ipText: string): MessageBuilder {
  const ip = mustParseIP(ipText, 'neighbour address');
  return new MessageBuilder(RTM_DELNEIGH, 0).fixed(ndmsg(familyToAf(ip.family), ifindex)).bytes(NDA_DST, ipToBytes(ip));
}

export function buildListNeighbors(family?: Family): MessageBuilder {
  return new MessageBuilder(RTM_GETNEIGH, 0).fixed(ndmsg(family ? familyToAf(family) : 0, 0));
}

export function parseNeighbor(m: NlMsg): Neighbor | undefined {
  if (m.type !== RTM_NEWNEIGH || m.payload.length < NDMSG_LEN) return undefined;
  const p = m.payload;
  const family = afToFamily(p.readUInt8(0));
  if (!family) return undefined; // AF_BRIDGE fdb entries are not IP neighbours
  const a = parseAttrs(p, NDMSG_LEN);
  const dst = a.get(NDA_DST);
  if (!dst) return undefined;
  const out: Neighbor = {
    ifindex: p.readInt32LE(4),
    family,
    ip: formatIP(ipFromBytes(dst)),
    state: p.readUInt16LE(8),
    flags: p.readUInt8(10),
  };
  const ll = a.get(NDA_LLADDR);
  if (ll && ll.length > 0) out.mac = formatMac(ll);
  return out;
}
