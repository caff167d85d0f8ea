// IP addresses as (family, BigInt) pairs, parsed and printed exactly like Go's net.ParseIP and
// net.IP.String(): the reference plugins print addresses that way and name files after them
// (host-local's <dataDir>/<net>/<ip>), so any difference would change results and on-disk state.

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

/** Dotted quad with Go's rules: four decimal fields 0..255, no leading zeros, nothing else. */
function parseIPv4Value(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/** IPv6 text (RFC 4291 forms, optional trailing dotted quad, no zone) to its 128-bit value. */
function parseIPv6Value(s: string): bigint | undefined {
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) >= 0) {
    const v4 = parseIPv4Value(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    // Drop the dotted quad; keep a "::" right before it, drop a lone separating ":".
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = toGroups(halves[0]!);
  if (!head) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const rest = toGroups(halves[1]!);
    if (!rest) return undefined;
    const missing = 8 - head.length - rest.length - tail.length;
    // "::" stands for at least one group of zeros.
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest, ...tail];
  } else {
    groups = [...head, ...tail];
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Go's net.ParseIP: undefined where Go returns nil. IPv4-mapped IPv6 folds to IPv4. */
export function parseIP(s: string): IP | undefined {
  if (s.includes(':')) {
    const v = parseIPv6Value(s);
    if (v === undefined) return undefined;
    if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
    return { family: 6, value: v };
  }
  const v = parseIPv4Value(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

function formatIPv4Value(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String(Number((v >> shift) & 0xffn))).join('.');
}

/** Go's net.IP.String(): dotted quad for IPv4 (and IPv4-mapped), RFC 5952 compression for IPv6. */
export function formatIP(ip: IP): string {
  if (ip.family === 4) return formatIPv4Value(ip.value);
  if (ip.value >> 32n === 0xffffn) return formatIPv4Value(ip.value & 0xffffffffn);
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zero groups (the first one on ties), compressed only when at least two long.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
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
