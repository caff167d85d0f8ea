import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../shared/sys/files.js';

describe('writeFileAtomic', () => {
  it('replaces the file by rename (a reader holding the old one keeps it whole), with the mode, leaving no temp file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-files-'));
    try {
      const file = path.join(dir, 'f.json');
      writeFileAtomic(file, 'old', 0o600);
      const before = fs.statSync(file).ino;
      const fd = fs.openSync(file, 'r');
      writeFileAtomic(file, 'new', 0o600);
      expect(fs.readFileSync(fd, 'utf8')).toBe('old');
      fs.closeSync(fd);
      expect(fs.readFileSync(file, 'utf8')).toBe('new');
      expect(fs.statSync(file).ino).not.toBe(before);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(dir)).toEqual(['f.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails without touching the target when the directory is missing', () => {
    expect(() => writeFileAtomic('/tmp/tscni-no-such-dir/x/f', 'data', 0o600)).toThrow(/ENOENT/);
  });
});
