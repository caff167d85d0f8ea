// The suite's one IP address model: (family, BigInt) pairs, parsed and printed exactly like Go's
// net.ParseIP and net.IP.String(): the reference plugins print addresses that way and name files
// after them (host-local's <dataDir>/<net>/<ip>), so any difference would change results and
// on-disk state. Bytes (what netlink sends and receives) are a view: ipToBytes / ipFromBytes.

import { formatIPText, isV4Mapped, parseIPText } from './text.js';

export type Family = 4 | 6;

/** An address. IPv4-mapped IPv6 input ("::ffff:1.2.3.4") is an IPv4 address, as in Go (To4() != nil). */
export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);
const maxValue = (family: Family): bigint => (1n << BigInt(familyBits(family))) - 1n;
const V4_MAPPED_PREFIX = 0xffffn << 32n;

export function ipOf(family: Family, value: bigint): IP {
  return { family, value };
}

/**
 * The IP of 4 address bytes (IPv4) or 16 (IPv6; IPv4-mapped folds to IPv4, as Go's To4() does):
 * the kernel's and Go's byte form. Throws TypeError for any other length.
 */
export function ipFromBytes(b: Uint8Array): IP {
  if (b.length !== 4 && b.length !== 16) throw new TypeError(`address of ${b.length} bytes`);
  const family: Family = b.length === 4 || isV4Mapped(b) ? 4 : 6;
  let value = 0n;
  for (let i = b.length === 16 && family === 4 ? 12 : 0; i < b.length; i++) value = (value << 8n) | BigInt(b[i] as number);
  return { family, value };
}

/** The address bytes the kernel takes: 4 for IPv4, 16 for IPv6 (network byte order). */
export function ipToBytes(ip: IP): Uint8Array {
  const out = new Uint8Array(familyBits(ip.family) / 8);
  for (let i = out.length - 1, v = ip.value; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** Go's net.ParseIP: undefined where Go returns nil. IPv4-mapped IPv6 folds to IPv4. */
export function parseIP(s: string): IP | undefined {
  const b = parseIPText(s);
  return b ? ipFromBytes(b) : undefined;
}

/** parseIP for API arguments: throws TypeError `invalid <what> "<s>"` instead of returning undefined. */
export function mustParseIP(s: string, what = 'IP address'): IP {
  const ip = parseIP(s);
  if (!ip) throw new TypeError(`invalid ${what} "${s}"`);
  return ip;
}

/** Go's net.IP.String(): dotted quad for IPv4 (and IPv4-mapped), RFC 5952 compression for IPv6. */
export function formatIP(ip: IP): string {
  return formatIPText(ipToBytes(ip));
}

/** Text of an IP as Go prints it after parsing, or undefined when Go would reject it. */
export function canonicalIP(text: string): string | undefined {
  const ip = parseIP(text);
  return ip ? formatIP(ip) : undefined;
}

export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export const equalIP = (a: IP, b: IP): boolean => a.family === b.family && a.value === b.value;

/** Go's ip.NextIP: +1, wrapping to zero past the last address of the family. */
export function nextIP(ip: IP): IP {
  return { family: ip.family, value: ip.value === maxValue(ip.family) ? 0n : ip.value + 1n };
}

/** Go's ip.PrevIP: -1, wrapping to the last address below zero. */
export function prevIP(ip: IP): IP {
  return { family: ip.family, value: ip.value === 0n ? maxValue(ip.family) : ip.value - 1n };
}

/** The IPv4-mapped IPv6 value of an IPv4 address (Go's 16-byte form), e.g. for ordering mixed families. */
export function toMapped(ip: IP): bigint {
  return ip.family === 4 ? V4_MAPPED_PREFIX | ip.value : ip.value;
}
