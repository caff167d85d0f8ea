import { describe, expect, it } from 'vitest';
import { CniError } from '../../../shared/cni/errors.js';
import { parseMasqBackend } from '../../../shared/firewall/backend.js';
import { parseNftListing } from '../../../shared/firewall/nft-json.js';

describe('parseMasqBackend', () => {
  it('accepts the two backends and treats absent as automatic', () => {
    expect(parseMasqBackend('iptables')).toBe('iptables');
    expect(parseMasqBackend('nftables')).toBe('nftables');
    expect(parseMasqBackend(undefined)).toBeUndefined();
    expect(parseMasqBackend(null)).toBeUndefined();
  });
  it.each(['', 'NFTABLES', 'ebtables', 7])('rejects %j with code 7 naming field and value', (value) => {
    try {
      parseMasqBackend(value);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
      expect((e as CniError).code).toBe(7);
      expect((e as CniError).msg).toContain('ipMasqBackend');
      expect((e as CniError).msg).toContain(JSON.stringify(value));
    }
  });
});

describe('parseNftListing', () => {
  it('keeps chains and rules with handle and comment, ignores the rest', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { chain: { family: 'inet', table: 't', name: 'c', handle: 1 } },
        { rule: { family: 'inet', table: 't', chain: 'c', handle: 6, comment: 'x', expr: [] } },
        { rule: { family: 'inet', table: 't', chain: 'c', handle: 7, expr: [] } },
        { rule: { family: 'inet', table: 't', chain: 'c' } },
      ],
    });
    expect(parseNftListing(json)).toEqual({
      chains: [{ family: 'inet', table: 't', name: 'c' }],
      rules: [
        { family: 'inet', table: 't', chain: 'c', handle: 6, comment: 'x' },
        { family: 'inet', table: 't', chain: 'c', handle: 7, comment: undefined },
      ],
    });
    expect(parseNftListing('')).toEqual({ chains: [], rules: [] });
  });
});
