// Go's net.ParseMAC: 6, 8 or 20 bytes written as two-digit hex groups separated by ":" or "-" (one
// separator throughout), or as four-digit groups separated by ".". Returns Go's HardwareAddr.String()
// form (lower case, ":"), or undefined when `s` is not a MAC address.
export function canonicalMac(s: string): string | undefined {
  let groups: string[];
  let width: number;
  if (s.length < 14) return undefined;
  if (s[2] === ':' || s[2] === '-') {
    groups = s.split(s[2]);
    width = 2;
  } else if (s[4] === '.') {
    groups = s.split('.');
    width = 4;
  } else {
    return undefined;
  }
  if (!groups.every((g) => g.length === width && /^[0-9a-fA-F]+$/.test(g))) return undefined;
  const bytes = groups.join('').toLowerCase().match(/../g) ?? [];
  if (![6, 8, 20].includes(bytes.length)) return undefined;
  return bytes.join(':');
}
