// shared/iface pure helpers: the route ConfigureIface asks for, and prefix arithmetic.
import { describe, expect, it } from 'vitest';
import { networkOfCidr, routeSpecFor } from '../../../shared/iface/configure.js';

describe('shared/iface', () => {
  it('a route without gw takes the first gateway of its family; priority/table/scope kept', () => {
    expect(routeSpecFor({ dst: '0.0.0.0/0' }, 3, '10.0.0.1', '2001:db8::1')).toEqual({ dst: '0.0.0.0/0', ifindex: 3, gw: '10.0.0.1' });
    expect(routeSpecFor({ dst: '::/0' }, 3, '10.0.0.1', '2001:db8::1')).toEqual({ dst: '::/0', ifindex: 3, gw: '2001:db8::1' });
    expect(routeSpecFor({ dst: '10.9.0.0/16' }, 3, undefined, undefined)).toEqual({ dst: '10.9.0.0/16', ifindex: 3 });
    expect(routeSpecFor({ dst: '10.9.0.0/16', gw: '10.0.0.9', priority: 5, table: 100, scope: 253, mtu: 1400 }, 3, '10.0.0.1', undefined)).toEqual({
      dst: '10.9.0.0/16', ifindex: 3, gw: '10.0.0.9', priority: 5, table: 100, scope: 253,
    });
  });

  it('networkOfCidr clears host bits in both families', () => {
    expect(networkOfCidr('10.1.2.3/24')).toBe('10.1.2.0/24');
    expect(networkOfCidr('10.1.2.3/32')).toBe('10.1.2.3/32');
    expect(networkOfCidr('2001:db8:78::2/64')).toBe('2001:db8:78::/64');
    expect(networkOfCidr('3ffe:ffff:0:1ff::1/66')).toBe('3ffe:ffff:0:1ff::/66');
  });
});
