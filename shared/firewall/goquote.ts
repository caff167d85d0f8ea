// Go's strconv.Quote (the "%q" verb). The reference writes its iptables comments as
// `name: %q id: %q`; teardown and GC find rules by that comment, so the quoting must match byte for byte.

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
  '"': '\\"',
};

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. Built on
// first use: creating this /u regex with property classes takes ~0.5 ms, which every call that only
// loads this module (bridge without ipMasq, tuning) would otherwise pay.
let printable: RegExp | undefined;
const isPrintable = (ch: string): boolean => (printable ??= /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u).test(ch);

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const simple = SIMPLE_ESCAPES[ch];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (isPrintable(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${hex(cp, 2)}`;
    // A lone surrogate is written as U+FFFD when encoded to UTF-8, a printable rune for Go.
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd';
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}
