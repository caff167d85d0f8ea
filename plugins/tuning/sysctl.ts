// Sysctl keys as the reference reads them: "net.ipv4.conf.IFNAME.arp_filter" -> every "." becomes
// "/", then the first "IFNAME" becomes CNI_IFNAME (after the conversion, so an interface name with
// dots stays one path component), then the path is cleaned and must lie under /proc/sys/net/.
// The allowlist (/etc/cni/tuning/allowlist.conf, when it exists): one Go regular expression per
// non-blank line, matched unanchored against the key as written in the config.
import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { goQuote } from '../../shared/firewall/goquote.js';

export const ALLOWLIST_FILE = '/etc/cni/tuning/allowlist.conf';

const PROC_SYS = '/proc/sys';

/** The /proc/sys file a configured key names, or CniError 7 (the reference's wording) when it is outside /proc/sys/net/. */
export function sysctlFileName(key: string, ifName: string): string {
  const converted = key.replaceAll('.', '/').replace('IFNAME', ifName);
  // Go's filepath.Join cleans: "..", "." and doubled or trailing slashes are resolved.
  let file = path.posix.normalize(`${PROC_SYS}/${converted}`);
  if (file.length > 1 && file.endsWith('/')) file = file.slice(0, -1);
  if (!file.startsWith(`${PROC_SYS}/net/`)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid net sysctl key: ${goQuote(converted)}`, `sysctl key ${JSON.stringify(key)} does not name a file under /proc/sys/net/`);
  }
  return file;
}

/** The allowlist's patterns, or undefined when the file does not exist (then every net key is allowed). */
export function readAllowlist(file = ALLOWLIST_FILE): string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CniError(ErrorCode.IOFailure, `failed to read the sysctl allowlist ${file}`, (err as Error).message);
  }
  return text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F', digit: '0-9',
  graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-/:-@[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z',
  word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

/**
 * A Go (RE2) pattern as a JavaScript RegExp with the same matches for the syntax an allowlist uses:
 * leading flag groups (?i) (?s) (?m), [[:class:]], \A, \z, \Q...\E and (?P<name>. Syntax RE2
 * refuses (backreferences, look-around) is refused here too, as Go's regexp.MatchString errors.
 */
export function goRegExp(pattern: string): RegExp {
  const bad = (what: string): CniError =>
    new CniError(ErrorCode.InvalidNetworkConfig, `error parsing regexp: invalid or unsupported Perl syntax: \`${what}\``, `in ${ALLOWLIST_FILE}: ${JSON.stringify(pattern)}`);
  let src = pattern;
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    if (lead[1]!.includes('U')) throw bad('(?U');
    flags = [...new Set(lead[1]!)].join('');
    src = src.slice(lead[0].length);
  }
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1] ?? '';
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        out += lit.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        i = end < 0 ? src.length : end + 1;
      } else if (n === 'A') {
        out += '^';
        i++;
      } else if (n === 'z') {
        out += '$(?![\\s\\S])';
        i++;
      } else if (/[1-9]/.test(n)) {
        throw bad(`\\${n}`);
      } else {
        out += c + n;
        i++;
      }
    } else if (c === '[' && src.startsWith('[:', i)) {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(i));
      const cls = m ? POSIX_CLASSES[m[2]!] : undefined;
      if (!m || cls === undefined) {
        out += c;
      } else {
        // Only valid inside a bracket expression, where Go and JS both treat the range list as a set.
        if (m[1]) throw bad(`[:^${m[2]}:]`);
        out += cls;
        i += m[0].length - 1;
      }
    } else if (c === '(' && src.startsWith('(?', i)) {
      if (src.startsWith('(?P<', i)) {
        out += '(?<';
        i += 3;
      } else if (/^\(\?(=|!|<=|<!)/.test(src.slice(i))) {
        throw bad(src.slice(i, i + (src[i + 2] === '<' ? 4 : 3)));
      } else {
        out += c;
      }
    } else {
      out += c;
    }
  }
  try {
    return new RegExp(out, flags);
  } catch (err) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `error parsing regexp: ${(err as Error).message}`, `in ${ALLOWLIST_FILE}: ${JSON.stringify(pattern)}`);
  }
}

/**
 * Every key must match one allowlist line, else the reference's refusal (code 7). Lines are
 * compiled in order as they are needed, as the reference does: a bad line after a matching one is
 * not reached.
 */
export function checkAllowed(keys: readonly string[], allowlist: readonly string[]): void {
  const compiled: RegExp[] = [];
  const patternAt = (i: number): RegExp => (compiled[i] ??= goRegExp(allowlist[i] as string));
  for (const key of keys) {
    let allowed = false;
    for (let i = 0; i < allowlist.length && !allowed; i++) allowed = patternAt(i).test(key);
    if (!allowed) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `Sysctl ${key} is not allowed. Only the following sysctls are allowed: [${allowlist.join(' ')}]`,
        `sysctl key ${JSON.stringify(key)} matches no line of ${ALLOWLIST_FILE}`,
      );
    }
  }
}
