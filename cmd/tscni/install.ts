// `tscni install [--force] [--json] [DIR]`: puts ONE copy of the running executable into DIR
// (default /opt/cni/bin) as DIR/tscni, and a link to it per plugin name, the way a runtime expects
// the plugins. Why a command and not `cp`: every plugin name is a hard link to a ~150 MB file, and a
// plain `cp dist/bin/* DIR` writes one full copy per name.
//
// Rules: each name is replaced atomically (temporary name + rename). A name that is already ours (a
// hard link to a tscni executable, a symlink to one, or a tscni executable of any version) is
// replaced; anything else (e.g. the Go reference's `bridge`) is refused, naming it, unless --force.
// Nothing is changed when a name is refused. Re-running is idempotent: an identical copy is kept
// and links that already point at it are left alone.
import fs from 'node:fs';
import path from 'node:path';
import { writeStderr, writeStdout } from '../../shared/sys/stdio.js';
import { TSCNI_VERSION } from '../../shared/cni/about.js';
import { PLUGIN_NAMES } from './registry.js';
import { isTscniExecutable } from './install/identity.js';
import { copyAtomically, linkAtomically, removeStaleTemps, sameContent, syncDir, type LinkKind } from './install/place.js';
import { makeDirectories } from '../../shared/sys/dirs.js';
import { errorText } from '../../shared/sys/error-text.js';

export const DEFAULT_INSTALL_DIR = '/opt/cni/bin';
/** The name of the one real copy in the install directory; every plugin name points at it. */
const EXECUTABLE_NAME = 'tscni';
/** The running executable itself, even if its path was replaced or removed since it started. */
const SELF = '/proc/self/exe';

const USAGE = `usage: tscni install [--force] [--json] [DIR]
Installs this executable into DIR (default ${DEFAULT_INSTALL_DIR}) as DIR/${EXECUTABLE_NAME}, with a link
per plugin name (hard links; symlinks where the filesystem refuses hard links). Names that hold
a file which is not tscni's are refused unless --force.
`;

interface Options {
  dir: string;
  force: boolean;
  json: boolean;
}

type Action = 'created' | 'replaced' | 'unchanged';

interface LinkReport {
  name: string;
  kind: LinkKind;
  action: Action;
  /** A file that was not tscni's was replaced (--force). */
  replacedForeign?: true;
}

class UsageError extends Error {}

function parseArgs(args: string[]): Options | 'help' {
  const opts: Options = { dir: DEFAULT_INSTALL_DIR, force: false, json: false };
  let dirSeen = false;
  for (const arg of args) {
    if (arg === '-h' || arg === '--help') return 'help';
    else if (arg === '--force' || arg === '-f') opts.force = true;
    else if (arg === '--json') opts.json = true;
    else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
    else if (dirSeen) throw new UsageError(`one directory only (got ${opts.dir} and ${arg})`);
    else {
      opts.dir = arg;
      dirSeen = true;
    }
  }
  opts.dir = path.resolve(opts.dir);
  return opts;
}

type Existing = { state: 'absent' } | { state: 'ours' | 'foreign'; stat: fs.Stats } | { state: 'directory' };

/** What a name in the install directory holds now, and whether it is ours to replace. */
function classify(file: string): Existing {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    throw err;
  }
  if (st.isDirectory()) return { state: 'directory' };
  if (st.isSymbolicLink()) {
    // Ours when it leads to a tscni executable, or dangles towards one by name (its copy removed).
    const target = fs.readlinkSync(file);
    const resolves = fs.existsSync(file);
    const ours = resolves ? isTscniExecutable(file) : path.basename(target) === EXECUTABLE_NAME;
    return { state: ours ? 'ours' : 'foreign', stat: st };
  }
  return { state: st.isFile() && isTscniExecutable(file) ? 'ours' : 'foreign', stat: st };
}

