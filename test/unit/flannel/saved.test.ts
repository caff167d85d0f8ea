// flannel's saved delegate configs: file-system failures are spec errors (code 5), not crashes
// (fuzz findings: a 1000-character CNI_CONTAINERID, a dataDir that is a regular file).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CniError } from '../../../shared/cni/errors.js';
import { listSaved, readDelegateConf, saveDelegateConf } from '../../../plugins/flannel/saved.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tfz-saved-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
  return undefined;
}

describe('flannel saved delegate configs', () => {
  it('saving under a name longer than a file name may be is code 5', () => {
    expect(codeOf(() => saveDelegateConf(dir, 'c'.repeat(1000), '{}'))).toBe(5);
  });
  it('saving when dataDir is a regular file is code 5', () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(codeOf(() => saveDelegateConf(file, 'id1', '{}'))).toBe(5);
  });
  it('reading or listing what could never have been saved finds nothing', () => {
    expect(readDelegateConf(dir, 'c'.repeat(1000))).toBeUndefined();
    expect(readDelegateConf(path.join(dir, 'a-file'), 'id1')).toBeUndefined();
    expect(listSaved(path.join(dir, 'a-file'))).toEqual([]);
  });
  it('a saved config reads back', () => {
    saveDelegateConf(dir, 'id2', '{"type":"bridge"}');
    expect(readDelegateConf(dir, 'id2')?.toString()).toBe('{"type":"bridge"}');
    expect(listSaved(dir)).toContain('id2');
  });
});
