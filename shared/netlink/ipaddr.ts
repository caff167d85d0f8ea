// Address encoding between text (what plugins and results use) and the kernel's raw bytes.
import { AF_INET, AF_INET6 } from './constants.js';

export type Family = 4 | 6;

export const familyToAf = (f: Family): number => (f === 4 ? AF_INET : AF_INET6);
export const afToFamily = (af: number): Family | undefined => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined);

/** Parses dotted-quad IPv4 into 4 bytes, or undefined. */
function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** Parses IPv6 text (with :: compression and an optional trailing dotted quad) into 16 bytes. */
function parseIPv6(s: string): Uint8Array | undefined {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as string;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (!v4) return undefined;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Parses an IP address (v4 or v6); undefined when it is not one. */
export function parseIP(s: string): { family: Family; bytes: Uint8Array } | undefined {
  if (s.includes(':')) {
    const bytes = parseIPv6(s);
    return bytes ? { family: 6, bytes } : undefined;
  }
  const bytes = parseIPv4(s);
  return bytes ? { family: 4, bytes } : undefined;
}

/** Like parseIP but throws a readable error. */
export function mustParseIP(s: string, what = 'IP address'): { family: Family; bytes: Uint8Array } {
  const ip = parseIP(s);
  if (!ip) throw new TypeError(`invalid ${what} "${s}"`);
  return ip;
}

export interface ParsedCidr {
  family: Family;
  /** The address as written (host bits kept). */
  bytes: Uint8Array;
  prefixLen: number;
}

/** Parses "ip/len"; a bare IP means a host prefix (/32 or /128). */
export function parseCidr(s: string): ParsedCidr {
  const slash = s.indexOf('/');
  const ip = mustParseIP(slash < 0 ? s : s.slice(0, slash), 'CIDR');
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, prefixLen: max };
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) throw new TypeError(`invalid CIDR "${s}"`);
  return { ...ip, prefixLen: Number(lenText) };
}

/** Formats 4 or 16 address bytes as text (IPv6 per RFC 5952: lowercase, longest zero run compressed). */
export function formatIP(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new TypeError(`address of ${b.length} bytes`);
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] as number) << 8) | (b[i + 1] as number));
  // IPv4-mapped addresses keep the dotted tail, as Go and iproute2 print them.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  let bestAt = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Zeroes the host bits: the network address of a prefix. */
export function maskBytes(b: Uint8Array, prefixLen: number): Uint8Array {
  const out = new Uint8Array(b);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - i * 8));
    out[i] = (out[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** The IPv4 broadcast address of a prefix (all host bits set). */
export function broadcastBytes(b: Uint8Array, prefixLen: number): Uint8Array {
  const out = new Uint8Array(b);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - i * 8));
    out[i] = (out[i] as number) | (~(0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** Formats hardware address bytes as lowercase colon-separated hex ("0a:58:0a:f4:00:02"). */
export function formatMac(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ':' : '') + (b[i] as number).toString(16).padStart(2, '0');
  return s;
}

/** Parses a hardware address written with ':' or '-' separators (6, 8 or 20 bytes, like Go's ParseMAC). */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (![6, 8, 20].includes(parts.length) || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`invalid MAC address "${s}"`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}
