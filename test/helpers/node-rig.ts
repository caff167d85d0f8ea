// Shared by the interface-plugin integration tests: run a plugin binary (ours or the Go reference)
// inside a test-owned netns that plays the node (so sysctls, routes and firewall rules land there),
// with CNI_NETNS pointing at a second test netns (the container).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { netnsPath } from './netns.js';
import { DIST_BIN, REF_BIN, runPluginInNetns, type CniEnv, type PluginRun } from './plugin.js';

export const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export type Impl = 'ours' | 'ref';
export const binDir = (impl: Impl): string => (impl === 'ours' ? DIST_BIN : REF_BIN);

/** Runs `<dir>/<plugin>` inside netns `hostNs` with the CNI env (CNI_PATH defaults to that dir). */
export function runIn(hostNs: string, plugin: string, env: CniEnv, config: unknown, impl: Impl = 'ours'): PluginRun {
  const dir = binDir(impl);
  return runPluginInNetns(hostNs, path.join(dir, plugin), { ...env, CNI_PATH: env.CNI_PATH ?? dir }, config);
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

/** Replaces random parts (veth names, MACs, netns paths) so two results can be compared. */
export function normalize(value: unknown): unknown {
  const text = JSON.stringify(value)
    .replace(/veth[0-9a-f]{8}/g, 'vethXXXXXXXX')
    .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
    .replace(/\/run\/netns\/[a-z0-9-]+/g, 'NETNS');
  return JSON.parse(text);
}
