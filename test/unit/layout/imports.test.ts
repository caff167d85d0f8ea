// The dependency direction of the tree: shared/ holds libraries and never imports a plugin; only the
// composition root (cmd/) knows the plugins.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? tsFiles(p) : d.name.endsWith('.ts') ? [p] : [];
  });
}

const importsOf = (file: string): string[] =>
  [...fs.readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] as string);

describe('layout', () => {
  it('shared/ never imports plugins/, ipam/ or cmd/', () => {
    const upward: string[] = [];
    for (const file of tsFiles(path.join(ROOT, 'shared'))) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const target = path.relative(ROOT, path.resolve(path.dirname(file), spec));
        if (/^(plugins|ipam|cmd)\//.test(target)) upward.push(`${path.relative(ROOT, file)} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
