// CIDR math on top of ip.ts, following Go's net.ParseCIDR / net.IPNet semantics.
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

/** Go's net.ParseCIDR: "addr/len" with a decimal length within the address's width. */
export function parseCIDR(s: string): IPNet | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  const ip = parseIP(addr);
  if (!ip || !/^[0-9]{1,3}$/.test(len)) return undefined;
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

/** "ip/len" with the host bits as written: CNI results and Go's IPNet.String() both print it so. */
export function formatCIDR(net: IPNet): string {
  // Go prints a mapped address with an IPv6 mask by its IPv4 part and the mask's last 32 bits.
  const prefix = Math.max(0, net.prefix - (net.maskBits - familyBits(net.ip.family)));
  return `${formatIP(net.ip)}/${prefix}`;
}

export function netOf(ip: IP, prefix: number): IPNet {
  return { ip, prefix, maskBits: familyBits(ip.family) as 32 | 128 };
}

export type { Family };
