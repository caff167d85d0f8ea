import { describe, expect, it } from 'vitest';
import { formatChainName, formatHashWithPrefix } from '../../../shared/firewall/hash.js';
import { goQuote } from '../../../shared/firewall/goquote.js';

describe('formatHashWithPrefix', () => {
  it('matches the reference test vector for the ipMasq chain name', () => {
    expect(formatChainName('test', '1234')).toBe('CNI-2bbe0c48b91a7d1b8a6753a8');
  });
  it('cuts prefix + sha512 hex to the requested length', () => {
    const full = formatHashWithPrefix(132, 'CNI-', 'test1234');
    expect(full).toHaveLength(132);
    expect(full.startsWith('CNI-2bbe0c48b91a7d1b8a6753a8')).toBe(true);
    expect(formatHashWithPrefix(15, 'bwp', 'x')).toHaveLength(15);
    expect(formatHashWithPrefix(16, '', 'test')).toBe('ee26b0dd4af7e749');
    expect(formatHashWithPrefix(0, 'CNI-', 'x')).toBe('');
  });
  it('rejects a negative length', () => {
    expect(() => formatHashWithPrefix(-1, '', 'x')).toThrow(RangeError);
  });
});

describe('goQuote (Go %q)', () => {
  it.each([
    ['test', '"test"'],
    ['a"b', '"a\\"b"'],
    ['a\\b', '"a\\\\b"'],
    ['tab\there', '"tab\\there"'],
    ['nl\n', '"nl\\n"'],
    ['\x00\x7f', '"\\x00\\x7f"'],
    ['\u200b', '"\\u200b"'],
    ['héllo', '"héllo"'],
    ['\u{1F600}', '"\u{1F600}"'],
    ['\u{E0001}', '"\\U000e0001"'],
  ])('%j -> %s', (input, quoted) => {
    expect(goQuote(input)).toBe(quoted);
  });
});
