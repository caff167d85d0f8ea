// Interface addresses (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR): builders and the reply decoder.
import {
  AF_INET, IFA_ADDRESS, IFA_BROADCAST, IFA_CACHEINFO, IFA_F_DADFAILED, IFA_F_DEPRECATED, IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE, IFA_F_OPTIMISTIC, IFA_F_PERMANENT, IFA_F_SECONDARY, IFA_F_TENTATIVE, IFA_FLAGS, IFA_LABEL,
  IFA_LOCAL, IFADDRMSG_LEN, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RT_SCOPE_UNIVERSE, RTM_DELADDR, RTM_GETADDR,
  RTM_NEWADDR,
} from './constants.js';
import { type Family, formatIP, ipFromBytes, ipToBytes, lastOf, mustParsePrefix, parseIP, prefixLength } from '../ip/index.js';
import { afToFamily, familyToAf } from './ipaddr.js';
import { attrString, attrU32, MessageBuilder, type NlMsg, parseAttrs } from './message.js';

export interface AddressFlags {
  secondary: boolean;
  nodad: boolean;
  optimistic: boolean;
  dadfailed: boolean;
  deprecated: boolean;
  tentative: boolean;
  permanent: boolean;
  noprefixroute: boolean;
}

export interface Address {
  ifindex: number;
  family: Family;
  /** "ip/len" with host bits kept, e.g. "10.22.0.5/24". */
  address: string;
  ip: string;
  prefixLen: number;
  scope: number;
  /** Raw IFA_F_* bits (IFA_FLAGS when present, which carries the full 32 bits). */
  rawFlags: number;
  flags: AddressFlags;
  label?: string;
  /** IPv4 broadcast, when set. */
  broadcast?: string;
  /** For point-to-point addresses: the peer (IFA_ADDRESS differs from IFA_LOCAL). */
  peer?: string;
  /** Lifetimes in seconds; 0xffffffff means forever. */
  validLft?: number;
  preferredLft?: number;
}

export interface AddAddressOptions {
  /** IFA_F_NODAD: skip IPv6 duplicate address detection. */
  noDad?: boolean;
  /** RT_SCOPE_* (default universe). */
  scope?: number;
  /** IPv4 label (must start with the interface name). */
  label?: string;
  /**
   * IPv4 broadcast: 'auto' (default, like the reference library: computed for prefixes shorter than
   * /31), 'none', or an explicit address.
   */
  broadcast?: 'auto' | 'none' | string;
  /** IFA_F_NOPREFIXROUTE: do not install the prefix route. */
  noPrefixRoute?: boolean;
  /** Replace an existing address instead of failing with EEXIST. */
  replace?: boolean;
}

export function ifaddrmsg(family: number, prefixLen: number, flags: number, scope: number, index: number): Uint8Array {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLen, 1);
  b.writeUInt8(flags & 0xff, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

export function buildAddAddress(ifindex: number, cidr: string, o: AddAddressOptions = {}): MessageBuilder {
  const c = mustParsePrefix(cidr);
  const family = c.ip.family;
  const prefixLen = prefixLength(c);
  const local = ipToBytes(c.ip);
  let flags = 0;
  if (o.noDad) flags |= IFA_F_NODAD;
  if (o.noPrefixRoute) flags |= IFA_F_NOPREFIXROUTE;
  const b = new MessageBuilder(RTM_NEWADDR, NLM_F_CREATE | (o.replace ? NLM_F_REPLACE : NLM_F_EXCL)).fixed(
    ifaddrmsg(familyToAf(family), prefixLen, flags, o.scope ?? RT_SCOPE_UNIVERSE, ifindex),
  );
  // IFA_LOCAL is the address itself; IFA_ADDRESS equals it on non-point-to-point links.
  b.bytes(IFA_LOCAL, local).bytes(IFA_ADDRESS, local);
  if (flags > 0xff) b.u32(IFA_FLAGS, flags);
  if (family === 4) {
    const brd = o.broadcast ?? 'auto';
    if (brd === 'auto') {
      if (prefixLen < 31) b.bytes(IFA_BROADCAST, ipToBytes(lastOf(c)));
    } else if (brd !== 'none') {
      const ip = parseIP(brd);
      if (!ip || ip.family !== 4) throw new TypeError(`invalid broadcast address "${brd}"`);
      b.bytes(IFA_BROADCAST, ipToBytes(ip));
    }
    if (o.label !== undefined) b.str(IFA_LABEL, o.label);
  }
  return b;
}

export function buildDeleteAddress(ifindex: number, cidr: string): MessageBuilder {
  const c = mustParsePrefix(cidr);
  const b = new MessageBuilder(RTM_DELADDR, 0).fixed(ifaddrmsg(familyToAf(c.ip.family), prefixLength(c), 0, 0, ifindex));
  return b.bytes(IFA_LOCAL, ipToBytes(c.ip));
}

export function buildListAddresses(family?: Family): MessageBuilder {
  return new MessageBuilder(RTM_GETADDR, 0).fixed(ifaddrmsg(family ? familyToAf(family) : 0, 0, 0, 0, 0));
}

/** Decodes one RTM_NEWADDR message. */
export function parseAddress(m: NlMsg): Address | undefined {
  if (m.type !== RTM_NEWADDR || m.payload.length < IFADDRMSG_LEN) return undefined;
  const p = m.payload;
  const family = afToFamily(p.readUInt8(0));
  if (!family) return undefined;
  const a = parseAttrs(p, IFADDRMSG_LEN);
  const local = a.get(IFA_LOCAL);
  const addr = a.get(IFA_ADDRESS);
  const own = local ?? addr;
  if (!own) return undefined;
  const ip = formatIP(ipFromBytes(own));
  const prefixLen = p.readUInt8(1);
  const raw = attrU32(a.get(IFA_FLAGS)) ?? p.readUInt8(2);
  const out: Address = {
    ifindex: p.readUInt32LE(4),
    family,
    address: `${ip}/${prefixLen}`,
    ip,
    prefixLen,
    scope: p.readUInt8(3),
    rawFlags: raw,
    flags: {
      secondary: (raw & IFA_F_SECONDARY) !== 0,
      nodad: (raw & IFA_F_NODAD) !== 0,
      optimistic: (raw & IFA_F_OPTIMISTIC) !== 0,
      dadfailed: (raw & IFA_F_DADFAILED) !== 0,
      deprecated: (raw & IFA_F_DEPRECATED) !== 0,
      tentative: (raw & IFA_F_TENTATIVE) !== 0,
      permanent: (raw & IFA_F_PERMANENT) !== 0,
      noprefixroute: (raw & IFA_F_NOPREFIXROUTE) !== 0,
    },
  };
  if (local && addr && !local.equals(addr)) out.peer = formatIP(ipFromBytes(addr));
  const label = attrString(a.get(IFA_LABEL));
  if (label) out.label = label;
  const brd = a.get(IFA_BROADCAST);
  if (brd && p.readUInt8(0) === AF_INET) out.broadcast = formatIP(ipFromBytes(brd));
  const ci = a.get(IFA_CACHEINFO);
  if (ci && ci.length >= 8) {
    out.preferredLft = ci.readUInt32LE(0);
    out.validLft = ci.readUInt32LE(4);
  }
  return out;
}
