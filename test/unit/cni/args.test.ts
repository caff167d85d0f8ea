import { describe, expect, it } from 'vitest';
import { parseCniArgs } from '../../../shared/cni/args.js';
import { CniError } from '../../../shared/cni/errors.js';

function failure(raw: string, keys: readonly string[]): CniError {
  try {
    parseCniArgs(raw, keys);
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected an error');
}

describe('parseCniArgs (reference LoadArgs semantics)', () => {
  it('returns the accepted keys; empty input is no args', () => {
    expect(parseCniArgs('IP=10.0.0.2;MAC=c2:11:22:33:44:55', ['IP', 'MAC'])).toStrictEqual({
      IP: '10.0.0.2',
      MAC: 'c2:11:22:33:44:55',
    });
    expect(parseCniArgs('', ['IP'])).toStrictEqual({});
  });

  it('a later duplicate wins', () => {
    expect(parseCniArgs('IP=1.1.1.1;IP=2.2.2.2', ['IP'])).toStrictEqual({ IP: '2.2.2.2' });
  });

  it('each pair must have exactly two parts (code 4)', () => {
    for (const [raw, pair] of [
      ['IP', 'IP'],
      ['IP=a=b', 'IP=a=b'],
      ['IP=1;', ''],
      [';IP=1', ''],
    ] as const) {
      const e = failure(raw, ['IP']);
      expect(e.code).toBe(4);
      expect(e.msg).toBe(`ARGS: invalid pair ${JSON.stringify(pair)}`);
    }
  });

  it('keys are case-sensitive; unknown keys fail and are all listed', () => {
    const e = failure('ip=1;K8S_POD_NAME=x;IP=2', ['IP']);
    expect(e.code).toBe(4);
    expect(e.msg).toBe('ARGS: unknown args ["ip=1" "K8S_POD_NAME=x"]');
  });

  it('IgnoreUnknown=1/true (any case) tolerates unknown keys; 0/false do not', () => {
    for (const v of ['1', 'true', 'TRUE', 'True']) {
      expect(parseCniArgs(`IgnoreUnknown=${v};K8S_POD_NAME=x;MAC=m`, ['MAC'])).toStrictEqual({ MAC: 'm' });
    }
    for (const v of ['0', 'false']) {
      expect(failure(`IgnoreUnknown=${v};K8S_POD_NAME=x`, ['MAC']).msg).toBe('ARGS: unknown args ["K8S_POD_NAME=x"]');
    }
    // The flag may come after the unknown keys: it is applied once all pairs are read.
    expect(parseCniArgs('K8S_POD_NAME=x;IgnoreUnknown=1', [])).toStrictEqual({});
  });

  it('IgnoreUnknown with another value is a parse error naming the pair', () => {
    expect(failure('IgnoreUnknown=yes', []).msg).toBe(
      'ARGS: error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes',
    );
  });
});
