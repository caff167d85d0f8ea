// The round-robin allocator for one range set, as the reference does it: start after the range
// set's last_reserved_ip (when it is still inside the set), walk every range in order, wrap around,
// skip each range's gateway, and give up on returning to the first candidate. Each candidate is
// claimed by an exclusive create in the store, so no directory scan is needed to find a free address.
import { type IP, equalIP, formatIP, nextIP, netOf, formatCIDR } from '../../shared/ip/index.js';
import type { IPConfig } from '../../shared/cni/types.js';
import { type Range, type RangeSet, rangeFor, rangeSetContains, rangeSetToString } from './range.js';
import type { Store } from './store.js';

/** Why an allocation failed; the plugin maps the kind to a CNI error code. */
export class AllocationError extends Error {
  constructor(
    readonly kind: 'duplicate' | 'requested-gateway' | 'requested-unavailable' | 'requested-outside' | 'exhausted',
    message: string,
  ) {
    super(message);
  }
}

/** A lease as the allocator hands it out. */
export interface Allocation {
  ip: IP;
  range: Range;
}

export function toIPConfig(a: Allocation): IPConfig {
  return { address: formatCIDR(netOf(a.ip, a.range.subnet.prefix)), gateway: formatIP(a.range.gateway) };
}

/** Iterates candidate addresses of a range set in the reference's round-robin order. */
export class RangeIter {
  private rangeIdx = 0;
  private cur: IP | undefined;
  private startIP: IP | undefined;

  constructor(
    private readonly set: RangeSet,
    lastReserved: IP | undefined,
  ) {
    const startRange = lastReserved ? set.findIndex((r) => rangeSetContains([r], lastReserved)) : -1;
    if (lastReserved && startRange >= 0) {
      this.rangeIdx = startRange;
      // Next() advances first, so the first candidate is lastReserved + 1.
      this.cur = lastReserved;
    } else {
      this.startIP = set[0]!.rangeStart;
    }
  }

  /** The next candidate, or undefined once every address was offered. */
  next(): Allocation | undefined {
    // A loop rather than the reference's recursion: gateways are skipped by going round again.
    for (;;) {
      let r = this.set[this.rangeIdx]!;
      if (this.cur === undefined) {
        this.cur = r.rangeStart;
        this.startIP = this.cur;
        if (equalIP(this.cur, r.gateway)) continue;
        return { ip: this.cur, range: r };
      }
      if (equalIP(this.cur, r.rangeEnd)) {
        this.rangeIdx = (this.rangeIdx + 1) % this.set.length;
        r = this.set[this.rangeIdx]!;
        this.cur = r.rangeStart;
      } else {
        this.cur = nextIP(this.cur);
      }
      if (this.startIP === undefined) this.startIP = this.cur;
      else if (equalIP(this.cur, this.startIP)) return undefined;
      if (equalIP(this.cur, r.gateway)) continue;
      return { ip: this.cur, range: r };
    }
  }
}

export class IPAllocator {
  private readonly rangeID: string;

  constructor(
    private readonly set: RangeSet,
    private readonly store: Store,
    index: number,
  ) {
    this.rangeID = String(index);
  }

  /** Allocates one address of the set for (id, ifname): the requested one, or the next free one. */
  get(id: string, ifname: string, requested?: IP): Allocation {
    if (requested) return this.getRequested(id, ifname, requested);
    // A second ADD for the same attachment is a runtime bug; the spec says refuse it.
    for (const held of this.store.getByID(id, ifname)) {
      if (rangeSetContains(this.set, held)) {
        throw new AllocationError(
          'duplicate',
          `${formatIP(held)} has been allocated to ${id}, duplicate allocation is not allowed`,
        );
      }
    }
    const iter = new RangeIter(this.set, this.lastReservedInSet());
    for (let cand = iter.next(); cand; cand = iter.next()) {
      if (this.store.reserve(id, ifname, cand.ip, this.rangeID)) return cand;
    }
    throw new AllocationError('exhausted', `no IP addresses available in range set: ${rangeSetToString(this.set)}`);
  }

  private getRequested(id: string, ifname: string, requested: IP): Allocation {
    const r = rangeFor(this.set, requested);
    if (!r) {
      throw new AllocationError(
        'requested-outside',
        `${formatIP(requested)} not in range set ${rangeSetToString(this.set)}`,
      );
    }
    if (equalIP(requested, r.gateway)) {
      throw new AllocationError('requested-gateway', `requested ip ${formatIP(requested)} is subnet's gateway`);
    }
    if (!this.store.reserve(id, ifname, requested, this.rangeID)) {
      throw new AllocationError(
        'requested-unavailable',
        `requested IP address ${formatIP(requested)} is not available in range set ${rangeSetToString(this.set)}`,
      );
    }
    return { ip: requested, range: r };
  }

  private lastReservedInSet(): IP | undefined {
    const last = this.store.lastReservedIP(this.rangeID);
    // A cursor from another config (range indexes changed) only costs round-robin this once.
    return last && rangeSetContains(this.set, last) ? last : undefined;
  }
}
