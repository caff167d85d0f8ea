// Address families on the wire, and hardware addresses. IP addresses themselves are shared/ip's one
// model: the builders parse their text arguments with mustParseIP / mustParsePrefix and send
// ipToBytes(...); the decoders print ipFromBytes(...) with formatIP.
import type { Family } from '../ip/index.js';
import { AF_INET, AF_INET6 } from './constants.js';

export const familyToAf = (f: Family): number => (f === 4 ? AF_INET : AF_INET6);
export const afToFamily = (af: number): Family | undefined => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined);

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
