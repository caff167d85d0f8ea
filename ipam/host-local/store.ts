// What the allocator needs from persistent state. The disk store (disk-store.ts) keeps the
// reference's file layout; a fake (test/unit/ipam/fake-store.ts) serves the pure unit tests.
import type { IP } from '../../shared/ip/index.js';

export interface Store {
  /**
   * Creates the lease for ip if it is free (exclusive create) and records ip as the last
   * reserved address of range set rangeID. False when the address is taken.
   */
  reserve(id: string, ifname: string, ip: IP, rangeID: string): boolean;
  /** The last_reserved_ip of a range set, if recorded and parseable. */
  lastReservedIP(rangeID: string): IP | undefined;
  /** Addresses held by (id, ifname), including legacy leases that name only id. */
  getByID(id: string, ifname: string): IP[];
  /** Whether (id, ifname), or legacy id, holds any address. */
  findByID(id: string, ifname: string): boolean;
  /** Releases the leases of (id, ifname); if there are none, the legacy leases of id. */
  releaseByID(id: string, ifname: string): void;
  /** Releases exactly one lease if (id, ifname) holds it (rollback of a failed ADD). */
  releaseIP(id: string, ifname: string, ip: IP): void;
}
