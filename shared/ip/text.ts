// The one parser and printer of IP text in the suite (netlink, results, host-local file names all use it).
// IP and CIDR text the way Go's net package reads and prints it. Results pass through Go's
// net.IP / net.IPNet in the reference, so a prevResult address comes back canonical:
// lower-case hex, RFC 5952 zero compression, IPv4-mapped IPv6 printed dotted, host bits kept.

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    // Go rejects empty fields, non-digits, values over 255 and leading zeros.
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let rest = text;
  // A trailing dotted quad stands for the last two groups.
  let tail: Uint8Array | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (rest.includes('.')) {
    tail = parseIPv4(rest.slice(lastColon + 1));
    if (!tail) return undefined;
    // Parse the groups with two zero placeholders, then overwrite them with the quad.
    rest = `${rest.slice(0, lastColon + 1)}0:0`;
  }
  const halves = rest.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(Number.parseInt(g, 16));
    }
    return groups;
  };
  const head = toGroups(halves[0] ?? '');
  const back = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  if (!head || !back) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - back.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...back];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

/** Parses an IP like Go's net.ParseIP: 4 bytes for dotted IPv4, 16 for IPv6; undefined if invalid. */
export function parseIP(text: string): Uint8Array | undefined {
  if (text.includes(':')) return parseIPv6(text);
  return parseIPv4(text);
}

function isV4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Go's To4() != nil: dotted IPv4 and IPv4-mapped IPv6 both count as IPv4. */
export function isIPv4Bytes(b: Uint8Array): boolean {
  return b.length === 4 || isV4Mapped(b);
}

/** Go's net.IP.String(). */
export function formatIP(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (isV4Mapped(b)) return Array.from(b.subarray(12)).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // Longest run of zero groups (first one on a tie), compressed only when at least two long.
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

/** Canonical text of an IP, or undefined when Go would reject it. */
export function canonicalIP(text: string): string | undefined {
  const b = parseIP(text);
  return b ? formatIP(b) : undefined;
}

export interface ParsedCIDR {
  ip: Uint8Array;
  prefix: number;
}

/** Go's net.ParseCIDR, keeping the address as written (host bits included). */
export function parseCIDR(text: string): ParsedCIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (!ip || !/^[0-9]+$/.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > ip.length * 8) return undefined;
  return { ip, prefix };
}

/** Canonical "ip/len" (host bits kept, as libcni's types.IPNet prints it), or undefined if invalid. */
export function canonicalCIDR(text: string): string | undefined {
  const c = parseCIDR(text);
  return c ? `${formatIP(c.ip)}/${c.prefix}` : undefined;
}

/**
 * Address family of an IP or CIDR text as Go decides it (IPv4-mapped counts as 4).
 * Unparsable text falls back to "contains a colon" so a conversion never throws.
 */
export function ipFamily(text: string): 4 | 6 {
  const slash = text.indexOf('/');
  const b = parseIP(slash >= 0 ? text.slice(0, slash) : text);
  if (b) return isIPv4Bytes(b) ? 4 : 6;
  return text.includes(':') ? 6 : 4;
}
