import { describe, expect, it } from 'vitest';
import {
  compareIP,
  containsIP,
  formatCIDR,
  formatIP,
  hasHostBits,
  lastOf,
  networkOf,
  nextIP,
  overlaps,
  parseCIDR,
  parseIP,
  prevIP,
} from '../../../shared/ip/index.js';
import { canonicalRoute } from '../../../shared/ip/route.js';
import type { Route } from '../../../shared/cni/types.js';

const ip = (s: string) => {
  const v = parseIP(s);
  if (!v) throw new Error(`bad test ip ${s}`);
  return v;
};
const net = (s: string) => {
  const v = parseCIDR(s);
  if (!v) throw new Error(`bad test cidr ${s}`);
  return v;
};

describe('parseIP / formatIP (Go net.ParseIP / IP.String)', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['1:0:0:0:0:0:0:8', '1::8'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['0:0:1:0:0:0:0:0', '0:0:1::'],
    ['3ffe:ffff:0:01ff::1', '3ffe:ffff:0:1ff::1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['::10.1.2.3', '::a01:203'],
    ['1:2:3:4:5:6:10.1.2.3', '1:2:3:4:5:6:a01:203'],
    ['fe80::1:2', 'fe80::1:2'],
  ])('%s -> %s', (input, want) => {
    expect(formatIP(ip(input))).toBe(want);
  });

  it('folds IPv4-mapped IPv6 to IPv4, as To4() does', () => {
    expect(ip('::ffff:10.1.2.3')).toEqual(ip('10.1.2.3'));
    expect(ip('::ffff:10.1.2.3').family).toBe(4);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1.2.3.-1', 'a.b.c.d', '1::2::3', '1:2:3:4:5:6:7:8:9',
    '12345::1', 'fe80::1%eth0', '::1.2.3', '1.2.3.4:80', ' 1.2.3.4', '1:2:3:4:5:6:7::1.2.3.4', ':1:2'])(
    'rejects %j',
    (input) => {
      expect(parseIP(input)).toBeUndefined();
    },
  );

  it('prints addresses in the IPv4-mapped block of an IPv6 value dotted, like Go', () => {
    expect(formatIP({ family: 6, value: (0xffffn << 32n) | 0x0a010203n })).toBe('10.1.2.3');
  });
});

describe('arithmetic', () => {
  it('next/prev with wrap-around', () => {
    expect(formatIP(nextIP(ip('10.0.0.255')))).toBe('10.0.1.0');
    expect(formatIP(nextIP(ip('255.255.255.255')))).toBe('0.0.0.0');
    expect(formatIP(prevIP(ip('0.0.0.0')))).toBe('255.255.255.255');
    expect(formatIP(nextIP(ip('2001:db8::ffff')))).toBe('2001:db8::1:0');
    expect(formatIP(prevIP(ip('::')))).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });
  it('compares within and across families', () => {
    expect(compareIP(ip('10.0.0.1'), ip('10.0.0.2'))).toBe(-1);
    expect(compareIP(ip('10.0.0.2'), ip('10.0.0.2'))).toBe(0);
    expect(compareIP(ip('2001:db8::1'), ip('10.0.0.2'))).toBe(2);
  });
});

describe('CIDR', () => {
  it('parses like net.ParseCIDR and keeps host bits', () => {
    expect(formatCIDR(net('10.1.2.3/24'))).toBe('10.1.2.3/24');
    expect(formatIP(networkOf(net('10.1.2.3/24')))).toBe('10.1.2.0');
    expect(formatIP(lastOf(net('10.1.2.3/24')))).toBe('10.1.2.255');
    expect(formatIP(lastOf(net('2001:db8:1::/64')))).toBe('2001:db8:1:0:ffff:ffff:ffff:ffff');
    expect(hasHostBits(net('10.1.2.3/24'))).toBe(true);
    expect(hasHostBits(net('10.1.2.0/24'))).toBe(false);
    expect(formatCIDR(net('3ffe:ffff:0:01ff::1/64'))).toBe('3ffe:ffff:0:1ff::1/64');
  });
  it.each(['10.1.2.3', '10.1.2.3/33', '2001:db8::/129', '10.1.2.3/-1', '10.1.2.3/a', 'x/24', '10.1.2.3/'])('rejects %j', (s) => {
    expect(parseCIDR(s)).toBeUndefined();
  });
  it('contains and overlaps', () => {
    expect(containsIP(net('10.1.0.0/16'), ip('10.1.255.255'))).toBe(true);
    expect(containsIP(net('10.1.0.0/16'), ip('10.2.0.0'))).toBe(false);
    expect(containsIP(net('10.1.0.0/16'), ip('2001:db8::1'))).toBe(false);
    expect(containsIP(net('0.0.0.0/0'), ip('1.2.3.4'))).toBe(true);
    expect(overlaps(net('10.1.0.0/16'), net('10.1.2.0/24'))).toBe(true);
    expect(overlaps(net('10.1.0.0/24'), net('10.1.1.0/24'))).toBe(false);
    expect(overlaps(net('10.1.0.0/24'), net('2001:db8::/32'))).toBe(false);
  });
  it('treats a mapped address with an IPv6 mask like Go does', () => {
    const n = net('::ffff:10.0.0.0/104');
    expect(n.ip.family).toBe(4);
    expect(n.maskBits).toBe(128);
    expect(formatCIDR(n)).toBe('10.0.0.0/8');
    expect(containsIP(n, ip('10.9.9.9'))).toBe(true);
  });
});

describe('canonicalRoute', () => {
  it('prints dst and gw through Go types, keeping other fields', () => {
    expect(canonicalRoute({ dst: '3ffe:ffff:0:01ff::1/64', gw: '3FFE::1', mtu: 1400 }, 'r')).toEqual({
      dst: '3ffe:ffff:0:1ff::1/64',
      gw: '3ffe::1',
      mtu: 1400,
    });
    expect(canonicalRoute({ dst: '0.0.0.0/0' }, 'r')).toEqual({ dst: '0.0.0.0/0' });
  });
  it('names the field and value of a bad route', () => {
    expect(canonicalRoute({ dst: '10.0.0.0' }, 'ipam.routes[1]')).toBe('ipam.routes[1].dst: invalid CIDR address "10.0.0.0"');
    expect(canonicalRoute({ dst: '10.0.0.0/8', gw: 'x' }, 'ipam.routes[0]')).toBe('ipam.routes[0].gw: invalid IP address "x"');
  });
  it('a route without dst (the schema lets it through) is an error, not a crash (fuzz finding)', () => {
    expect(canonicalRoute({ gw: '10.0.0.1' } as unknown as Route, 'ipam.routes[0]')).toBe('ipam.routes[0].dst: invalid CIDR address ""');
  });
});
