// The byte and prefix views of shared/ip's one address model (what netlink sends and decodes).
import { describe, expect, it } from 'vitest';
import {
  canonicalCIDR,
  formatCIDR,
  formatIP,
  formatNetwork,
  hostNetOf,
  ipFamily,
  ipFromBytes,
  ipToBytes,
  lastOf,
  mustParseIP,
  mustParsePrefix,
  networkOf,
  parseCIDR,
  parseIP,
  prefixLength,
} from '../../../shared/ip/index.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('ipToBytes / ipFromBytes', () => {
  it.each(['0.0.0.0', '10.31.2.3', '255.255.255.255', '::', '::1', 'fd31::1', 'fd31:0:0:1::ff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'])(
    'round-trips %s through its bytes',
    (text) => {
      const ip = parseIP(text)!;
      const b = ipToBytes(ip);
      expect(b.length).toBe(ip.family === 4 ? 4 : 16);
      expect(ipFromBytes(b)).toEqual(ip);
      expect(formatIP(ipFromBytes(b))).toBe(text);
    },
  );

  it('puts the address in network byte order', () => {
    expect(hex(ipToBytes(parseIP('10.31.2.3')!))).toBe('0a1f0203');
    expect(hex(ipToBytes(parseIP('fd31::1:2')!))).toBe('fd310000000000000000000000010002');
  });

  it('folds 16-byte IPv4-mapped input to IPv4 (Go To4), and parseIP does the same', () => {
    const mapped = bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 31, 0, 7);
    expect(ipFromBytes(mapped)).toEqual({ family: 4, value: 0x0a1f0007n });
    expect(ipFromBytes(mapped)).toEqual(parseIP('::ffff:10.31.0.7'));
    expect(hex(ipToBytes(ipFromBytes(mapped)))).toBe('0a1f0007');
    // Only ::ffff:0:0/96 folds; the NAT64 prefix stays IPv6.
    expect(ipFromBytes(bytes(0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 10, 31, 0, 7)).family).toBe(6);
  });

  it('refuses lengths other than 4 and 16 with the message netlink always gave', () => {
    expect(() => ipFromBytes(bytes(1, 2, 3))).toThrow(new TypeError('address of 3 bytes'));
    expect(() => ipFromBytes(new Uint8Array(6))).toThrow('address of 6 bytes');
  });

  it('mustParseIP names what was wrong', () => {
    expect(mustParseIP('fd31::9', 'gateway')).toEqual(parseIP('fd31::9'));
    expect(() => mustParseIP('10.31.0.300', 'gateway')).toThrow(new TypeError('invalid gateway "10.31.0.300"'));
    expect(() => mustParseIP('x')).toThrow('invalid IP address "x"');
  });
});

describe('CIDR views', () => {
  it('keeps host bits; network, last (broadcast) and bytes are views', () => {
    const n = parseCIDR('10.31.2.77/20')!;
    expect(formatCIDR(n)).toBe('10.31.2.77/20');
    expect(formatIP(networkOf(n))).toBe('10.31.0.0');
    expect(formatNetwork(n)).toBe('10.31.0.0/20');
    expect(hex(ipToBytes(networkOf(n)))).toBe('0a1f0000');
    expect(hex(ipToBytes(lastOf(n)))).toBe('0a1f0fff');
    expect(prefixLength(n)).toBe(20);
    const v6 = parseCIDR('fd31:b456::1/17')!;
    expect(formatIP(networkOf(v6))).toBe('fd31:8000::');
    expect(formatNetwork(v6)).toBe('fd31:8000::/17');
    expect(formatIP(lastOf(v6))).toBe('fd31:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  it('edge prefixes: /0, /31, /32, /128', () => {
    expect(formatNetwork(parseCIDR('10.31.2.3/0')!)).toBe('0.0.0.0/0');
    expect(formatIP(lastOf(parseCIDR('10.31.2.3/0')!))).toBe('255.255.255.255');
    expect(formatIP(lastOf(parseCIDR('10.31.2.2/31')!))).toBe('10.31.2.3');
    expect(formatNetwork(parseCIDR('10.31.2.3/32')!)).toBe('10.31.2.3/32');
    expect(formatNetwork(parseCIDR('fd31::5/128')!)).toBe('fd31::5/128');
    expect(formatNetwork(parseCIDR('fd31::5/0')!)).toBe('::/0');
  });

  it('an IPv4-mapped CIDR is the IPv4 prefix Go makes of it (mask: its last 32 bits)', () => {
    const n = parseCIDR('::ffff:10.31.2.3/120')!;
    expect(n.ip.family).toBe(4);
    expect(prefixLength(n)).toBe(24);
    expect(formatCIDR(n)).toBe('10.31.2.3/24');
    expect(formatNetwork(n)).toBe('10.31.2.0/24');
    expect(prefixLength(parseCIDR('::ffff:10.31.2.3/64')!)).toBe(0);
    expect(canonicalCIDR('::ffff:10.31.2.3/64')).toBe('10.31.2.3/0');
  });

  it('reads the length like Go (decimal, leading zeros allowed, within the width)', () => {
    expect(canonicalCIDR('10.31.2.3/0024')).toBe('10.31.2.3/24');
    expect(canonicalCIDR('fd31::/000128')).toBe('fd31::/128');
    for (const bad of ['10.31.2.3/', '10.31.2.3/+4', '10.31.2.3/33', 'fd31::/129', '10.31.2.3/2 ', '10.31.2.3', '/24']) {
      expect(parseCIDR(bad), bad).toBeUndefined();
    }
  });

  it('hostNetOf is ip/32 or ip/128', () => {
    expect(formatCIDR(hostNetOf(parseIP('10.31.0.1')!))).toBe('10.31.0.1/32');
    expect(formatCIDR(hostNetOf(parseIP('fd31::1')!))).toBe('fd31::1/128');
  });

  it('mustParsePrefix: a bare IP is its host prefix; errors quote what netlink quoted', () => {
    expect(formatCIDR(mustParsePrefix('10.31.0.9'))).toBe('10.31.0.9/32');
    expect(formatCIDR(mustParsePrefix('fd31::9'))).toBe('fd31::9/128');
    expect(formatCIDR(mustParsePrefix('10.31.0.9/24'))).toBe('10.31.0.9/24');
    expect(() => mustParsePrefix('10.31.0.x/24')).toThrow(new TypeError('invalid CIDR "10.31.0.x"'));
    expect(() => mustParsePrefix('10.31.0.9/33')).toThrow(new TypeError('invalid CIDR "10.31.0.9/33"'));
    expect(() => mustParsePrefix('<nil>')).toThrow(new TypeError('invalid CIDR "<nil>"'));
  });

  it('mustParsePrefix counts the length in the folded family, as the kernel is sent it', () => {
    const n = mustParsePrefix('::ffff:10.31.2.3/24');
    expect(n.ip.family).toBe(4);
    expect(prefixLength(n)).toBe(24);
    expect(formatNetwork(n)).toBe('10.31.2.0/24');
    expect(() => mustParsePrefix('::ffff:10.31.2.3/104')).toThrow(new TypeError('invalid CIDR "::ffff:10.31.2.3/104"'));
  });

  it('ipFamily decides like To4() and falls back to the colon test for non-addresses', () => {
    expect(ipFamily('::ffff:10.31.0.1/104')).toBe(4);
    expect(ipFamily('fd31::/48')).toBe(6);
    expect(ipFamily('<nil>')).toBe(4);
    expect(ipFamily('not:an:address')).toBe(6);
  });
});
