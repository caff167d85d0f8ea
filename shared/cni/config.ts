// Plugin config decoding with Go encoding/json semantics, validated by a schema compiled at build
// time (scripts/gen-validators.mjs). A plugin does:
//
//   import * as v from '../../build/generated/validators/<name>.js';
//   const conf = parseConfig<MyConf>(args.stdinData, v);
//
// Go semantics kept: keys match the schema's declared property names case-insensitively (the
// last matching key wins) and are renamed to the declared spelling; unknown keys are kept as
// they are; JSON null on a declared property is dropped (Go leaves the field at its zero value)
// unless the schema allows null; types are strict (`"mtu":"1500"` is an error, no coercion).
import { CniError, ErrorCode } from './errors.js';
import { describeValue, isJsonObject, type JsonObject } from './fold.js';

export interface ValidationError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * The declared property names of one schema level. props: lower-cased name -> [declared name,
 * child node, 1 if null is allowed]; items: array elements; values: additionalProperties maps.
 * 0 = nothing declared below.
 */
export type KeyNode =
  | 0
  | {
      props?: Record<string, [string, KeyNode, 0 | 1]>;
      items?: KeyNode;
      values?: KeyNode;
    };

/** What a generated validator module exports. */
export interface ValidatorModule {
  validate: ((data: unknown) => boolean) & { errors?: ValidationError[] | null };
  keyMap: KeyNode;
  schemaName?: string;
}

/** Renames keys to their declared spelling, recursively; see the file comment for the rules. */
export function normalizeKeys(value: unknown, node: KeyNode): unknown {
  if (node === 0) return value;
  if (Array.isArray(value)) {
    return node.items === undefined ? value : value.map((item) => normalizeKeys(item, node.items ?? 0));
  }
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    const declared = node.props?.[key.toLowerCase()];
    if (declared) {
      const [name, child, nullable] = declared;
      // Re-inserting moves the key to the position of its last occurrence, as Go's "last wins".
      delete out[name];
      if (v === null && !nullable) continue;
      out[name] = normalizeKeys(v, child);
    } else if (node.values !== undefined) {
      out[key] = normalizeKeys(v, node.values);
    } else {
      out[key] = v;
    }
  }
  return out;
}

/** "/ipam/ranges/0/0/subnet" -> "ipam.ranges[0][0].subnet". */
export function formatInstancePath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^[0-9]+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function valueAt(root: unknown, pointer: string): unknown {
  let node: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isJsonObject(node)) node = node[part];
    else return undefined;
  }
  return node;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** One readable line for an ajv error: "<field path>: <problem>[, got <value>]". */
export function describeValidationError(error: ValidationError, data: unknown): string {
  const path = formatInstancePath(error.instancePath);
  const p = error.params;
  switch (error.keyword) {
    case 'required':
      return `${join(path, String(p['missingProperty']))}: is required`;
    case 'additionalProperties':
      return `${join(path, String(p['additionalProperty']))}: unknown field`;
    case 'enum': {
      const allowed = Array.isArray(p['allowedValues']) ? p['allowedValues'].map((a) => JSON.stringify(a)).join(', ') : '';
      return `${path || '(config)'}: must be one of ${allowed}, got ${describeValue(valueAt(data, error.instancePath))}`;
    }
    default:
      return `${path || '(config)'}: ${error.message ?? error.keyword}, got ${describeValue(valueAt(data, error.instancePath))}`;
  }
}

/**
 * Decodes and validates a plugin config. Returns the key-normalised object; throws CniError
 * code 6 when stdin is not JSON and code 7 (`invalid config: <field>: <problem>, got <value>`)
 * when it breaks the schema.
 */
export function parseConfig<T>(stdinData: Buffer | string, validator: ValidatorModule): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof stdinData === 'string' ? stdinData : stdinData.toString('utf8'));
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to load netconf: ${(e as Error).message}`);
  }
  return validateConfig<T>(parsed, validator);
}

/** parseConfig for an already parsed JSON value (e.g. a config embedded in another one). */
export function validateConfig<T>(parsed: unknown, validator: ValidatorModule): T {
  const normalized = normalizeKeys(parsed, validator.keyMap);
  if (!validator.validate(normalized)) {
    const first = validator.validate.errors?.[0];
    const text = first ? describeValidationError(first, normalized) : 'does not match the schema';
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: ${text}`);
  }
  return normalized as T;
}

/**
 * A config value that names a link (bridge, master, ...): the kernel's dev_valid_name() rules
 * (1–15 bytes, not "." or "..", no "/", ":" or whitespace), checked before the name reaches the
 * kernel or a sysfs/procfs path. Code 7 naming the field and the value.
 */
export function checkLinkName(field: string, name: string): void {
  let why = '';
  if (name === '') why = 'is empty';
  else if (Buffer.byteLength(name) > 15) why = 'is longer than 15 bytes';
  else if (name === '.' || name === '..') why = 'is . or ..';
  else if (/[/:\s]/u.test(name)) why = 'contains / or : or whitespace';
  if (why) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: ${field}: interface name ${why}, got ${JSON.stringify(name)}`);
}
