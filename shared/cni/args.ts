// CNI_ARGS ("K1=V1;K2=V2") with the reference's semantics (libcni types.LoadArgs):
// - every pair must split on "=" into exactly two parts, else `ARGS: invalid pair "x"`;
// - keys are matched case-sensitively against the keys the plugin declares;
// - unknown keys are an error (`ARGS: unknown args ["K=V" ...]`) unless IgnoreUnknown is
//   truthy: 1/true (any case); 0/false are also valid values; anything else is an error.
// Error code: the reference returns a plain Go error, which its skel turns into 999 ("internal
// error"). A malformed CNI_ARGS is not a bug in the plugin but a bad environment variable, so we
// use the spec's code 4 (invalid necessary environment variables) with the reference's message.
import { CniError, ErrorCode } from './errors.js';

/** The key every args struct accepts in the reference (types.CommonArgs). */
export const IGNORE_UNKNOWN = 'IgnoreUnknown';

function argsError(msg: string): CniError {
  return new CniError(ErrorCode.InvalidEnvironmentVariables, msg);
}

/** Go's UnmarshallableBool. */
function parseBool(pair: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw argsError(`ARGS: error parsing value of pair "${pair}": boolean unmarshal error: invalid input ${v}`);
}

/** Go's %q for a []string: ["a" "b"]. */
function goQuoteList(items: string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/**
 * Parses CNI_ARGS against the keys a plugin accepts and returns the values it found (a later
 * duplicate replaces an earlier one). IgnoreUnknown is always accepted and is not returned.
 * Throws CniError code 4 with the reference's message.
 */
export function parseCniArgs<K extends string>(raw: string, accepted: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  if (raw === '') return out;
  const known = new Set<string>(accepted);
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const pair of raw.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2) throw argsError(`ARGS: invalid pair ${JSON.stringify(pair)}`);
    const [key = '', value = ''] = kv;
    if (key === IGNORE_UNKNOWN) {
      ignoreUnknown = parseBool(pair, value);
    } else if (known.has(key)) {
      out[key as K] = value;
    } else {
      unknown.push(pair);
    }
  }
  if (unknown.length > 0 && !ignoreUnknown) throw argsError(`ARGS: unknown args ${goQuoteList(unknown)}`);
  return out;
}
