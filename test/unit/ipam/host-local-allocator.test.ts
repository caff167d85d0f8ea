import { describe, expect, it } from 'vitest';
import { formatIP, parseCIDR, parseIP } from '../../../shared/ip/index.js';
import { AllocationError, IPAllocator, RangeIter, toIPConfig } from '../../../ipam/host-local/allocator.js';
import { type RangeSet, canonicalizeRangeSet } from '../../../ipam/host-local/range.js';
import { FakeStore } from './fake-store.js';

const set = (...subnets: string[]): RangeSet => canonicalizeRangeSet(subnets.map((s) => ({ subnet: parseCIDR(s)! })));
const alloc = (s: RangeSet, store: FakeStore, id = 'ID', ifn = 'eth0', req?: string) =>
  new IPAllocator(s, store, 0).get(id, ifn, req ? parseIP(req) : undefined);

describe('round-robin allocation (reference allocator_test cases)', () => {
  const cases: { subnets: string[]; leases?: string[]; last?: string; want: string }[] = [
    { subnets: ['10.0.0.0/29'], want: '10.0.0.2' },
    { subnets: ['2001:db8:1::0/64'], want: '2001:db8:1::2' },
    { subnets: ['10.0.0.0/30'], want: '10.0.0.2' },
    { subnets: ['10.0.0.0/29'], leases: ['10.0.0.2'], want: '10.0.0.3' },
    { subnets: ['10.0.0.0/29'], last: '10.0.0.4', want: '10.0.0.5' },
    { subnets: ['10.0.0.0/29'], leases: ['10.0.0.4', '10.0.0.5'], last: '10.0.0.3', want: '10.0.0.6' },
    // wrap-around: .6 is the last address (.7 is broadcast), then .1 is the gateway
    { subnets: ['10.0.0.0/29'], leases: ['10.0.0.6'], last: '10.0.0.5', want: '10.0.0.2' },
    // a cursor outside the set starts from the beginning
    { subnets: ['10.0.0.0/29'], last: '10.1.0.5', want: '10.0.0.2' },
    // across ranges: the second range's first address is its gateway
    { subnets: ['10.0.0.0/30', '10.0.1.0/30'], last: '10.0.0.2', want: '10.0.1.2' },
    { subnets: ['10.0.0.0/30', '10.0.1.0/30'], last: '10.0.1.2', want: '10.0.0.2' },
    { subnets: ['10.0.0.0/30', '10.0.1.0/30'], leases: ['10.0.0.2'], want: '10.0.1.2' },
    { subnets: ['2001:db8:1::/64'], last: '2001:db8:1::ffff', want: '2001:db8:1::1:0' },
  ];
  it.each(cases)('%j', ({ subnets, leases = [], last, want }) => {
    const store = new FakeStore(Object.fromEntries(leases.map((l) => [l, 'other'])), last ? { '0': last } : {});
    const got = alloc(set(...subnets), store);
    expect(formatIP(got.ip)).toBe(want);
    expect(store.cursors.get('0')).toBe(want);
    expect(store.leases.get(want)).toBe('ID\r\neth0');
  });

  it('walks the whole /24 once, never the gateway or broadcast, then reports exhaustion', () => {
    const s = set('192.168.77.0/24');
    const store = new FakeStore();
    const seen = new Set<string>();
    for (let i = 0; i < 253; i++) seen.add(formatIP(alloc(s, store, `c${i}`).ip));
    expect(seen.size).toBe(253);
    expect(seen.has('192.168.77.1')).toBe(false);
    expect(seen.has('192.168.77.255')).toBe(false);
    expect(seen.has('192.168.77.0')).toBe(false);
    expect(() => alloc(s, store, 'late')).toThrow('no IP addresses available in range set: 192.168.77.1-192.168.77.254');
  });

  it('reuses a released address only after going round the whole range', () => {
    const s = set('10.0.0.0/29');
    const store = new FakeStore();
    expect(formatIP(alloc(s, store, 'a').ip)).toBe('10.0.0.2');
    store.releaseByID('a', 'eth0');
    expect(formatIP(alloc(s, store, 'b').ip)).toBe('10.0.0.3');
    for (const id of ['c', 'd', 'e']) alloc(s, store, id);
    expect(formatIP(alloc(s, store, 'f').ip)).toBe('10.0.0.2');
  });

  it('honours a configured gateway inside the range and custom start/end', () => {
    const s = canonicalizeRangeSet([
      { subnet: parseCIDR('10.9.0.0/24')!, rangeStart: parseIP('10.9.0.10'), rangeEnd: parseIP('10.9.0.12'), gateway: parseIP('10.9.0.11') },
    ]);
    const store = new FakeStore();
    expect(formatIP(alloc(s, store, 'a').ip)).toBe('10.9.0.10');
    expect(formatIP(alloc(s, store, 'b').ip)).toBe('10.9.0.12');
    expect(() => alloc(s, store, 'c')).toThrow(AllocationError);
  });

  it('gives the result address the subnet prefix and the range gateway', () => {
    const s = set('10.0.0.0/29');
    expect(toIPConfig(alloc(s, new FakeStore()))).toEqual({ address: '10.0.0.2/29', gateway: '10.0.0.1' });
  });

  it('refuses a duplicate (cid, ifname) in the same set, also for legacy leases', () => {
    const s = set('10.0.0.0/29');
    const store = new FakeStore();
    alloc(s, store, 'dup');
    expect(() => alloc(s, store, 'dup')).toThrow('10.0.0.2 has been allocated to dup, duplicate allocation is not allowed');
    expect(formatIP(alloc(s, store, 'dup', 'eth1').ip)).toBe('10.0.0.3');
    const legacy = new FakeStore({ '10.0.0.5': 'old' });
    expect(() => alloc(s, legacy, 'old')).toThrow('10.0.0.5 has been allocated to old');
    // A lease in another set is not a duplicate for this one.
    expect(formatIP(alloc(set('10.0.1.0/29'), store, 'dup').ip)).toBe('10.0.1.2');
  });
});

