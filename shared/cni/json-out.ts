// JSON text exactly as Go's encoding/json MarshalIndent(v, "", "    ") writes it, so our stdout
// matches the reference byte for byte. JSON.stringify already agrees on layout and on escapes
// for quotes, backslashes and control characters; Go additionally escapes <, >, & and the
// JavaScript line terminators U+2028/U+2029 (its default HTML-safe mode).
const GO_EXTRA_ESCAPES = /[<>&\u2028\u2029]/g;

function goEscape(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Go-compatible JSON with 4-space indentation (no trailing newline, like the reference's Print). */
export function goJSONIndent(value: unknown): string {
  return JSON.stringify(value, null, 4).replace(GO_EXTRA_ESCAPES, goEscape);
}

/** Go-compatible compact JSON (as json.Marshal / json.Encoder write it, minus the newline). */
export function goJSONCompact(value: unknown): string {
  return JSON.stringify(value).replace(GO_EXTRA_ESCAPES, goEscape);
}
