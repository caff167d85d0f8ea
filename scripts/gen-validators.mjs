#!/usr/bin/env node
// Compiles every plugin's config schema into a standalone validator module at build time, so a
// plugin never compiles a schema at start-up.
//
//   node scripts/gen-validators.mjs [--out <dir>] [--only] [extra roots...]
//
// Schemas: `plugins/<name>/schema.ts` and `ipam/<name>/schema.ts` (each `export const schema =
// {...} as const`, draft-07, may import `shared/cni/schema-parts.ts`), plus `<root>/<name>/schema.ts`
// (or `<root>/schema.ts`) for each extra root. `--only` compiles just the extra roots.
// Output (default build/generated/validators): `<name>.js` (self-contained ESM exporting
// `validate` and `keyMap`) and `<name>.d.ts`. See shared/cni/config.ts for how they are used.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';
import * as esbuild from 'esbuild';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const standaloneCode = standaloneModule.default ?? standaloneModule;

function parseCli(argv) {
  let out = join(repoRoot, 'build/generated/validators');
  let only = false;
  const roots = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out = resolve(argv[++i] ?? '');
    else if (a === '--only') only = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else roots.push(resolve(a));
  }
  if (!only) roots.unshift(join(repoRoot, 'plugins'), join(repoRoot, 'ipam'));
  return { out, roots };
}

/** [name, schemaPath] for every schema.ts directly in `root` or one level below it. */
function findSchemas(root) {
  if (!existsSync(root)) return [];
  const own = join(root, 'schema.ts');
  if (existsSync(own)) return [[basename(root), own]];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'schema.ts')))
    .map((d) => [d.name, join(root, d.name, 'schema.ts')]);
}

/** Loads `export const schema` from a .ts file (esbuild resolves its `.js` imports to `.ts`). */
async function loadSchema(file) {
  const built = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'silent',
  });
  const code = built.outputFiles[0].text;
  const mod = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  if (!mod.schema || typeof mod.schema !== 'object') throw new Error(`${file}: no exported "schema" object`);
  return mod.schema;
}

// ---- Key map: the declared property names at every level, for Go-style case-insensitive keys ----

function resolveRef(root, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref is supported, got ${ref}`);
  let node = root;
  for (const part of ref.slice(2).split('/')) node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  if (!node) throw new Error(`unresolved $ref ${ref}`);
  return node;
}

function allowsNull(schema) {
  const t = schema.type;
  return t === 'null' || (Array.isArray(t) && t.includes('null')) || schema.nullable === true;
}

/** Subschemas that apply to the same instance (so their properties are declared too). */
function sameInstanceParts(root, schema, seen) {
  const parts = [schema];
  if (typeof schema.$ref === 'string' && !seen.has(schema.$ref)) {
    seen.add(schema.$ref);
    parts.push(...sameInstanceParts(root, resolveRef(root, schema.$ref), seen));
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    for (const sub of schema[key] ?? []) parts.push(...sameInstanceParts(root, sub, new Set(seen)));
  }
  for (const key of ['then', 'else']) {
    if (schema[key] && typeof schema[key] === 'object') parts.push(...sameInstanceParts(root, schema[key], new Set(seen)));
  }
  return parts;
}

/**
 * KeyNode (see shared/cni/config.ts): props keyed by lower-cased name -> [declared name, child,
 * nullable flag]; items for arrays; values for additionalProperties maps. Empty nodes become 0.
 */
function keyNode(root, schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 32) return 0;
  const parts = sameInstanceParts(root, schema, new Set());
  const node = {};
  const props = {};
  for (const part of parts) {
    for (const [name, sub] of Object.entries(part.properties ?? {})) {
      const subParts = sameInstanceParts(root, sub, new Set());
      const nullable = subParts.some(allowsNull);
      props[name.toLowerCase()] = [name, keyNode(root, sub, depth + 1), nullable ? 1 : 0];
    }
    if (part.items && typeof part.items === 'object' && !Array.isArray(part.items)) {
      const items = keyNode(root, part.items, depth + 1);
      if (items) node.items = items;
    }
    if (part.additionalProperties && typeof part.additionalProperties === 'object') {
      const values = keyNode(root, part.additionalProperties, depth + 1);
      if (values) node.values = values;
    }
  }
  if (Object.keys(props).length) node.props = props;
  return Object.keys(node).length ? node : 0;
}

// ---- Output ----

const DTS = `// Generated by scripts/gen-validators.mjs. Do not edit.
export interface ValidationError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
export type KeyNode = 0 | {
  props?: Record<string, [string, KeyNode, 0 | 1]>;
  items?: KeyNode;
  values?: KeyNode;
};
export declare const validate: ((data: unknown) => boolean) & { errors?: ValidationError[] | null };
export declare const keyMap: KeyNode;
export declare const schemaName: string;
`;

async function compileOne(name, file, outDir) {
  const schema = await loadSchema(file);
  const ajv = new Ajv({
    code: { source: true, esm: true },
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
    allErrors: false,
  });
  let validateFn;
  try {
    validateFn = ajv.compile(schema);
  } catch (e) {
    throw new Error(`${file}: ${e.message}`);
  }
  const source = `${standaloneCode(ajv, validateFn)}
export const keyMap = ${JSON.stringify(keyNode(schema, schema))};
export const schemaName = ${JSON.stringify(name)};
`;
  // Bundle so the ajv runtime helpers it requires are inlined: the module stands alone.
  const bundled = await esbuild.build({
    stdin: { contents: source, resolveDir: repoRoot, sourcefile: `${name}.validator.js`, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    // Generated code is inlined per property and large when pretty-printed; nobody reads it.
    minifyWhitespace: true,
    minifySyntax: true,
  });
  writeFileSync(join(outDir, `${name}.js`), `// Generated by scripts/gen-validators.mjs from ${file.replace(`${repoRoot}/`, '')}. Do not edit.\n${bundled.outputFiles[0].text}`);
  writeFileSync(join(outDir, `${name}.d.ts`), DTS);
}

async function main() {
  const { out, roots } = parseCli(process.argv.slice(2));
  mkdirSync(out, { recursive: true });
  const seen = new Map();
  for (const root of roots) {
    for (const [name, file] of findSchemas(root)) {
      if (seen.has(name)) throw new Error(`two schemas named "${name}": ${seen.get(name)} and ${file}`);
      seen.set(name, file);
    }
  }
  for (const [name, file] of seen) await compileOne(name, file, out);
  process.stdout.write(`gen-validators: ${seen.size} validator(s) in ${out.replace(`${repoRoot}/`, '')}\n`);
}

main().catch((e) => {
  process.stderr.write(`gen-validators: ${e.message}\n`);
  process.exit(1);
});