describe('requested addresses', () => {
  const s = set('10.0.0.0/29');
  it('allocates the requested address and moves the cursor to it', () => {
    const store = new FakeStore();
    expect(formatIP(alloc(s, store, 'a', 'eth0', '10.0.0.5').ip)).toBe('10.0.0.5');
    expect(store.cursors.get('0')).toBe('10.0.0.5');
    expect(formatIP(alloc(s, store, 'b').ip)).toBe('10.0.0.6');
  });
  it('errors on the gateway, a taken address, and an address outside the set', () => {
    const store = new FakeStore({ '10.0.0.3': 'x' });
    expect(() => alloc(s, store, 'a', 'eth0', '10.0.0.1')).toThrow("requested ip 10.0.0.1 is subnet's gateway");
    expect(() => alloc(s, store, 'a', 'eth0', '10.0.0.3')).toThrow(
      'requested IP address 10.0.0.3 is not available in range set 10.0.0.1-10.0.0.6',
    );
    expect(() => alloc(s, store, 'a', 'eth0', '10.0.0.7')).toThrow('10.0.0.7 not in range set 10.0.0.1-10.0.0.6');
  });
});

describe('RangeIter', () => {
  it('ends after one full lap when started from a cursor', () => {
    const s = set('10.0.0.0/29');
    const it = new RangeIter(s, parseIP('10.0.0.4'));
    const out: string[] = [];
    for (let c = it.next(); c; c = it.next()) out.push(formatIP(c.ip));
    expect(out).toEqual(['10.0.0.5', '10.0.0.6', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
  });
  it('terminates on a range holding only its gateway', () => {
    const s = canonicalizeRangeSet([
      { subnet: parseCIDR('10.0.0.0/24')!, rangeStart: parseIP('10.0.0.1'), rangeEnd: parseIP('10.0.0.1') },
    ]);
    expect(new RangeIter(s, undefined).next()).toBeUndefined();
  });
});
