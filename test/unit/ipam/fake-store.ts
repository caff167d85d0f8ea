// In-memory Store for allocator tests, keyed like the disk store (lease name -> owner text).
import { type IP, formatIP, parseIP } from '../../../shared/ip/index.js';
import type { Store } from '../../../ipam/host-local/store.js';

export class FakeStore implements Store {
  readonly leases = new Map<string, string>();
  readonly cursors = new Map<string, string>();

  constructor(leases: Record<string, string> = {}, cursors: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(leases)) this.leases.set(k, v);
    for (const [k, v] of Object.entries(cursors)) this.cursors.set(k, v);
  }

  reserve(id: string, ifname: string, ip: IP, rangeID: string): boolean {
    const name = formatIP(ip);
    if (this.leases.has(name)) return false;
    this.leases.set(name, `${id}\r\n${ifname}`);
    this.cursors.set(rangeID, name);
    return true;
  }
  lastReservedIP(rangeID: string): IP | undefined {
    const t = this.cursors.get(rangeID);
    return t === undefined ? undefined : parseIP(t);
  }
  private names(id: string, ifname: string): string[] {
    return [...this.leases].filter(([, o]) => o === `${id}\r\n${ifname}` || o === id).map(([n]) => n);
  }
  getByID(id: string, ifname: string): IP[] {
    return this.names(id, ifname).map((n) => parseIP(n)!);
  }
  findByID(id: string, ifname: string): boolean {
    return this.names(id, ifname).length > 0;
  }
  releaseByID(id: string, ifname: string): void {
    const full = [...this.leases].filter(([, o]) => o === `${id}\r\n${ifname}`).map(([n]) => n);
    const names = full.length > 0 ? full : [...this.leases].filter(([, o]) => o === id).map(([n]) => n);
    for (const n of names) this.leases.delete(n);
  }
  releaseIP(id: string, ifname: string, ip: IP): void {
    const n = formatIP(ip);
    if (this.leases.get(n) === `${id}\r\n${ifname}`) this.leases.delete(n);
  }
}
