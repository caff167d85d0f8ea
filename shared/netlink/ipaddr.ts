// Address encoding between text (what plugins and results use) and the kernel's raw bytes.
import { formatIP as formatIPText, isIPv4Bytes, parseIP as parseIPText } from '../ip/text.js';
import { AF_INET, AF_INET6 } from './constants.js';

export type Family = 4 | 6;

export const familyToAf = (f: Family): number => (f === 4 ? AF_INET : AF_INET6);
export const afToFamily = (af: number): Family | undefined => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined);

/** Parses an IP address (v4 or v6); undefined when it is not one. */
export function parseIP(s: string): { family: Family; bytes: Uint8Array } | undefined {
  const bytes = parseIPText(s);
  if (!bytes) return undefined;
  // IPv4-mapped IPv6 is IPv4, as Go (To4() != nil) and vishvananda/netlink decide the family.
  return isIPv4Bytes(bytes) ? { family: 4, bytes: bytes.length === 4 ? bytes : bytes.slice(12) } : { family: 6, bytes };
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

/** Formats 4 or 16 address bytes as text, as Go's net.IP.String() does. */
export function formatIP(b: Uint8Array): string {
  if (b.length !== 4 && b.length !== 16) throw new TypeError(`address of ${b.length} bytes`);
  return formatIPText(b);
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
