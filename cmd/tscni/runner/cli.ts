// `tscni <command> ...`: the runner's command line (cnitool's interface and env, plus ls and gc --stale).
//   tscni add|check|del <network> <netns>      (check/del may omit netns when CNI_CONTAINERID is set)
//   tscni gc [--stale] [--json] <network>
//   tscni status <network>
//   tscni ls [--json]
//   tscni version [--json]
// stdout carries only the answer (the ADD result JSON, or the ls/gc report); messages go to stderr.
import path from 'node:path';
import { TSCNI_VERSION } from '../../../shared/cni/about.js';
import { goJSONIndent } from '../../../shared/cni/json-out.js';
import { CURRENT_VERSION, SUPPORTED_VERSIONS } from '../../../shared/cni/versions.js';
import { writeStderr, writeStdout } from '../../../shared/sys/stdio.js';
import { loadAllLists, loadNetworkList } from './conf.js';
import { containerIdForNetns, readRunnerEnv, type RunnerEnv } from './env.js';
import { EXIT_FAILURE, EXIT_USAGE, RunnerError } from './errors.js';
import { gcNetwork, gcStale } from './gc.js';
import { allocations, attachments } from './inventory.js';
import { addList, checkList, delList, statusList, type Context, type RuntimeConf } from './ops.js';
import { renderGc, renderLs } from './output.js';

export const RUNNER_COMMANDS = ['add', 'check', 'del', 'gc', 'status', 'ls', 'version'] as const;

const USAGE = `usage:
  tscni add    <network> <netns-path>
  tscni check  <network> <netns-path>
  tscni del    <network> <netns-path>
  tscni gc     [--stale] [--json] <network>
  tscni status <network>
  tscni ls     [--json]
  tscni version [--json]
  tscni <plugin> ...        run one plugin (CNI_* env, config on stdin)
  tscni --list              the plugin names
env: NETCONFPATH, CNI_PATH, CNI_IFNAME, CNI_ARGS, CAP_ARGS, CNI_CONTAINERID, TSCNI_CACHE_DIR
`;

interface Parsed {
  flags: Set<string>;
  positional: string[];
}

function parseArgs(argv: string[], allowed: readonly string[]): Parsed {
  const flags = new Set<string>();
  const positional: string[] = [];
  for (const a of argv) {
    if (a.startsWith('--')) {
      if (!allowed.includes(a)) throw new RunnerError(`unknown option ${a}\n${USAGE}`, undefined, EXIT_USAGE);
      flags.add(a);
    } else positional.push(a);
  }
  return { flags, positional };
}

function usage(msg: string): RunnerError {
  return new RunnerError(`${msg}\n${USAGE}`, undefined, EXIT_USAGE);
}

function context(env: RunnerEnv): Context {
  return { cniPath: env.cniPath, cacheDir: env.cacheDir, baseEnv: process.env };
}

function runtimeOf(env: RunnerEnv, netnsArg: string | undefined): RuntimeConf {
  const netns = netnsArg === undefined ? '' : path.resolve(netnsArg);
  const containerId = env.containerId ?? (netns !== '' ? containerIdForNetns(netns) : '');
  return { containerId, netns, ifName: env.ifName, cniArgs: env.cniArgs, capabilityArgs: env.capabilityArgs };
}

async function attach(cmd: 'add' | 'check' | 'del', argv: string[], env: RunnerEnv): Promise<number> {
  const { positional } = parseArgs(argv, []);
  const [network, netns] = positional;
  if (network === undefined || positional.length > 2) throw usage(`tscni ${cmd}: expected <network> <netns-path>`);
  if (netns === undefined && (cmd === 'add' || env.containerId === undefined)) {
    throw usage(`tscni ${cmd}: <netns-path> is required${cmd === 'add' ? '' : ' unless CNI_CONTAINERID is set'}`);
  }
  const list = loadNetworkList(env.netConfPath, network);
  const rt = runtimeOf(env, netns);
  const ctx = context(env);
  if (cmd === 'add') writeStdout(goJSONIndent(await addList(ctx, list, rt)) + '\n');
  else if (cmd === 'check') await checkList(ctx, list, rt);
  else await delList(ctx, list, rt);
  return 0;
}

async function gc(argv: string[], env: RunnerEnv): Promise<number> {
  const { flags, positional } = parseArgs(argv, ['--stale', '--json']);
  const [network] = positional;
  if (network === undefined || positional.length > 1) throw usage('tscni gc: expected <network>');
  const list = loadNetworkList(env.netConfPath, network);
  const report = flags.has('--stale') ? await gcStale(context(env), list) : await gcNetwork(context(env), list);
  writeStdout(flags.has('--json') ? goJSONIndent(report) + '\n' : renderGc(report));
  return 0;
}

async function status(argv: string[], env: RunnerEnv): Promise<number> {
  const { positional } = parseArgs(argv, []);
  const [network] = positional;
  if (network === undefined || positional.length > 1) throw usage('tscni status: expected <network>');
  const list = loadNetworkList(env.netConfPath, network);
  const asked = await statusList(context(env), list);
  // stderr: scripts read the exit status; stdout stays empty as cnitool's.
  writeStderr(asked ? `network "${network}": ready\n` : `network "${network}": cniVersion "${list.cniVersion}" has no STATUS; nothing to ask (ready)\n`);
  return 0;
}

function ls(argv: string[], env: RunnerEnv): number {
  const { flags, positional } = parseArgs(argv, ['--json']);
  if (positional.length > 0) throw usage('tscni ls: no arguments expected');
  const atts = attachments(env.cacheDir);
  const lists = loadAllLists(env.netConfPath, (m) => writeStderr(`tscni ls: ${m}\n`));
  const allocs = allocations(lists, atts);
  writeStdout(flags.has('--json') ? goJSONIndent({ attachments: atts, allocations: allocs }) + '\n' : renderLs(atts, allocs));
  return 0;
}

function version(argv: string[]): number {
  const { flags } = parseArgs(argv, ['--json']);
  const info = { tscni: TSCNI_VERSION, cniVersion: CURRENT_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
  writeStdout(flags.has('--json') ? goJSONIndent(info) + '\n' : `tscni ${info.tscni}\nCNI spec version ${info.cniVersion} (supported: ${info.supportedVersions.join(', ')})\n`);
  return 0;
}

/** Runs one runner command; returns the exit status (0, 1 = failed operation, 2 = usage). */
export async function runRunner(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === 'version') return version(rest);
    const env = readRunnerEnv(process.env, process.execPath);
    switch (cmd) {
      case 'add':
      case 'check':
      case 'del':
        return await attach(cmd, rest, env);
      case 'gc':
        return await gc(rest, env);
      case 'status':
        return await status(rest, env);
      case 'ls':
        return ls(rest, env);
      default:
        throw usage(`unknown command "${cmd ?? ''}"`);
    }
  } catch (e) {
    if (e instanceof RunnerError) {
      writeStderr(`tscni: ${e.message}\n`);
      return e.exitStatus;
    }
    writeStderr(`tscni: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT_FAILURE;
  }
}
