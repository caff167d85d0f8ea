// The `sysctl` map exactly as Go decodes it, duplicates included. JSON.parse keeps only the last of
// two equal keys, so a repeated sysctl key would silently lose a value; the reference detects it
// (its map key type refuses a key it has already seen) and fails with "duplicated sysctl keys are
// not allowed". Go also matches the field name case-insensitively and decodes every matching
// top-level key into the same map, so `"sysctl"` and `"Sysctl"` merge. This scanner walks the raw
// text (already known to be valid JSON) and returns every key/value of every such object, in order.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';

export type SysctlEntry = readonly [key: string, value: unknown];

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  private ws(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos] as string)) this.pos++;
  }

  peek(): string {
    this.ws();
    return this.text[this.pos] ?? '';
  }

  expect(ch: string): void {
    if (this.peek() !== ch) throw new Error(`JSON scan: expected ${ch} at ${this.pos}`);
    this.pos++;
  }

  /** A string token, decoded (escapes included) by JSON.parse. */
  string(): string {
    this.ws();
    const start = this.pos;
    this.expect('"');
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++];
      if (c === '\\') this.pos++;
      else if (c === '"') return JSON.parse(this.text.slice(start, this.pos)) as string;
    }
    throw new Error('JSON scan: unterminated string');
  }

  /** Skips one value and returns its source text. */
  value(): string {
    this.ws();
    const start = this.pos;
    const c = this.text[this.pos];
    if (c === '"') {
      this.string();
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      this.pos++;
      if (this.peek() === close) {
        this.pos++;
      } else {
        for (;;) {
          if (c === '{') {
            this.string();
            this.expect(':');
          }
          this.value();
          if (this.peek() === ',') this.pos++;
          else break;
        }
        this.expect(close);
      }
    } else {
      while (this.pos < this.text.length && !',}] \t\n\r'.includes(this.text[this.pos] as string)) this.pos++;
    }
    return this.text.slice(start, this.pos);
  }

  /** Calls `each` for every member of the object starting here. */
  members(each: (key: string) => void): void {
    this.expect('{');
    if (this.peek() === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      const key = this.string();
      this.expect(':');
      each(key);
      if (this.peek() === ',') this.pos++;
      else break;
    }
    this.expect('}');
  }
}

/**
 * Every entry of the config's `sysctl` object(s), in document order (a `null` occurrence clears
 * what came before, as Go sets the map to nil). Keys are as decoded from JSON. Returns [] when the
 * config has no sysctl object or is not an object.
 */
export function sysctlEntries(stdin: string): SysctlEntry[] {
  const s = new Scanner(stdin);
  let out: SysctlEntry[] = [];
  if (s.peek() !== '{') return out;
  s.members((key) => {
    if (key.toLowerCase() !== 'sysctl' || (s.peek() !== '{' && s.peek() !== 'n')) {
      s.value();
      return;
    }
    if (s.peek() === 'n') {
      s.value();
      out = [];
      return;
    }
    s.members((k) => out.push([k, JSON.parse(s.value()) as unknown]));
  });
  return out;
}

/** The reference's refusal of a key given twice (code 7, naming the key). */
export function checkNoDuplicateKeys(entries: readonly SysctlEntry[]): void {
  const seen = new Set<string>();
  for (const [key] of entries) {
    if (seen.has(key)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, 'duplicated sysctl keys are not allowed', `sysctl key ${JSON.stringify(key)} is given more than once`);
    }
    seen.add(key);
  }
}
