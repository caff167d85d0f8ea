// Pure logic behind the fixes the chained robustness sweep (test/integration/robustness/chained-*)
// led to: Go's JSON nesting limit, tuning's backup merge on a repeated ADD, portmap's chain-name and
// condition checks, bandwidth's uint64 bound.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../shared/cni/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../../shared/cni/json-depth.js';
import { mergeOriginals } from '../../../plugins/tuning/backup.js';
import { loadConf as loadPortmap } from '../../../plugins/portmap/config.js';
import { loadConf as loadBandwidth } from '../../../plugins/bandwidth/config.js';

const errorOf = (fn: () => unknown): CniError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('did not throw');
};

describe('exceedsJsonDepth (Go encoding/json: at most 10000 levels)', () => {
  const nested = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(exceedsJsonDepth(`{"a":${nested(5)}}`, 6)).toBe(false);
    expect(exceedsJsonDepth(`{"a":${nested(6)}}`, 6)).toBe(true);
    expect(exceedsJsonDepth(`{"a":"${'['.repeat(50)}"}`, 2)).toBe(false);
    expect(exceedsJsonDepth(`{"a":"\\"${'{'.repeat(50)}"}`, 2)).toBe(false);
  });
});

describe('tuning mergeOriginals (a repeated ADD keeps the first backup)', () => {
  it('keeps what the earlier backup recorded and adds attributes it did not cover', () => {
    expect(mergeOriginals(undefined, { mtu: 1400 })).toEqual({ mtu: 1400 });
    expect(mergeOriginals({ mtu: 1500, promisc: false }, { mtu: 1400, promisc: true, txQLen: 5 })).toEqual({ mtu: 1500, promisc: false, txQLen: 5 });
  });
});

describe('portmap: names and conditions that would break the iptables-restore input', () => {
  const base = { cniVersion: '1.0.0', name: 'n', type: 'portmap' };
  it.each(['', 'X -j ACCEPT', 'X\n-F', '-F', 'A"B', 'KUBE-MARK-MASQ-0123456789abcdef'])('externalSetMarkChain %j is code 7 naming the key', (chain) => {
    const e = errorOf(() => loadPortmap(JSON.stringify({ ...base, externalSetMarkChain: chain })));
    expect(e.code).toBe(7);
    expect(e.details).toContain('externalSetMarkChain');
  });
  it('accepts a real chain name', () => {
    expect(loadPortmap(JSON.stringify({ ...base, externalSetMarkChain: 'KUBE-MARK-MASQ' })).externalSetMarkChain).toBe('KUBE-MARK-MASQ');
  });
  it('iptables conditions with a line break are code 7 naming the key and entry', () => {
    const e = errorOf(() => loadPortmap(JSON.stringify({ ...base, conditionsV6: ['-s', 'fd00::/8\n-A INPUT -j ACCEPT'] })));
    expect(e.code).toBe(7);
    expect(e.details).toContain('conditionsV6[1]');
  });
});

describe('bandwidth: Go uint64 bound', () => {
  it('2^64 is code 7 naming the key; 2^62 decodes', () => {
    const conf = (rate: number): string => JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'bandwidth', ingressRate: rate, ingressBurst: 8 });
    const e = errorOf(() => loadBandwidth({ stdinData: Buffer.from(conf(2 ** 64)) }));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('ingressRate');
    expect(loadBandwidth({ stdinData: Buffer.from(conf(2 ** 62)) }).bandwidth?.ingress?.rateBits).toBe(2 ** 62);
  });
});
