// The tuning tests' rig: a test netns plays the node, our bridge (or ptp) from dist/bin makes the
// container's eth0 and the real prevResult, then tuning (ours or the Go reference) runs chained.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { link, type IpLink } from '../../helpers/ip.js';
import { createNetns, execInNetns, sh } from '../../helpers/netns.js';
import { binDir, cniEnv, runIn, tempDir, type Impl } from '../../helpers/node-rig.js';
import { spawnPlugin, type CniEnv, type PluginRun } from '../../helpers/plugin.js';

export interface Rig {
  host: string;
  /** host-local's leases. */
  ipamDir: string;
  /** tuning's dataDir (backups). */
  dataDir: string;
  /** TSCNI_STATE_DIR: tuning's per-network records of its backups (for GC). */
  stateDir: string;
  dirs: string[];
}

export function newRig(): Rig {
  const host = createNetns('tn-h');
  sh(host, 'ip', ['link', 'set', 'lo', 'up']);
  const ipamDir = tempDir('tn-ipam-');
  const dataDir = tempDir('tn-data-');
  const stateDir = tempDir('tn-state-');
  return { host, ipamDir, dataDir, stateDir, dirs: [ipamDir, dataDir, stateDir] };
}

export const SUBNET = '10.33.1.0/24';

export function bridgeConf(rig: Rig, version = '1.0.0'): Record<string, unknown> {
  return {
    cniVersion: version,
    name: 'tnnet',
    type: 'bridge',
    bridge: 'tn-br0',
    isGateway: true,
    ipam: { type: 'host-local', subnet: SUBNET, dataDir: rig.ipamDir },
  };
}

export function ptpConf(rig: Rig, version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: 'tnptp', type: 'ptp', ipam: { type: 'host-local', subnet: '10.33.2.0/24', dataDir: rig.ipamDir } };
}

export function tuningConf(rig: Rig, extra: Record<string, unknown> = {}, version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: 'tnnet', type: 'tuning', dataDir: rig.dataDir, ...extra };
}

export interface Attachment {
  c: string;
  cid: string;
  prev: Record<string, unknown>;
  /** eth0 as it was before tuning ran. */
  before: IpLink;
}

/** A container netns with eth0 made by our main plugin (bridge by default). */
export function attach(rig: Rig, cid: string, opts: { main?: 'bridge' | 'ptp'; version?: string } = {}): Attachment {
  const c = createNetns('tn-c');
  const main = opts.main ?? 'bridge';
  const conf = main === 'bridge' ? bridgeConf(rig, opts.version) : ptpConf(rig, opts.version);
  const r = runIn(rig.host, main, cniEnv('ADD', c, cid), conf);
  expect(r.status, r.stdout).toBe(0);
  const before = link(c, 'eth0');
  if (!before) throw new Error('eth0 missing after the main plugin');
  return { c, cid, prev: r.json as Record<string, unknown>, before };
}

/** Runs tuning (ours by default) for an attachment; prevResult is the main plugin's result. */
export function tuning(rig: Rig, a: Attachment, command: string, conf: Record<string, unknown> | string, impl: Impl = 'ours', extraEnv: Record<string, string> = {}): PluginRun {
  const withPrev = typeof conf === 'string' || command === 'DEL' ? conf : { prevResult: a.prev, ...conf };
  return runIn(rig.host, 'tuning', cniEnv(command, a.c, a.cid, 'eth0', { TSCNI_STATE_DIR: rig.stateDir, ...extraEnv }), withPrev, impl);
}

export const eth0 = (a: Attachment): IpLink => {
  const l = link(a.c, 'eth0');
  if (!l) throw new Error(`eth0 missing in ${a.c}`);
  return l;
};

/** What tuning changes, read back with `ip -d -j link show`. */
export function tuned(l: IpLink): { mac: string; mtu: number; txqlen: number; promisc: boolean; allmulti: boolean } {
  return {
    mac: l.address,
    mtu: l.mtu,
    txqlen: l.txqlen ?? 0,
    promisc: l.flags.includes('PROMISC'),
    allmulti: l.flags.includes('ALLMULTI'),
  };
}

/** A sysctl read from /proc/sys inside the netns (not through our code). */
export function procSys(ns: string, rel: string): string {
  return sh(ns, 'cat', [`/proc/sys/${rel}`]).trim();
}

export function setProcSys(ns: string, rel: string, value: string): void {
  const r = execInNetns(ns, 'sysctl', ['-q', '-w', `${rel.replaceAll('/', '.')}=${value}`]);
  if (r.status !== 0) throw new Error(r.stderr);
}

export const backupPath = (rig: Rig, a: Attachment, dir = rig.dataDir): string => path.join(dir, `${a.cid}_eth0.json`);

export function readBackup(file: string): { text: string; mode: number } {
  return { text: readFileSync(file, 'utf8'), mode: statSync(file).mode & 0o777 };
}

export const errorOf = (r: PluginRun): { code?: number; msg?: string; details?: string } => (r.json ?? {}) as { code?: number; msg?: string };

/** The result without what Debian's 1.1.1 adds and the latest reference leaves out (an empty dns). */
export function withoutEmptyDns(v: unknown): unknown {
  const o = { ...(v as Record<string, unknown>) };
  const dns = o['dns'];
  if (dns && typeof dns === 'object' && Object.keys(dns).length === 0) delete o['dns'];
  return o;
}

/**
 * Runs our tuning with an allowlist file, without touching the real /etc: a private mount namespace
 * (unshare --mount) in which /etc is an overlay whose upper layer is a test directory, so
 * /etc/cni/tuning/allowlist.conf exists only for this one process tree.
 */
export function runWithAllowlist(rig: Rig, a: Attachment, allowlist: string, conf: Record<string, unknown>, impl: Impl = 'ours'): PluginRun {
  const ov = tempDir('tn-etc-');
  rig.dirs.push(ov);
  mkdirSync(path.join(ov, 'u'));
  mkdirSync(path.join(ov, 'w'));
  const script =
    'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/u,workdir=$1/w" /etc && mkdir -p /etc/cni/tuning && ' +
    'printf "%s" "$2" > /etc/cni/tuning/allowlist.conf && exec ip netns exec "$3" "$4"';
  const env: CniEnv = { ...cniEnv('ADD', a.c, a.cid), CNI_PATH: binDir(impl), TSCNI_STATE_DIR: rig.stateDir };
  const clean: NodeJS.ProcessEnv = { PATH: process.env['PATH'] };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  return spawnPlugin(
    ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ov, allowlist, rig.host, path.join(binDir(impl), 'tuning')],
    clean,
    JSON.stringify({ prevResult: a.prev, ...conf }),
  );
}

/** The MAC the kernel would never pick for a veth (locally administered, fixed). */
export const MAC1 = '02:33:00:00:00:01';
export const MAC2 = '02:33:00:00:00:02';
export const MAC3 = '02:33:00:00:00:03';
export const MAC4 = '02:33:00:00:00:04';

export function ipLinkSet(ns: string, args: string[]): void {
  execFileSync('ip', ['-n', ns, 'link', 'set', ...args]);
}
