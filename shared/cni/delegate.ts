// Delegation to another plugin (IPAM, SPEC §4): find `<type>` on CNI_PATH and run it with the
// same environment, CNI_COMMAND overridden and the same config on stdin; its stdout is our
// result (in the config's cniVersion) or its error object, re-thrown unchanged.
//
// In-process fast path: when the delegate found on CNI_PATH is this very executable (the
// multi-call binary, hard-linked under every plugin name) and a resolver is registered, the
// delegate runs in this process through the same skel code path, with the derived env and the
// same stdin, and its stdout/exit code are interpreted exactly as the exec path's.
import { statSync } from 'node:fs';
import { writeStderr } from '../sys/stdio.js';
import { join } from 'node:path';
import { fromJSON } from './convert.js';
import { CniError, ErrorCode } from './errors.js';
import { foldGet, isJsonObject } from './fold.js';
import type { Command, Plugin } from './plugin.js';
import { runSkel } from './skel.js';
import type { Result } from './types.js';
import { effectiveVersion } from './versions.js';

export type DelegateCommand = Exclude<Command, 'VERSION'>;
export type DelegateResolver = (type: string) => Promise<Plugin | undefined>;

export interface DelegateOptions {
  /** Where the delegate's stderr goes (default: our stderr, as the reference passes it through). */
  stderr?: (s: string) => void;
}

/** How a delegate run ended, whichever way it ran. */
interface DelegateOutcome {
  /** Exit code; null when killed by a signal. */
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

let resolver: DelegateResolver | undefined;

/** Enables (or with undefined, disables) the in-process fast path. */
export function registerInProcessDelegates(r: DelegateResolver | undefined): void {
  resolver = r;
}

/** libcni's FindInPath: the first regular file named `type` in the CNI_PATH directories. */
export async function findPlugin(type: string, cniPath: string): Promise<string> {
  const fail = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg);
  if (type === '') throw fail('no plugin name provided');
  if (type.includes('/')) throw fail(`invalid plugin name: ${type}`);
  const dirs = cniPath.split(':').filter((d) => d !== '');
  if (dirs.length === 0) throw fail(`failed to find plugin "${type}": CNI_PATH is empty`);
  for (const dir of dirs) {
    const candidate = join(dir, type);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  throw fail(`failed to find plugin "${type}" in path [${dirs.join(' ')}]`);
}

async function isThisExecutable(file: string): Promise<boolean> {
  try {
    const [a, b] = [statSync(file), statSync(process.execPath)];
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

function delegateEnv(env: NodeJS.ProcessEnv, command: DelegateCommand): NodeJS.ProcessEnv {
  return { ...env, CNI_COMMAND: command };
}

async function runInProcess(plugin: Plugin, env: NodeJS.ProcessEnv, stdinData: Buffer, forward: (s: string) => void): Promise<DelegateOutcome> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runSkel(plugin, {
    env,
    stdin: stdinData,
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
      forward(s);
    },
  });
  return { exitCode, stdout, stderr };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runExecutable(file: string, env: NodeJS.ProcessEnv, stdinData: Buffer, forward: (s: string) => void): Promise<DelegateOutcome> {
  // getBuiltinModule, not import(): loaded only when a delegate is executed, and no dynamic import
  // in the bundle (the executable runs it through vm.Script, see scripts/sea-main.cjs).
  const { spawn } = process.getBuiltinModule('node:child_process');
  // The reference retries "text file busy" (a plugin binary being replaced) for up to 5 s.
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<DelegateOutcome>((resolve, reject) => {
        const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => {
          err.push(b);
          forward(b.toString('utf8'));
        });
        child.on('error', reject);
        // A delegate that exits without reading stdin must not crash us with EPIPE.
        child.stdin.on('error', () => undefined);
        child.on('close', (code, signal) =>
          resolve({
            exitCode: code,
            ...(signal ? { signal } : {}),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          }),
        );
        child.stdin.end(stdinData);
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ETXTBSY' && attempt < 5) {
        await sleep(1000);
        continue;
      }
      throw new CniError(ErrorCode.Internal, `failed to execute plugin ${file}: ${(e as Error).message}`);
    }
  }
}

