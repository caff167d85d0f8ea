// IP addresses as (family, BigInt) pairs, parsed and printed exactly like Go's net.ParseIP and
// net.IP.String(): the reference plugins print addresses that way and name files after them
// (host-local's <dataDir>/<net>/<ip>), so any difference would change results and on-disk state.

import { formatIP as formatIPText, isIPv4Bytes, parseIP as parseIPText } from './text.js';

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

function bytesToValue(b: Uint8Array): bigint {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

function valueToBytes(family: Family, value: bigint): Uint8Array {
  const out = new Uint8Array(familyBits(family) / 8);
  for (let i = out.length - 1, v = value; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** Go's net.ParseIP: undefined where Go returns nil. IPv4-mapped IPv6 folds to IPv4. */
export function parseIP(s: string): IP | undefined {
  const b = parseIPText(s);
  if (!b) return undefined;
  if (isIPv4Bytes(b)) return { family: 4, value: bytesToValue(b.length === 4 ? b : b.subarray(12)) };
  return { family: 6, value: bytesToValue(b) };
}

/** Go's net.IP.String(): dotted quad for IPv4 (and IPv4-mapped), RFC 5952 compression for IPv6. */
export function formatIP(ip: IP): string {
  return formatIPText(valueToBytes(ip.family, ip.value));
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
