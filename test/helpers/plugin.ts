// Runs the built binaries exactly as a container runtime does: CNI_* environment, config on stdin,
// result or error object on stdout.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DIST_BIN = path.join(ROOT, 'dist/bin');
export const REF_BIN = '/usr/lib/cni';

export interface CniEnv {
  CNI_COMMAND: string;
  CNI_CONTAINERID?: string;
  CNI_NETNS?: string;
  CNI_IFNAME?: string;
  CNI_ARGS?: string;
  CNI_PATH?: string;
  [key: string]: string | undefined;
}

export interface PluginRun {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when it is empty. */
  json: unknown;
}

function toRun(status: number | null, stdout: string, stderr: string): PluginRun {
  let json: unknown;
  if (stdout.trim()) {
    try {
      json = JSON.parse(stdout);
    } catch {
      json = undefined;
    }
  }
  return { status: status ?? -1, stdout, stderr, json };
}

function envFor(env: CniEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  return clean;
}

const fileOf = (binary: string): string => (binary.includes('/') ? binary : path.join(DIST_BIN, binary));
const inputOf = (config: unknown): string => (typeof config === 'string' ? config : JSON.stringify(config));

/** Runs `argv` with exactly `env` (nothing inherited) and `input` on stdin, synchronously. */
export function spawnPlugin(argv: string[], env: NodeJS.ProcessEnv, input: string, timeoutMs?: number): PluginRun {
  const [file = '', ...args] = argv;
  const res = spawnSync(file, args, { env, input, encoding: 'utf8', ...(timeoutMs ? { timeout: timeoutMs } : {}) });
  return toRun(res.status, res.stdout, res.stderr);
}

/** Same as spawnPlugin, without blocking: for many invocations in parallel. */
export function spawnPluginAsync(file: string, env: NodeJS.ProcessEnv, input: string, args: string[] = []): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve(toRun(code, stdout, stderr)));
    child.stdin.end(input);
  });
}

/** Runs `binary` (a path, or a plugin name in dist/bin) synchronously. */
export function runPlugin(binary: string, env: CniEnv, config: unknown): PluginRun {
  return spawnPlugin([fileOf(binary)], envFor(env), inputOf(config));
}

/** Same as runPlugin, without blocking: for many invocations in parallel. */
export function runPluginAsync(binary: string, env: CniEnv, config: unknown): Promise<PluginRun> {
  return spawnPluginAsync(fileOf(binary), envFor(env), inputOf(config));
}

/**
 * Runs `binary` inside netns `ns` (`ip netns exec`), the way a runtime on that node would: the
 * plugin's bridges, sysctls, routes and firewall rules land in `ns`, CNI_NETNS names the container.
 */
export function runPluginInNetns(ns: string, binary: string, env: CniEnv, config: unknown): PluginRun {
  return spawnPlugin(['ip', 'netns', 'exec', ns, fileOf(binary)], envFor(env), inputOf(config));
}

/** Same as runPluginInNetns, without blocking: many nodes' runtimes calling at once. */
export function runPluginInNetnsAsync(ns: string, binary: string, env: CniEnv, config: unknown): Promise<PluginRun> {
  return spawnPluginAsync('ip', envFor(env), inputOf(config), ['netns', 'exec', ns, fileOf(binary)]);
}
