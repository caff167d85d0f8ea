import { describe, expect, it } from 'vitest';
import {
  SUPPORTED_VERSIONS,
  compareVersions,
  effectiveVersion,
  incompatibleVersionDetails,
  parseVersion,
  resultFamily,
  versionAtLeast,
} from '../../../shared/cni/versions.js';

describe('versions', () => {
  it('lists the seven spec versions in order', () => {
    expect(SUPPORTED_VERSIONS).toStrictEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    for (let i = 1; i < SUPPORTED_VERSIONS.length; i++) {
      expect(compareVersions(SUPPORTED_VERSIONS[i - 1] ?? '', SUPPORTED_VERSIONS[i] ?? '')).toBe(-1);
    }
  });

  it("'' is 0.1.0; missing parts are 0", () => {
    expect(effectiveVersion('')).toBe('0.1.0');
    expect(effectiveVersion(undefined)).toBe('0.1.0');
    expect(parseVersion('')).toStrictEqual([0, 1, 0]);
    expect(parseVersion('1')).toStrictEqual([1, 0, 0]);
    expect(compareVersions('1.1', '1.1.0')).toBe(0);
    expect(compareVersions('0.10.0', '0.4.0')).toBe(1);
  });

  it('gates', () => {
    expect(versionAtLeast('0.4.0', '0.4.0')).toBe(true);
    expect(versionAtLeast('0.3.1', '0.4.0')).toBe(false);
    expect(versionAtLeast('1.0.0', '1.1.0')).toBe(false);
  });

  it('bad versions are code 6 with libcni wording', () => {
    expect(() => parseVersion('1.2.3.4')).toThrow('invalid version "1.2.3.4": too many parts');
    expect(() => parseVersion('a.1.0')).toThrow('failed to convert major version part "a"');
    expect(() => parseVersion('1..0')).toThrow(expect.objectContaining({ code: 6 }));
  });

  it('families', () => {
    expect(resultFamily('')).toBe('0.2');
    expect(resultFamily('0.3.0')).toBe('0.4');
    expect(resultFamily('1.1.0')).toBe('1.x');
    expect(resultFamily('0.5.0')).toBeUndefined();
  });

  it('incompatible details use Go %q formatting', () => {
    expect(incompatibleVersionDetails('2.0.0', ['0.4.0', '1.0.0'])).toBe('config is "2.0.0", plugin supports ["0.4.0" "1.0.0"]');
  });
});
