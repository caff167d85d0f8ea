// The suite's one CIDR type, on top of ip.ts, following Go's net.ParseCIDR / net.IPNet semantics.
// What the kernel takes is a view of it: prefixLength(net), ipToBytes(net.ip), ipToBytes(networkOf(net)).
import { type Family, type IP, familyBits, formatIP, parseIP } from './ip.js';

/** A prefix. `ip` keeps the host bits as written (CNI results print "10.1.2.3/24", not the network). */
export interface IPNet {
  readonly ip: IP;
  readonly prefix: number;
  /**
   * Width of the mask: 32 for dotted-quad input, 128 for colon input. Differs from familyBits(ip.family)
   * only for IPv4-mapped input such as "::ffff:10.0.0.0/104", which Go treats as a mask/IP mismatch.
   */
  readonly maskBits: 32 | 128;
}

/**
 * Go's net.ParseCIDR: "addr/len" with a decimal length within the address's width (leading zeros
 * allowed, as Go's dtoi allows them: "10.0.0.0/024" is a /24).
 */
export function parseCIDR(s: string): IPNet | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  const ip = parseIP(addr);
  if (!ip || !/^[0-9]+$/.test(len)) return undefined;
  const maskBits = addr.includes(':') ? 128 : 32;
  const prefix = Number(len);
  if (prefix > maskBits) return undefined;
  // A mapped address written in IPv6 syntax keeps an IPv6-sized mask; fold it to IPv4 only when the
  // mask lies within the mapped IPv4 part, which is what Go's IPNet.Contains effectively does.
  return { ip, prefix, maskBits };
}

/** The mask as a value of the IP's own family (for mapped input, the part covering the IPv4 bits). */
export function maskValue(net: IPNet): bigint {
  const bits = familyBits(net.ip.family);
  const hostBits = BigInt(net.maskBits - net.prefix);
  const all = (1n << BigInt(bits)) - 1n;
  return hostBits >= BigInt(bits) ? 0n : all ^ ((1n << hostBits) - 1n);
}

/** The network address (host bits cleared). */
export function networkOf(net: IPNet): IP {
  return { family: net.ip.family, value: net.ip.value & maskValue(net) };
}

/** The last address of the prefix (IPv4: the broadcast address). */
export function lastOf(net: IPNet): IP {
  const bits = familyBits(net.ip.family);
  const all = (1n << BigInt(bits)) - 1n;
  return { family: net.ip.family, value: (net.ip.value & maskValue(net)) | (all ^ maskValue(net)) };
}

export function hasHostBits(net: IPNet): boolean {
  return networkOf(net).value !== net.ip.value;
}

/** Go's IPNet.Contains: same family and equal under the mask. */
export function containsIP(net: IPNet, ip: IP): boolean {
  if (ip.family !== net.ip.family) return false;
  const m = maskValue(net);
  return (ip.value & m) === (net.ip.value & m);
}

/** True when two prefixes share at least one address. */
export function overlaps(a: IPNet, b: IPNet): boolean {
  return containsIP(a, networkOf(b)) || containsIP(b, networkOf(a));
}

/**
 * The prefix length within the IP's own family: what the kernel takes and Go's IPNet.String()
 * prints. Equal to `prefix` except for IPv4-mapped input with an IPv6 mask, where Go keeps the
 * mask's last 32 bits ("::ffff:10.1.2.3/120" is 10.1.2.3/24).
 */
export function prefixLength(net: IPNet): number {
  return Math.max(0, net.prefix - (net.maskBits - familyBits(net.ip.family)));
}

/** "ip/len" with the host bits as written: CNI results and Go's IPNet.String() both print it so. */
export function formatCIDR(net: IPNet): string {
  return `${formatIP(net.ip)}/${prefixLength(net)}`;
}

/** "network/len" ("10.1.2.3/24" -> "10.1.2.0/24"): how the kernel and iptables show a prefix. */
export function formatNetwork(net: IPNet): string {
  return `${formatIP(networkOf(net))}/${prefixLength(net)}`;
}

export function netOf(ip: IP, prefix: number): IPNet {
  return { ip, prefix, maskBits: familyBits(ip.family) as 32 | 128 };
}

/** The host prefix of an address: ip/32 or ip/128. */
export const hostNetOf = (ip: IP): IPNet => netOf(ip, familyBits(ip.family));

/**
 * A prefix as the kernel is given it (netlink's address and route arguments): "ip/len", or a bare
 * IP meaning its host prefix. The length counts in the address's own family, as the reference's
 * netlink library sends it: "::ffff:10.1.2.3/24" is 10.1.2.3/24, and a length beyond the family's
 * width is refused. Throws TypeError `invalid CIDR "<text>"`, quoting the address part when that
 * is what is wrong.
 */
export function mustParsePrefix(s: string): IPNet {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const ip = parseIP(addr);
  if (!ip) throw new TypeError(`invalid CIDR "${addr}"`);
  if (slash < 0) return hostNetOf(ip);
  const net = parseCIDR(s);
  if (!net || net.prefix > familyBits(ip.family)) throw new TypeError(`invalid CIDR "${s}"`);
  return netOf(ip, net.prefix);
}

/** Canonical "ip/len" (host bits kept, as libcni's types.IPNet prints it), or undefined if invalid. */
export function canonicalCIDR(text: string): string | undefined {
  const net = parseCIDR(text);
  return net ? formatCIDR(net) : undefined;
}

/**
 * Address family of an IP or CIDR text as Go decides it (To4() != nil: IPv4-mapped counts as 4).
 * Unparsable text falls back to "contains a colon" so a conversion never throws.
 */
export function ipFamily(text: string): Family {
  const slash = text.indexOf('/');
  const ip = parseIP(slash >= 0 ? text.slice(0, slash) : text);
  if (ip) return ip.family;
  return text.includes(':') ? 6 : 4;
}
