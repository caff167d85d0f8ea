// Shared by the interface-plugin integration tests: run a plugin binary inside a test-owned netns
// that plays the node (so sysctls, routes and firewall rules land there), with CNI_NETNS pointing
// at a second test netns (the container).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DIST_BIN, REF_BIN, type CniEnv, type PluginRun } from '../../helpers/plugin.js';
import { execInNetns, netnsPath } from '../../helpers/netns.js';

export const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export type Impl = 'ours' | 'ref';
export const binDir = (impl: Impl): string => (impl === 'ours' ? DIST_BIN : REF_BIN);

/** Runs `<dir>/<plugin>` inside netns `hostNs` with the CNI env, config on stdin. */
export function runIn(hostNs: string, plugin: string, env: CniEnv, config: unknown, impl: Impl = 'ours'): PluginRun {
  const dir = binDir(impl);
  const file = path.join(dir, plugin);
  const input = typeof config === 'string' ? config : JSON.stringify(config);
  const full: NodeJS.ProcessEnv = { PATH: process.env.PATH, CNI_PATH: dir };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
  const res = spawnSync('ip', ['netns', 'exec', hostNs, file], { env: full, input, encoding: 'utf8' });
  let json: unknown;
  try {
    json = res.stdout.trim() ? JSON.parse(res.stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr, json };
}

/** The CNI env of one attachment. */
export function cniEnv(command: string, containerNs: string, containerID = 'ctr1', ifName = 'eth0', extra: Record<string, string> = {}): CniEnv {
  return { CNI_COMMAND: command, CNI_CONTAINERID: containerID, CNI_NETNS: netnsPath(containerNs), CNI_IFNAME: ifName, ...extra };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Pings from a netns; IPv6 gets a few tries (the gateway address may still be doing DAD). */
export function ping(ns: string, target: string, tries = 1): boolean {
  for (let i = 0; i < tries; i++) {
    if (execInNetns(ns, 'ping', ['-c', '1', '-W', '1', target]).status === 0) return true;
  }
  return false;
}

export function sh(ns: string, cmd: string, args: string[]): string {
  const r = execInNetns(ns, cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns} failed: ${r.stderr}`);
  return r.stdout;
}

/** Replaces random parts (veth names, MACs, netns paths) so two results can be compared. */
export function normalize(value: unknown): unknown {
  const text = JSON.stringify(value)
    .replace(/veth[0-9a-f]{8}/g, 'vethXXXXXXXX')
    .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
    .replace(/\/run\/netns\/[a-z0-9-]+/g, 'NETNS');
  return JSON.parse(text);
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
}
