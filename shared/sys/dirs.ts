// `mkdir -p` without Node's recursive mkdir: Node 26's `fs.mkdirSync(p, {recursive: true})` spins
// forever at 100% CPU when the kernel answers ENOENT for a directory whose parent exists (any path
// under /proc, e.g. a config's `dataDir: "/proc/x"`), which would hang a CNI call until the runtime
// kills it. Here every missing level is created once, and any refusal is thrown as it is.
import fs from 'node:fs';
import path from 'node:path';

const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Creates `dir` and its missing parents with `mode`; an existing directory is fine. */
export function makeDirectories(dir: string, mode: number): void {
  const missing: string[] = [];
  for (let cur = path.resolve(dir); ; ) {
    try {
      fs.statSync(cur);
      break;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      missing.push(cur);
      const parent = path.dirname(cur);
      if (parent === cur) break;
      cur = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (err) {
      // Another process created it between our stat and mkdir.
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
  }
}
