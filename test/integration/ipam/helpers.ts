// Runs IPAM plugin binaries the way a runtime does (env + stdin, result or error on stdout).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Our built binaries; TSCNI_BIN_DIR points elsewhere for a development build. */
export const BIN_DIR = process.env['TSCNI_BIN_DIR'] ?? path.join(repo, 'dist/bin');
export const GO_DIR = '/usr/lib/cni';
export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

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

function outcome(code: number | null, stdout: string, stderr: string): Outcome {
  let json: Record<string, unknown> | undefined;
  try {
    json = stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>);
  } catch {
    json = undefined;
  }
  return { code: code ?? -1, stdout, stderr, json };
}

export function run(bin: string, conf: unknown, inv: Invocation): Outcome {
  const r = spawnSync(bin, [], { input: JSON.stringify(conf), env: envFor(inv), encoding: 'utf8', timeout: 30_000 });
  return outcome(r.status, r.stdout, r.stderr);
}

/** Same as run, without blocking: for many invocations in parallel. */
export function runAsync(bin: string, conf: unknown, inv: Invocation): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { env: envFor(inv), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve(outcome(code, stdout, stderr)));
    child.stdin.end(JSON.stringify(conf));
  });
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
