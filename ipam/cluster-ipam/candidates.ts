// The addresses a range set can hand out, in round-robin order after a cursor: host-local's order
// (ranges in turn, wrapping, each range's gateway skipped), plus `exclude` blocks, which are jumped
// over whole so a large excluded block costs one step, not one per address.
import { type IP, type IPNet, compareIP, containsIP, equalIP, lastOf, nextIP } from '../../shared/ip/index.js';
import { type Range, type RangeSet, rangeFor } from '../host-local/range.js';

export interface Candidate {
  ip: IP;
  range: Range;
}

/** The exclude block holding `ip`, if any. */
const excludedBy = (exclude: readonly IPNet[], ip: IP): IPNet | undefined =>
  exclude.find((net) => net.ip.family === ip.family && containsIP(net, ip));

/** Whether `ip` may be handed out from `set`: inside a range, not its gateway, not excluded. */
export function allocatable(set: RangeSet, exclude: readonly IPNet[], ip: IP): Range | undefined {
  const r = rangeFor(set, ip);
  if (!r || equalIP(ip, r.gateway) || excludedBy(exclude, ip)) return undefined;
  return r;
}

/** Addresses of `range` from lo to hi (inclusive), gateway and excluded blocks left out. */
function* walk(range: Range, lo: IP, hi: IP, exclude: readonly IPNet[]): Generator<Candidate> {
  let ip: IP | undefined = lo;
  while (ip && compareIP(ip, hi) <= 0) {
    const block = excludedBy(exclude, ip);
    if (block) {
      const last = lastOf(block);
      ip = compareIP(last, hi) >= 0 ? undefined : nextIP(last);
      continue;
    }
    if (!equalIP(ip, range.gateway)) yield { ip, range };
    ip = compareIP(ip, hi) === 0 ? undefined : nextIP(ip);
  }
}

/**
 * Every allocatable address of `set` once, starting right after `after` when it lies in the set
 * (round-robin), else at the first range's start.
 */
export function* candidates(set: RangeSet, exclude: readonly IPNet[], after: IP | undefined): Generator<Candidate> {
  const k = after ? set.findIndex((r) => compareIP(after, r.rangeStart) >= 0 && compareIP(after, r.rangeEnd) <= 0 && r.rangeStart.family === after.family) : -1;
  if (!after || k < 0) {
    for (const r of set) yield* walk(r, r.rangeStart, r.rangeEnd, exclude);
    return;
  }
  const first = set[k]!;
  if (!equalIP(after, first.rangeEnd)) yield* walk(first, nextIP(after), first.rangeEnd, exclude);
  for (let i = 1; i < set.length; i++) {
    const r = set[(k + i) % set.length]!;
    yield* walk(r, r.rangeStart, r.rangeEnd, exclude);
  }
  yield* walk(first, first.rangeStart, after, exclude);
}

/** The first candidate after `after` that `taken` does not hold, or undefined when the set is full. */
export function firstFree(set: RangeSet, exclude: readonly IPNet[], after: IP | undefined, taken: ReadonlySet<string>, key: (ip: IP) => string): Candidate | undefined {
  for (const c of candidates(set, exclude, after)) if (!taken.has(key(c.ip))) return c;
  return undefined;
}
