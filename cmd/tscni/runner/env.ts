// The runner's environment, read as cnitool reads it (NETCONFPATH, CNI_PATH, CNI_IFNAME, CNI_ARGS,
// CAP_ARGS) plus CNI_CONTAINERID and TSCNI_CACHE_DIR. Pure functions of an env object so the unit
// tests need no process state.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { isJsonObject, type JsonObject } from '../../../shared/cni/fold.js';
import { RunnerError } from './errors.js';

export const DEFAULT_NETCONFPATH = '/etc/cni/net.d';
export const DEFAULT_CNI_PATH = '/opt/cni/bin';
/** libcni's CacheDir: results live in <cacheDir>/results. */
export const DEFAULT_CACHE_DIR = '/var/lib/cni';

export interface RunnerEnv {
  netConfPath: string;
  /** Directories searched for plugin binaries, in order. */
  cniPath: string[];
  ifName: string;
  /** CNI_ARGS as libcni keeps them: [key, value] pairs. */
  cniArgs: [string, string][];
  capabilityArgs: JsonObject;
  /** CNI_CONTAINERID when set: it overrides the ID derived from the netns path. */
  containerId?: string;
  cacheDir: string;
}

/** cnitool's container ID: "cnitool-" + the first 10 bytes of sha512(absolute netns path), in hex. */
export function containerIdForNetns(netnsPath: string): string {
  const abs = path.resolve(netnsPath);
  return `cnitool-${createHash('sha512').update(abs).digest().subarray(0, 10).toString('hex')}`;
}

/** cnitool's CNI_ARGS parser: "K=V;K=V", every pair exactly one '=' with both sides non-empty. */
export function parseCniArgsPairs(raw: string): [string, string][] {
  return raw.split(';').map((pair) => {
    const kv = pair.split('=');
    if (kv.length !== 2 || kv[0] === '' || kv[1] === '') throw new RunnerError(`invalid CNI_ARGS pair "${pair}"`);
    return [kv[0] as string, kv[1] as string];
  });
}

export function parseCapArgs(raw: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new RunnerError(`CAP_ARGS is not JSON: ${(e as Error).message}`);
  }
  if (!isJsonObject(parsed)) throw new RunnerError('CAP_ARGS must be a JSON object (capability name -> value)');
  return parsed;
}

const sameFile = (a: string, b: string): boolean => {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
};

/**
 * Where this executable's plugin links are: beside it (dist/bin/tscni, /opt/cni/bin/tscni), in
 * bin/ below it (dist/tscni), or /opt/cni/bin (installed on the PATH). A directory counts when its
 * `loopback` is this very file (hard link, or a symlink to it), so a stray directory never does.
 */
export function defaultCniPath(execPath: string): string[] {
  const dir = path.dirname(execPath);
  const found = [dir, path.join(dir, 'bin'), DEFAULT_CNI_PATH].find((d) => sameFile(path.join(d, 'loopback'), execPath));
  return found && found !== DEFAULT_CNI_PATH ? [found, DEFAULT_CNI_PATH] : [DEFAULT_CNI_PATH];
}

export function readRunnerEnv(env: NodeJS.ProcessEnv, execPath: string): RunnerEnv {
  const cniPath = env['CNI_PATH'] ? env['CNI_PATH'].split(':').filter((d) => d !== '') : defaultCniPath(execPath);
  const ifName = env['CNI_IFNAME'] ?? 'eth0';
  const out: RunnerEnv = {
    netConfPath: env['NETCONFPATH'] || DEFAULT_NETCONFPATH,
    cniPath,
    ifName,
    cniArgs: env['CNI_ARGS'] ? parseCniArgsPairs(env['CNI_ARGS']) : [],
    capabilityArgs: env['CAP_ARGS'] ? parseCapArgs(env['CAP_ARGS']) : {},
    cacheDir: env['TSCNI_CACHE_DIR'] || DEFAULT_CACHE_DIR,
  };
  if (env['CNI_CONTAINERID']) out.containerId = env['CNI_CONTAINERID'];
  return out;
}
