// Ranges and range sets: the pure half of host-local's allocator (no disk). Canonicalisation fills
// the defaults and reports problems with the reference's wording, which its tests assert.
import {
  type Family,
  type IP,
  type IPNet,
  compareIP,
  containsIP,
  familyBits,
  formatCIDR,
  formatIP,
  hasHostBits,
  lastOf,
  networkOf,
  nextIP,
} from '../../shared/ip/index.js';

/** A range as written in the config, addresses already parsed. */
export interface RangeInput {
  subnet: IPNet;
  rangeStart?: IP;
  rangeEnd?: IP;
  gateway?: IP;
}

/** A canonical range: every field filled. */
export interface Range {
  readonly subnet: IPNet;
  readonly rangeStart: IP;
  readonly rangeEnd: IP;
  readonly gateway: IP;
}

export type RangeSet = readonly Range[];

/** A problem in one range; the caller adds "invalid range set N: ". */
export class RangeError extends Error {}

interface Bounds {
  subnet: IPNet;
  rangeStart?: IP | undefined;
  rangeEnd?: IP | undefined;
}

/** The reference's Range.Contains: same family, in the subnet, and within start..end where those are set. */
export function rangeContains(r: Bounds, addr: IP): boolean {
  if (addr.family !== r.subnet.ip.family) return false;
  if (!containsIP(r.subnet, addr)) return false;
  if (r.rangeStart && compareIP(addr, r.rangeStart) < 0) return false;
  if (r.rangeEnd && compareIP(addr, r.rangeEnd) > 0) return false;
  return true;
}

/** Default end: the last address, minus the broadcast address for IPv4. */
function defaultRangeEnd(subnet: IPNet): IP {
  const last = lastOf(subnet);
  return subnet.ip.family === 4 ? { family: 4, value: last.value - 1n } : last;
}

export function canonicalizeRange(input: RangeInput): Range {
  const { subnet } = input;
  const bits = familyBits(subnet.ip.family);
  const ones = subnet.prefix;
  if (ones > subnet.maskBits - 2) throw new RangeError(`Network ${formatCIDR(subnet)} too small to allocate from`);
  if (bits !== subnet.maskBits) throw new RangeError('IPNet IP and Mask version mismatch');
  if (hasHostBits(subnet)) {
    throw new RangeError(
      `Network has host bits set. For a subnet mask of length ${ones} the network address is ${formatIP(networkOf(subnet))}`,
    );
  }
  const first = nextIP(networkOf(subnet));
  const gateway = input.gateway ?? first;
  // As in the reference, start is checked while the configured end still bounds it, then end against start.
  const rangeStart = input.rangeStart ?? first;
  if (input.rangeStart && !rangeContains({ subnet, rangeStart, rangeEnd: input.rangeEnd }, rangeStart)) {
    throw new RangeError(`RangeStart ${formatIP(rangeStart)} not in network ${formatCIDR(subnet)}`);
  }
  const rangeEnd = input.rangeEnd ?? defaultRangeEnd(subnet);
  if (input.rangeEnd && !rangeContains({ subnet, rangeStart, rangeEnd }, rangeEnd)) {
    throw new RangeError(`RangeEnd ${formatIP(rangeEnd)} not in network ${formatCIDR(subnet)}`);
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

export const rangeToString = (r: Range): string => `${formatIP(r.rangeStart)}-${formatIP(r.rangeEnd)}`;

export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false;
  return (
    rangeContains(a, b.rangeStart) ||
    rangeContains(a, b.rangeEnd) ||
    rangeContains(b, a.rangeStart) ||
    rangeContains(b, a.rangeEnd)
  );
}

/** Canonicalises every range of a set and checks family mix and overlaps inside the set. */
export function canonicalizeRangeSet(inputs: readonly RangeInput[]): RangeSet {
  if (inputs.length === 0) throw new RangeError('empty range set');
  const set: Range[] = [];
  for (const input of inputs) {
    const r = canonicalizeRange(input);
    if (set.length > 0 && set[0]!.rangeStart.family !== r.rangeStart.family) {
      throw new RangeError('mixed address families');
    }
    set.push(r);
  }
  for (let i = 0; i < set.length - 1; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i]!, set[j]!)) {
        throw new RangeError(`subnets ${rangeToString(set[i]!)} and ${rangeToString(set[j]!)} overlap`);
      }
    }
  }
  return set;
}

export const rangeSetToString = (s: RangeSet): string => s.map(rangeToString).join(',');

export function rangeFor(s: RangeSet, addr: IP): Range | undefined {
  return s.find((r) => rangeContains(r, addr));
}

export const rangeSetContains = (s: RangeSet, addr: IP): boolean => rangeFor(s, addr) !== undefined;

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((r) => b.some((r1) => rangesOverlap(r, r1)));
}

export const rangeSetFamily = (s: RangeSet): Family => s[0]!.rangeStart.family;
