// Atomic placement of files in an install directory: everything is written under a temporary name
// in the same directory and renamed over the final name, so a runtime calling a plugin at that
// moment runs either the old file or the new one, never a half-written one or none.
import fs from 'node:fs';
import path from 'node:path';

const TEMP_PREFIX = '.tscni-install.';

/** A temporary name in `dir` for `name`, private to this process. */
export const tempName = (dir: string, name: string): string => path.join(dir, `${TEMP_PREFIX}${process.pid}.${name}`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A temporary younger than this may belong to an install running in another PID namespace. */
const STALE_AFTER_MS = 60_000;

/** Removes temporaries an interrupted earlier install left behind (their process is gone). */
export function removeStaleTemps(dir: string): void {
  for (const entry of fs.readdirSync(dir)) {
    const m = /^\.tscni-install\.(\d+)\./.exec(entry);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const file = path.join(dir, entry);
    try {
      if (Date.now() - fs.lstatSync(file).mtimeMs > STALE_AFTER_MS) fs.rmSync(file, { force: true });
    } catch {
      // Gone meanwhile: nothing to remove.
    }
  }
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flushes the directory's entries (the renames) to disk. */
export const syncDir = (dir: string): void => fsyncPath(dir);

/** Copies `src` to `dest` (mode 0755) through a temporary name, synced before the rename. */
export function copyAtomically(src: string, dest: string): void {
  const tmp = tempName(path.dirname(dest), path.basename(dest));
  try {
    fs.copyFileSync(src, tmp);
    fs.chmodSync(tmp, 0o755);
    fsyncPath(tmp);
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Why link() may refuse on a filesystem that can still hold a symlink. */
const NO_HARD_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

export type LinkKind = 'hardlink' | 'symlink';

/**
 * Points `dest` at `target` (a file in the same directory): a hard link, or when the filesystem
 * refuses one (or `kind` already says so) a relative symlink. Returns the kind made.
 */
export function linkAtomically(target: string, dest: string, kind: LinkKind): LinkKind {
  const tmp = tempName(path.dirname(dest), path.basename(dest));
  fs.rmSync(tmp, { force: true });
  let made = kind;
  try {
    if (kind === 'hardlink') {
      try {
        fs.linkSync(target, tmp);
      } catch (err) {
        if (!NO_HARD_LINK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        made = 'symlink';
      }
    }
    // Relative: the directory may be moved or mounted elsewhere (a container image layer).
    if (made === 'symlink') fs.symlinkSync(path.basename(target), tmp);
    fs.renameSync(tmp, dest);
    return made;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** True when two regular files have the same bytes (early exit on the first difference). */
export function sameContent(a: string, b: string): boolean {
  const sa = fs.statSync(a);
  const sb = fs.statSync(b);
  if (sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  try {
    const ba = Buffer.alloc(1 << 20);
    const bb = Buffer.alloc(1 << 20);
    for (let off = 0; off < sa.size; ) {
      const na = fs.readSync(fa, ba, 0, ba.length, off);
      const nb = fs.readSync(fb, bb, 0, bb.length, off);
      if (na !== nb || na === 0 || ba.compare(bb, 0, nb, 0, na) !== 0) return false;
      off += na;
    }
    return true;
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}
