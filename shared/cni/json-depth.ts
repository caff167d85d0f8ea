// Go's encoding/json refuses documents nested deeper than 10000 arrays/objects ("exceeded max
// depth"); the skeleton does the same before parsing, so a config the reference cannot decode is
// code 6 here too instead of being accepted (or exhausting a recursive walker further on).
export const MAX_JSON_DEPTH = 10000;

/** True when `text` opens more than `max` arrays/objects at once (brackets inside strings do not count). */
export function exceedsJsonDepth(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
