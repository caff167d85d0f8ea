// Runs IPAM plugin binaries the way a runtime does (env + stdin, result or error on stdout).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST_BIN, REF_BIN, spawnPlugin, spawnPluginAsync, type PluginRun } from '../../helpers/plugin.js';

/** Our built binaries; TSCNI_BIN_DIR points elsewhere for a development build. */
export const BIN_DIR = process.env['TSCNI_BIN_DIR'] ?? DIST_BIN;
export const GO_DIR = REF_BIN;
export { VERSIONS as ALL_VERSIONS } from '../../helpers/node-rig.js';

export function ourBin(name: string): string {
  const bin = path.join(BIN_DIR, name);
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run "npm run build" first`);
  return bin;
}

export interface Invocation {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
  containerID?: string;
  ifName?: string;
  cniArgs?: string;
  extraEnv?: Record<string, string>;
}

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json: Record<string, unknown> | undefined;
}

function envFor(inv: Invocation): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    CNI_COMMAND: inv.command,
    CNI_PATH: GO_DIR,
    ...inv.extraEnv,
  };
  if (inv.command !== 'GC' && inv.command !== 'STATUS' && inv.command !== 'VERSION') {
    env['CNI_CONTAINERID'] = inv.containerID ?? 'dummy';
    env['CNI_NETNS'] = '/var/run/netns/tscni-ipam-none';
    env['CNI_IFNAME'] = inv.ifName ?? 'eth0';
  }
  if (inv.cniArgs !== undefined) env['CNI_ARGS'] = inv.cniArgs;
  return env;
}

function outcome(r: PluginRun): Outcome {
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: r.json as Record<string, unknown> | undefined };
}

export function run(bin: string, conf: unknown, inv: Invocation): Outcome {
  return outcome(spawnPlugin([bin], envFor(inv), JSON.stringify(conf), 30_000));
}

/** Same as run, without blocking: for many invocations in parallel. */
export async function runAsync(bin: string, conf: unknown, inv: Invocation): Promise<Outcome> {
  return outcome(await spawnPluginAsync(bin, envFor(inv), JSON.stringify(conf)));
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-ipam-'));
}

/** The lease directory's files (name -> content), without our index which lives outside it. */
export function leaseFiles(dataDir: string, net: string): Record<string, string> {
  const dir = path.join(dataDir, net);
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
  return out;
}

/** Only the per-address lease files. */
export function leases(dataDir: string, net: string): Record<string, string> {
  const all = leaseFiles(dataDir, net);
  return Object.fromEntries(Object.entries(all).filter(([n]) => n !== 'lock' && !n.startsWith('last_reserved_ip.')));
}
