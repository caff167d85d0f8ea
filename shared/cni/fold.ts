// Go encoding/json field matching: an object key matches a struct field case-insensitively and,
// when several keys match, the last one in the document wins. JSON null leaves a Go field at its
// zero value, so a null counts as "not given".

export type JsonObject = Record<string, unknown>;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value of `name` in `obj` matched the way Go matches struct fields (null reads as undefined). */
export function foldGet(obj: JsonObject, name: string): unknown {
  const want = name.toLowerCase();
  let found: unknown;
  for (const key of Object.keys(obj)) {
    if (key === name || key.toLowerCase() === want) found = obj[key];
  }
  return found === null ? undefined : found;
}

/** Short display of a JSON value for error messages ("got 12", "got \"1500\""). */
export function describeValue(v: unknown): string {
  let text: string;
  try {
    text = v === undefined ? 'nothing' : JSON.stringify(v);
  } catch {
    text = String(v);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The JSON type name Go's decoder reports for a value ("number", "string", "array", ...). */
export function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}
