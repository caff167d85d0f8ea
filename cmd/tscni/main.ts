// Entry point of the single multi-call executable. Every plugin name in dist/bin is a hard link to
// it; the name it was started under (argv0) picks the plugin, as busybox does.
import { basename } from 'node:path';
import { writeStderr, writeStdout } from '../../shared/sys/stdio.js';
import { runSkel } from '../../shared/cni/skel.js';
import { registerInProcessDelegates } from '../../shared/cni/delegate.js';
import { PLUGINS, PLUGIN_NAMES, isPluginName } from './registry.js';

/**
 * `tscni <command> ...` when started as tscni (not under a plugin name): the commands that are not
 * plugins. One line each; each loads its code only when run.
 */
type Command = (argv: string[]) => Promise<number>;
const runner: Command = async (argv) => (await import('./runner/cli.js')).runRunner(argv);
const COMMANDS: Readonly<Record<string, Command>> = {
  add: runner,
  check: runner,
  del: runner,
  gc: runner,
  status: runner,
  ls: runner,
  version: runner,
  install: async (argv) => (await import('./install.js')).installCommand(argv.slice(1)),
  overlay: async (argv) => (await import('./overlay/index.js')).overlayCommand(argv.slice(1)),
};

function pickPlugin(): { name: string; argvRest: string[] } | undefined {
  const invokedAs = basename(process.argv0);
  if (isPluginName(invokedAs)) return { name: invokedAs, argvRest: process.argv.slice(2) };
  // `tscni <plugin> ...` (or `node build/tscni.cjs <plugin>` in development).
  const first = process.argv[2];
  if (first !== undefined && isPluginName(first)) return { name: first, argvRest: process.argv.slice(3) };
  return undefined;
}

/** Runs one call. `exit`: the process may end as soon as the call is answered (see below). */
async function main(): Promise<{ code: number; exit: boolean }> {
  if (process.argv[2] === '--list' && !isPluginName(basename(process.argv0))) {
    writeStdout(PLUGIN_NAMES.join('\n') + '\n');
    return { code: 0, exit: true };
  }
  const command = process.argv[2];
  if (command !== undefined && Object.hasOwn(COMMANDS, command) && !isPluginName(basename(process.argv0))) {
    return { code: await COMMANDS[command]!(process.argv.slice(2)), exit: true };
  }
  const picked = pickPlugin();
  if (!picked) {
    writeStderr(
      `tscni: start this program under one of its plugin names (a link named like the plugin),\n` +
        `or as "tscni <plugin>". Plugins: ${PLUGIN_NAMES.join(', ')}\n` +
        `Commands: ${Object.keys(COMMANDS).join(', ')} (e.g. "tscni add <network> <netns-path>")\n`,
    );
    return { code: 1, exit: true };
  }
  const entry = PLUGINS[picked.name]!;
  const plugin = await entry.load();
  if (!plugin) throw new Error(`plugin ${picked.name} is not in this bundle`);
  // A second role (e.g. `dhcp daemon`) may leave servers running: it ends when its event loop does.
  if (plugin.cli && picked.argvRest.length > 0) return { code: await plugin.cli(picked.argvRest), exit: false };
  // IPAM delegates that are our own executable may run in-process (same results, no exec).
  registerInProcessDelegates(async (type) => (isPluginName(type) ? PLUGINS[type]!.load() : undefined));
  return { code: await runSkel(plugin), exit: true };
}

main().then(
  ({ code, exit }) => {
    // A CNI call is over once runSkel has answered: every write is synchronous (fd writes), and
    // nothing is left to run. process.exit skips tearing down the heap and the event loop (~2 ms of
    // every call).
    if (exit) process.exit(code);
    process.exitCode = code;
  },
  (err: unknown) => {
    // runSkel reports every error itself; reaching here is a bug in the dispatcher. Keep stdout clean.
    writeStderr(`tscni: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    writeStdout(JSON.stringify({ code: 999, msg: `internal error: ${String(err)}` }, null, 4) + '\n');
    process.exitCode = 1;
  },
);
