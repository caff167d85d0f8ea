// CNI spec versions: the list we implement, ordering, and the per-command version gates.
import { CniError, ErrorCode } from './errors.js';

/** Every spec version a tscni plugin can speak, oldest first (VERSION prints them in this order). */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The spec version the library implements; VERSION always answers with it, like libcni. */
export const CURRENT_VERSION = '1.1.0';

/** Minimum config versions for the commands the spec introduced later. */
export const MIN_VERSION_FOR = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' } as const;

/** The spec rule: a config without cniVersion (or with '') is 0.1.0. */
export function effectiveVersion(version: string | undefined): string {
  return version ? version : '0.1.0';
}

function parsePart(part: string, which: 'major' | 'minor' | 'micro'): number {
  // Go's strconv.Atoi: optional sign, decimal digits only.
  if (!/^[+-]?[0-9]+$/.test(part)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `failed to convert ${which} version part "${part}": strconv.Atoi: parsing "${part}": invalid syntax`,
    );
  }
  return Number.parseInt(part, 10);
}

/**
 * Splits "X.Y.Z" into numbers with libcni's rules: '' is 0.1.0, missing parts are 0,
 * more than three parts or a non-number is a decoding failure (code 6).
 */
export function parseVersion(version: string): [number, number, number] {
  if (version === '') return [0, 1, 0];
  const parts = version.split('.');
  if (parts.length >= 4) {
    throw new CniError(ErrorCode.DecodingFailure, `invalid version "${version}": too many parts`);
  }
  const major = parsePart(parts[0] ?? '', 'major');
  const minor = parts.length >= 2 ? parsePart(parts[1] ?? '', 'minor') : 0;
  const micro = parts.length >= 3 ? parsePart(parts[2] ?? '', 'micro') : 0;
  return [major, minor, micro];
}

/** -1, 0 or 1 as a is older than, equal to or newer than b. Throws code 6 on an unparsable version. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

/** Result JSON families: each has its own Go type in libcni (types020, types040, types100). */
export type ResultFamily = '0.2' | '0.4' | '1.x';

/** The versions each family's result type accepts, as libcni lists them ('' belongs to 0.2). */
export const FAMILY_VERSIONS: Record<ResultFamily, readonly string[]> = {
  '0.2': ['', '0.1.0', '0.2.0'],
  '0.4': ['0.3.0', '0.3.1', '0.4.0'],
  '1.x': ['1.0.0', '1.1.0'],
};

/** The result family of a version, or undefined for a version no family accepts. */
export function resultFamily(version: string): ResultFamily | undefined {
  for (const family of ['0.2', '0.4', '1.x'] as const) {
    if (FAMILY_VERSIONS[family].includes(version)) return family;
  }
  return undefined;
}

/** libcni's "incompatible CNI versions" details text: `config is "X", plugin supports ["a" "b"]`. */
export function incompatibleVersionDetails(configVersion: string, supported: readonly string[]): string {
  return `config is ${JSON.stringify(configVersion)}, plugin supports [${supported.map((v) => JSON.stringify(v)).join(' ')}]`;
}
