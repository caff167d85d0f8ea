// Whole-file replacement that a crash cannot tear: write a temp file beside the target, fsync it,
// rename it over the target. A reader (another plugin call, a runtime, a restarted daemon) sees the
// old content or the new one, never half of either. The temp name carries the writer's pid so that
// concurrent writers never share one; a writer killed before its rename leaves `<file>.tmp-<pid>`,
// which readers ignore and cleaners may remove.
import fs from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** Removes the `<file>.tmp-<pid>` files of writeFileAtomic writers killed before their rename: never read, only litter. */
export function removeAtomicWriteTemps(file: string): void {
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(file));
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(prefix)) fs.rmSync(path.join(path.dirname(file), name), { force: true });
}
