import { describe, expect, it } from 'vitest';
import { canonicalCIDR, canonicalIP, ipFamily, parseIP } from '../../../shared/ip/index.js';

describe('Go-compatible IP text', () => {
  it('canonicalises IPv6 like net.IP.String()', () => {
    expect(canonicalIP('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIP('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    // A single zero group is not compressed; the first of two equal runs is.
    expect(canonicalIP('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIP('1:0:0:2:0:0:3:4')).toBe('1::2:0:0:3:4');
    expect(canonicalIP('::')).toBe('::');
    expect(canonicalIP('::1')).toBe('::1');
    expect(canonicalIP('1::')).toBe('1::');
    expect(canonicalIP('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(canonicalIP('64:ff9b::10.1.2.3')).toBe('64:ff9b::a01:203');
  });

  it('rejects what Go rejects', () => {
    for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', '12345::', 'x']) {
      expect(parseIP(bad), bad).toBeUndefined();
    }
  });

  it('CIDRs keep host bits and canonicalise the address', () => {
    expect(canonicalCIDR('3ffe:ffff:0:01ff::1/64')).toBe('3ffe:ffff:0:1ff::1/64');
    expect(canonicalCIDR('10.1.2.3/24')).toBe('10.1.2.3/24');
    expect(canonicalCIDR('10.1.2.3/33')).toBeUndefined();
    expect(canonicalCIDR('10.1.2.3')).toBeUndefined();
  });

  it('families follow To4()', () => {
    expect(ipFamily('10.0.0.1/8')).toBe(4);
    expect(ipFamily('::ffff:10.0.0.1')).toBe(4);
    expect(ipFamily('2001:db8::/32')).toBe(6);
  });
});