function install(opts: Options): { executable: { path: string; action: Action; bytes: number }; links: LinkReport[] } {
  if (!isTscniExecutable(SELF)) {
    throw new Error(`the running program (${process.execPath}) is not a built tscni executable: run dist/tscni install`);
  }
  makeDirectories(opts.dir, 0o755);
  removeStaleTemps(opts.dir);

  // Decide everything before changing anything: a refused name leaves the directory as it was.
  const names = [EXECUTABLE_NAME, ...PLUGIN_NAMES];
  const existing = new Map(names.map((n) => [n, classify(path.join(opts.dir, n))] as const));
  const at = (list: string[]): string => list.map((n) => path.join(opts.dir, n)).join(', ');
  const problems: string[] = [];
  const dirs = names.filter((n) => existing.get(n)!.state === 'directory');
  if (dirs.length > 0) problems.push(`cannot replace directories: ${at(dirs)}`);
  const foreign = names.filter((n) => existing.get(n)!.state === 'foreign');
  if (foreign.length > 0 && !opts.force) {
    problems.push(
      `refusing to replace files that are not tscni's: ${at(foreign)} ` +
        `(another plugin suite? move them away, or use --force to replace them)`,
    );
  }
  if (problems.length > 0) throw new Error(problems.join('; '));

  const exe = path.join(opts.dir, EXECUTABLE_NAME);
  const before = existing.get(EXECUTABLE_NAME)!;
  let exeAction: Action;
  if (before.state === 'ours' && before.stat.isFile() && sameContent(SELF, exe)) exeAction = 'unchanged';
  else {
    copyAtomically(SELF, exe);
    exeAction = before.state === 'absent' ? 'created' : 'replaced';
  }
  const exeStat = fs.statSync(exe);

  const links: LinkReport[] = [];
  let kind: LinkKind = 'hardlink';
  for (const name of PLUGIN_NAMES) {
    const dest = path.join(opts.dir, name);
    const was = existing.get(name)!;
    const replacedForeign = was.state === 'foreign' ? ({ replacedForeign: true } as const) : {};
    if (was.state === 'ours') {
      // Already pointing at this copy: leave it (idempotent, no needless rename under a runtime).
      const st = was.stat;
      if (st.isFile() && st.dev === exeStat.dev && st.ino === exeStat.ino) {
        links.push({ name, kind: 'hardlink', action: 'unchanged' });
        continue;
      }
      if (st.isSymbolicLink() && fs.readlinkSync(dest) === EXECUTABLE_NAME) {
        links.push({ name, kind: 'symlink', action: 'unchanged' });
        continue;
      }
    }
    // Once the filesystem has refused a hard link, the rest are symlinks too.
    kind = linkAtomically(exe, dest, kind);
    links.push({ name, kind, action: was.state === 'absent' ? 'created' : 'replaced', ...replacedForeign });
  }
  syncDir(opts.dir);
  return { executable: { path: exe, action: exeAction, bytes: exeStat.size }, links };
}

function describe(opts: Options, r: ReturnType<typeof install>): string {
  const mib = (r.executable.bytes / (1 << 20)).toFixed(1);
  const lines = [`tscni ${TSCNI_VERSION}: ${r.executable.path} ${r.executable.action} (${mib} MiB, the only copy)`];
  for (const kind of ['hardlink', 'symlink'] as const) {
    const of = r.links.filter((l) => l.kind === kind);
    if (of.length === 0) continue;
    const count = (a: Action): number => of.filter((l) => l.action === a).length;
    lines.push(
      `${of.length} plugin names as ${kind === 'hardlink' ? 'hard links' : 'symlinks'}: ` +
        `${count('created')} created, ${count('replaced')} replaced, ${count('unchanged')} unchanged`,
    );
  }
  const forced = r.links.filter((l) => l.replacedForeign).map((l) => l.name);
  if (forced.length > 0) lines.push(`replaced files that were not tscni's (--force): ${forced.join(', ')}`);
  lines.push(`plugins installed in ${opts.dir}`);
  return lines.join('\n') + '\n';
}

/** Runs `tscni install ARGS`; returns the exit status (0 done, 1 failed, 2 usage). */
export function installCommand(args: string[]): number {
  let opts: Options | 'help';
  try {
    opts = parseArgs(args);
  } catch (err) {
    writeStderr(`tscni install: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    writeStdout(USAGE);
    return 0;
  }
  try {
    const r = install(opts);
    if (opts.json) writeStdout(JSON.stringify({ dir: opts.dir, version: TSCNI_VERSION, ...r }, null, 2) + '\n');
    else writeStdout(describe(opts, r));
    return 0;
  } catch (err) {
    const msg = errorText(err);
    if (opts.json) writeStdout(JSON.stringify({ dir: opts.dir, error: msg }, null, 2) + '\n');
    writeStderr(`tscni install: ${msg}\n`);
    return 1;
  }
}
