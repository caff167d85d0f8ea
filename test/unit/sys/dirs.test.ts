import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirectories } from '../../../shared/sys/dirs.js';

describe('makeDirectories', () => {
  it('creates every missing level with the mode and accepts an existing directory', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-dirs-'));
    try {
      const deep = path.join(root, 'a', 'b', 'c');
      makeDirectories(deep, 0o700);
      expect(fs.statSync(deep).isDirectory()).toBe(true);
      expect(fs.statSync(path.join(root, 'a')).mode & 0o777).toBe(0o700);
      makeDirectories(deep, 0o700);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('fails at once under /proc, where Node 26 recursive mkdirSync spins forever', () => {
    expect(() => makeDirectories('/proc/tscni-no-such-dir/x', 0o700)).toThrow(/ENOENT/);
  });

  it('fails when a level is a file', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-dirs-'));
    try {
      fs.writeFileSync(path.join(root, 'f'), '');
      expect(() => makeDirectories(path.join(root, 'f', 'x'), 0o700)).toThrow(/ENOTDIR/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
