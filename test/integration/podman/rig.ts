// Podman test rig: podman 4.3's CNI backend runs our dist/bin plugins, unchanged, with everything it
// owns kept in a test temp dir (storage root, runroot, libpod tmp dir, network_config_dir, host-local
// dataDir) and a throwaway "node" netns: podman is started under `nsenter --net=<node>`, so the CNI
// plugins it runs create bridges, veths and sysctls there, never in the host namespace. Containers get
// their own netns (podman's `/run/netns/netns-*`). The image is an offline busybox-static rootfs
// imported with `podman import`: no registry is needed.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNetns, netnsPath, removeAllNetns } from '../../helpers/netns.js';
import { DIST_BIN } from '../../helpers/plugin.js';

/** Where libcni (inside podman) caches ADD results; podman 4.3 gives it no other cache dir. */
export const CNI_RESULTS_DIR = '/var/lib/cni/results';
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'ip', 'ping', 'sleep', 'cat', 'echo', 'httpd', 'wget'];
/** podman on this machine works only with these (see ARCHITECTURE.md, test environment facts). */
export const ULIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096'];

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export interface NetworkDef {
  name: string;
  bridge: string;
  /** Third octet of 10.81.<n>.0/24. */
  octet: number;
  capabilities?: Record<string, boolean>;
  cniVersion?: string;
  /**
   * Let podman write the conflist itself (`podman network create`: bridge + portmap + firewall +
   * tuning, its default network shape) instead of the rig's bridge + host-local one; the rig only
   * sets the bridge name (podman 4.3 has no --interface-name) and the host-local dataDir (leases stay
   * in the test dir).
   */
  podmanDefault?: boolean;
}

export interface RigOptions {
  /** Plugin directory podman uses (cni_plugin_dirs); dist/bin by default. */
  pluginDir?: string;
  /** Prefix of the node netns name. */
  nodePrefix?: string;
  /** Extra environment for podman (and so for the plugins it runs). */
  env?: Record<string, string>;
}

export interface Rig {
  dir: string;
  node: string;
  dataDir: string;
  image: string;
  networks: NetworkDef[];
  /** Container netns paths podman reported (checked and, if left over, removed at cleanup). */
  sandboxes: Set<string>;
  /** Extra environment podman runs with. */
  env: Record<string, string>;
}

export interface PodmanNetwork {
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
}

export interface PodmanInspect {
  Id: string;
  Name: string;
  State: { Running: boolean };
  NetworkSettings: { SandboxKey: string; Networks: Record<string, PodmanNetwork> };
}