/** libcni's pluginErr: the delegate's error object, or a description of how it failed. */
function failureError(o: DelegateOutcome): CniError {
  const status = o.exitCode === null ? `signal: ${o.signal ?? 'unknown'}` : `exit status ${o.exitCode}`;
  const text = o.stdout.trim();
  if (text === '') {
    // Code 999: the reference leaves code 0 here, which is not an error code at all.
    if (o.stderr === '') return new CniError(ErrorCode.Internal, `netplugin failed with no error message: ${status}`);
    return new CniError(ErrorCode.Internal, `netplugin failed: ${JSON.stringify(o.stderr)}`);
  }
  try {
    const obj: unknown = JSON.parse(text);
    if (!isJsonObject(obj)) throw new Error('not an error object');
    const code = foldGet(obj, 'code');
    const msg = foldGet(obj, 'msg');
    const details = foldGet(obj, 'details');
    return new CniError(
      typeof code === 'number' && Number.isInteger(code) && code > 0 ? code : ErrorCode.Internal,
      typeof msg === 'string' ? msg : '',
      typeof details === 'string' ? details : '',
    );
  } catch (e) {
    return new CniError(
      ErrorCode.Internal,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(o.stdout)}: ${(e as Error).message}`,
    );
  }
}

function configVersion(stdinData: Buffer): string {
  try {
    const conf: unknown = JSON.parse(stdinData.toString('utf8'));
    const v = isJsonObject(conf) ? foldGet(conf, 'cniVersion') : undefined;
    return effectiveVersion(typeof v === 'string' ? v : '');
  } catch {
    return effectiveVersion('');
  }
}

/** Shared by both paths: an error for a failed run, the parsed result for a successful ADD. */
function interpret(type: string, command: DelegateCommand, o: DelegateOutcome, stdinData: Buffer): Result | undefined {
  if (o.exitCode !== 0) throw failureError(o);
  if (command !== 'ADD') return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(o.stdout);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to parse the result of plugin "${type}": ${(e as Error).message}`);
  }
  try {
    return fromJSON(obj, configVersion(stdinData));
  } catch (e) {
    const why = e instanceof CniError ? e.msg : (e as Error).message;
    throw new CniError(ErrorCode.DecodingFailure, `failed to parse the result of plugin "${type}": ${why}`);
  }
}

async function delegate(command: DelegateCommand, type: string, stdinData: Buffer, env: NodeJS.ProcessEnv, opts: DelegateOptions): Promise<Result | undefined> {
  const file = await findPlugin(type, env['CNI_PATH'] ?? '');
  const childEnv = delegateEnv(env, command);
  const forward = opts.stderr ?? writeStderr;
  let outcome: DelegateOutcome | undefined;
  if (resolver && (await isThisExecutable(file))) {
    const plugin = await resolver(type);
    if (plugin) outcome = await runInProcess(plugin, childEnv, stdinData, forward);
  }
  outcome ??= await runExecutable(file, childEnv, stdinData, forward);
  return interpret(type, command, outcome, stdinData);
}

/** Runs `<type> ADD` and returns its result in the internal (1.x) shape. */
export async function delegateAdd(type: string, stdinData: Buffer, env: NodeJS.ProcessEnv, opts: DelegateOptions = {}): Promise<Result> {
  const result = await delegate('ADD', type, stdinData, env, opts);
  // interpret() always yields a result for ADD; the check keeps the type honest.
  if (!result) throw new CniError(ErrorCode.Internal, `plugin "${type}" returned no result`);
  return result;
}

export async function delegateDel(type: string, stdinData: Buffer, env: NodeJS.ProcessEnv, opts: DelegateOptions = {}): Promise<void> {
  await delegate('DEL', type, stdinData, env, opts);
}

export async function delegateCheck(type: string, stdinData: Buffer, env: NodeJS.ProcessEnv, opts: DelegateOptions = {}): Promise<void> {
  await delegate('CHECK', type, stdinData, env, opts);
}

export async function delegateGc(type: string, stdinData: Buffer, env: NodeJS.ProcessEnv, opts: DelegateOptions = {}): Promise<void> {
  await delegate('GC', type, stdinData, env, opts);
}

export async function delegateStatus(type: string, stdinData: Buffer, env: NodeJS.ProcessEnv, opts: DelegateOptions = {}): Promise<void> {
  await delegate('STATUS', type, stdinData, env, opts);
}
