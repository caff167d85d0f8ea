// The etcd client's pure parts: gateway encoding, prefix range ends, stream splitting, error kinds.
import { describe, expect, it } from 'vitest';
import { b64, decodeHeader, decodeKv, int, leaseId, prefixRangeEnd, unb64 } from '../../../shared/etcd/codec.js';
import { isNoQuorumMessage } from '../../../shared/etcd/errors.js';
import { JsonSplitter } from '../../../shared/etcd/transport.js';

describe('etcd gateway codec', () => {
  it('base64 round trip of UTF-8 keys', () => {
    expect(b64('/a')).toBe('L2E=');
    expect(unb64(b64('/tscni/ipam/net/10.0.0.1é'))).toBe('/tscni/ipam/net/10.0.0.1é');
    expect(unb64(undefined)).toBe('');
  });

  it('prefix range end increments the last byte below 0xff', () => {
    expect(Buffer.from(prefixRangeEnd('/a/'), 'base64').toString()).toBe('/a0');
    expect([...Buffer.from(prefixRangeEnd('a\xff'), 'base64')]).toEqual([0x61, 0xc3, 0xc0]); // 'ÿ' is c3 bf in UTF-8
    expect([...Buffer.from(prefixRangeEnd(''), 'base64')]).toEqual([0]);
  });

  it('int64 fields: strings, absent = 0; lease IDs stay exact strings', () => {
    expect(int('42')).toBe(42);
    expect(int(undefined)).toBe(0);
    expect(leaseId('2324035657288669705')).toBe('2324035657288669705');
    expect(leaseId(undefined)).toBe('0');
  });

  it('decodes key-values and headers with zero fields left out', () => {
    expect(decodeKv({ key: 'L2E=', create_revision: '2', mod_revision: '3', version: '2', value: 'aGVsbG8=' })).toEqual({
      key: '/a', value: 'hello', createRevision: 2, modRevision: 3, version: 2, lease: '0',
    });
    expect(decodeKv({ key: 'L2E=', mod_revision: '9' })).toMatchObject({ value: '', createRevision: 0, modRevision: 9 });
    expect(decodeHeader({ revision: '7', raft_term: '2' })).toEqual({ clusterId: '', memberId: '', revision: 7, raftTerm: 2 });
  });
});

describe('JsonSplitter', () => {
  it('splits concatenated and newline-separated objects across arbitrary chunk borders', () => {
    const text = '{"result":{"a":"}{\\"x"}}\n{"result":{"b":[1,{"c":2}]}}{"error":{}}';
    for (let cut = 1; cut < text.length; cut++) {
      const s = new JsonSplitter();
      const out = [...s.push(text.slice(0, cut)), ...s.push(text.slice(cut))];
      expect(out.map((o) => JSON.parse(o))).toEqual([{ result: { a: '}{"x' } }, { result: { b: [1, { c: 2 }] } }, { error: {} }]);
      expect(s.rest()).toBe('');
    }
  });
});

describe('error classification', () => {
  it('etcd messages that mean "no quorum / try elsewhere"', () => {
    for (const m of ['etcdserver: no leader', 'etcdserver: request timed out', 'etcdserver: leader changed', 'etcdserver: too many requests']) {
      expect(isNoQuorumMessage(m)).toBe(true);
    }
    for (const m of ['etcdserver: permission denied', 'etcdserver: requested lease not found', 'etcdserver: authentication failed, invalid user ID or password']) {
      expect(isNoQuorumMessage(m)).toBe(false);
    }
  });
});