export function missingTools(): string[] {
  const missing: string[] = [];
  const dirs = (toolEnv().PATH ?? '').split(':').filter((d) => d !== '');
  const found = (tool: string): boolean =>
    dirs.some((d) => {
      try {
        fs.accessSync(path.join(d, tool), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  for (const tool of ['podman', 'runc', 'tar', 'nsenter']) if (!found(tool)) missing.push(tool);
  if (!fs.existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (busybox-static)`);
  return missing;
}

/** PATH with the system dirs podman needs (runc lives in /usr/sbin, conmon in /usr/bin or /usr/libexec/podman). */
function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...extra };
}

/** A 24-bit-free suffix for names: bridge names must stay within 15 characters. */
export const suffix = (): string => randomBytes(3).toString('hex');

export function conflist(rig: Pick<Rig, 'dataDir'>, net: NetworkDef): Record<string, unknown> {
  const base = `10.81.${net.octet}`;
  return {
    cniVersion: net.cniVersion ?? '1.0.0',
    name: net.name,
    plugins: [
      {
        type: 'bridge',
        bridge: net.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ...(net.capabilities ? { capabilities: net.capabilities } : {}),
        ipam: {
          type: 'host-local',
          dataDir: rig.dataDir,
          ranges: [[{ subnet: `${base}.0/24`, rangeStart: `${base}.10`, rangeEnd: `${base}.50`, gateway: `${base}.1` }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
    ],
  };
}

/** Creates the temp dir, the node netns, containers.conf, one conflist per network and the image. */
export function makeRig(networks: NetworkDef[], options: RigOptions = {}): Rig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-pm-'));
  const rig: Rig = {
    dir,
    node: '',
    dataDir: path.join(dir, 'ipam'),
    image: `localhost/tscni-pm-busybox:${suffix()}`,
    networks,
    sandboxes: new Set(),
    env: options.env ?? {},
  };
  rig.node = createNetns(options.nodePrefix ?? 'tscni-pm-h');
  runOrThrow('ip', ['-n', rig.node, 'link', 'set', 'lo', 'up']);
  for (const sub of ['root', 'runroot', 'tmp', 'net.d', 'ipam', 'rootfs/bin', 'rootfs/etc', 'rootfs/proc', 'rootfs/sys', 'rootfs/dev', 'rootfs/tmp']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  for (const net of networks) {
    if (net.podmanDefault) continue;
    fs.writeFileSync(path.join(dir, 'net.d', `${net.name}.conflist`), JSON.stringify(conflist(rig, net), null, 2));
  }
  // TOML basic strings accept JSON string escapes; default_network keeps podman's own 10.88.0.0/16
  // "podman" network out of the picture even if a --network were forgotten.
  const toml = (s: string): string => JSON.stringify(s);
  fs.writeFileSync(
    path.join(dir, 'containers.conf'),
    [
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = [${toml(options.pluginDir ?? DIST_BIN)}]`,
      `network_config_dir = ${toml(path.join(dir, 'net.d'))}`,
      // A network podman writes itself must not be the default: podman would claim that name first.
      `default_network = ${toml(networks.find((n) => !n.podmanDefault)?.name ?? 'tscni-pm-unused-default')}`,
      '[engine]',
      'events_logger = "none"',
      'cgroup_manager = "cgroupfs"',
      'runtime = "runc"',
      `tmp_dir = ${toml(path.join(dir, 'tmp'))}`,
      '',
    ].join('\n'),
  );

  for (const net of networks) if (net.podmanDefault) createPodmanNetwork(rig, net);

  const rootfs = path.join(dir, 'rootfs');
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of APPLETS) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  const tar = path.join(dir, 'rootfs.tar');
  runOrThrow('tar', ['-C', rootfs, '-cf', tar, '.']);
  podmanOk(rig, ['import', tar, rig.image]);
  return rig;
}

/** `podman network create` writes its default conflist; the rig sets the bridge name and host-local's dataDir. */
function createPodmanNetwork(rig: Rig, net: NetworkDef): void {
  const base = `10.81.${net.octet}`;
  podmanOk(rig, ['network', 'create', '--subnet', `${base}.0/24`, '--gateway', `${base}.1`, net.name]);
  const file = podmanConflistPath(rig, net);
  const list = JSON.parse(fs.readFileSync(file, 'utf8')) as { plugins: { type: string; bridge?: string; ipam?: Record<string, unknown> }[] };
  const bridge = list.plugins.find((p) => p.type === 'bridge');
  if (!bridge?.ipam) throw new Error(`podman wrote no bridge ipam in ${file}`);
  bridge.bridge = net.bridge;
  bridge.ipam.dataDir = rig.dataDir;
  fs.writeFileSync(file, JSON.stringify(list, null, 3));
}

export const podmanConflistPath = (rig: Rig, net: NetworkDef): string => path.join(rig.dir, 'net.d', `${net.name}.conflist`);

function runOrThrow(cmd: string, args: string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', env: toolEnv(), timeout: 30_000 });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}): ${res.stderr}${res.error?.message ?? ''}`);
  return res.stdout;
}

/** `podman <args>` inside the node netns, with the rig's storage and containers.conf. */
export function podman(rig: Rig, args: string[]): Run {
  const global = [
    '--root', path.join(rig.dir, 'root'),
    '--runroot', path.join(rig.dir, 'runroot'),
    '--storage-driver', 'vfs',
    '--runtime', 'runc',
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'none',
  ];
  const res = spawnSync('nsenter', [`--net=${netnsPath(rig.node)}`, 'podman', ...global, ...args], {
    encoding: 'utf8',
    env: toolEnv({ CONTAINERS_CONF: path.join(rig.dir, 'containers.conf'), ...rig.env }),
    timeout: 30_000,
  });
  return { status: res.status ?? -1, stdout: res.stdout ?? '', stderr: (res.stderr ?? '') + (res.error ? String(res.error) : '') };
}

export function podmanOk(rig: Rig, args: string[]): string {
  const res = podman(rig, args);
  if (res.status !== 0) throw new Error(`podman ${args.join(' ')} failed (${res.status}):\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

export function inspect(rig: Rig, name: string): PodmanInspect {
  const list = JSON.parse(podmanOk(rig, ['container', 'inspect', '--format', 'json', name])) as PodmanInspect[];
  const info = list[0];
  if (!info) throw new Error(`podman inspect ${name}: no container`);
  if (info.NetworkSettings.SandboxKey) rig.sandboxes.add(info.NetworkSettings.SandboxKey);
  return info;
}

/** host-local lease files (named by IP) for one network: what must be empty after teardown. */
export function leases(rig: Rig, net: string): string[] {
  const dir = path.join(rig.dataDir, net);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).sort();
}

export function leaseOwner(rig: Rig, net: string, ip: string): string {
  return fs.readFileSync(path.join(rig.dataDir, net, ip), 'utf8');
}

/** PIDs whose command line mentions the rig's dir: conmon and the `podman container cleanup` it runs. */
export function rigProcesses(rig: Rig): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(rig.dir)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits until no conmon / cleanup process of this rig is left (they would recreate storage dirs). */
export function waitForRigProcesses(rig: Rig, timeoutMs = 10_000): number[] {
  const deadline = Date.now() + timeoutMs;
  let pids = rigProcesses(rig);
  while (pids.length > 0 && Date.now() < deadline) {
    sleepMs(100);
    pids = rigProcesses(rig);
  }
  return pids;
}

/** Mount points under `dir` (podman's shm tmpfs per container), deepest first. */
function mountsUnder(dir: string): string[] {
  const points: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4];
    if (point && (point === dir || point.startsWith(`${dir}/`))) points.push(point);
  }
  return points.sort((a, b) => b.length - a.length);
}

/** Removes everything the rig created, whatever state a failed test left it in. */
export function cleanupRig(rig: Rig | undefined): void {
  if (!rig) {
    removeAllNetns();
    return;
  }
  podman(rig, ['rm', '--all', '--force', '--time', '0']);
  podman(rig, ['rmi', '--all', '--force']);
  for (const pid of waitForRigProcesses(rig)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const sandbox of rig.sandboxes) {
    if (!fs.existsSync(sandbox)) continue;
    spawnSync('umount', [sandbox]);
    fs.rmSync(sandbox, { force: true });
  }
  if (fs.existsSync(CNI_RESULTS_DIR)) {
    for (const f of fs.readdirSync(CNI_RESULTS_DIR)) {
      if (rig.networks.some((n) => f.startsWith(`${n.name}-`))) fs.rmSync(path.join(CNI_RESULTS_DIR, f), { force: true });
    }
  }
  for (const point of mountsUnder(rig.dir)) spawnSync('umount', ['-l', point]);
  removeAllNetns();
  fs.rmSync(rig.dir, { recursive: true, force: true });
}
