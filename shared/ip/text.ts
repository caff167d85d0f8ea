// The text codec under shared/ip's one address model (ip.ts, cidr.ts; use those): IP text <-> Go's
// byte form, read and printed the way Go's net package does. Results pass through Go's net.IP /
// net.IPNet in the reference, so a prevResult address comes back canonical: lower-case hex,
// RFC 5952 zero compression, IPv4-mapped IPv6 printed dotted.

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

/** Go's net.ParseIP on text: 4 bytes for dotted IPv4, 16 for IPv6 (IPv4-mapped stays 16); undefined if invalid. */
export function parseIPText(text: string): Uint8Array | undefined {
  if (text.includes(':')) return parseIPv6(text);
  return parseIPv4(text);
}

/** The 16-byte IPv4-mapped IPv6 form ("::ffff:a.b.c.d"), which Go's To4() folds to IPv4. */
export function isV4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Go's net.IP.String() of 4 or 16 bytes: dotted IPv4 (also IPv4-mapped), RFC 5952 for IPv6. */
export function formatIPText(b: Uint8Array): string {
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
