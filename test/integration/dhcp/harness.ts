// A DHCP test bed: dnsmasq serving 10.79.<n>.0/24 on a bridge inside a test netns ("server"),
// containers joined to that bridge by a veth (the bridge plugin's shape) or by a macvlan on a
// veth master (the macvlan plugin's shape), and dhcp daemons on private sockets. Everything is
// named tscni-dh-*, processes are ended by PID and temp dirs removed by cleanup().
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNetns, removeAllNetns } from '../../helpers/netns.js';
import { DIST_BIN, runPluginAsync, type PluginRun } from '../../helpers/plugin.js';

const procs = new Set<ChildProcess>();
const dirs = new Set<string>();

/** Ends `p` (by PID) in cleanup(). */
export function track(p: ChildProcess): void {
  procs.add(p);
}

export function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-dh-'));
  dirs.add(d);
  return d;
}

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export interface ServerOptions {
  /** Third octet of 10.79.x.0/24. */
  net: number;
  poolStart?: number;
  poolEnd?: number;
  leaseTime?: string;
  /** Extra dnsmasq arguments (e.g. --dhcp-option=121,...). */
  extra?: string[];
  /** The /24's first three octets, instead of 10.79.<net>. */
  prefix?: string;
}

export interface DhcpServer {
  ns: string;
  prefix: string;
  gateway: string;
  dir: string;
  leaseFile: string;
  proc: ChildProcess;
  log(): string;
  /** dnsmasq's lease file: ip -> {expiry, mac, clientId}. */
  leases(): Map<string, { expiry: number; mac: string; clientId: string }>;
}

export async function startServer(o: ServerOptions): Promise<DhcpServer> {
  const ns = createNetns('tscni-dh-srv');
  const prefix = o.prefix ?? `10.79.${o.net}`;
  const dir = tempDir();
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', ns, 'addr', 'add', `${prefix}.1/24`, 'dev', 'br0');
  ip('-n', ns, 'link', 'set', 'br0', 'up');
  const leaseFile = path.join(dir, 'dnsmasq.leases');
  const logFile = path.join(dir, 'dnsmasq.log');
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(
    'ip',
    [
      'netns', 'exec', ns, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--interface=br0',
      '--bind-interfaces', '--no-ping', '--log-dhcp', '--log-facility=-', '--dhcp-authoritative',
      `--dhcp-range=${prefix}.${o.poolStart ?? 50},${prefix}.${o.poolEnd ?? 99},255.255.255.0,${o.leaseTime ?? '2m'}`,
      `--dhcp-leasefile=${leaseFile}`, `--dhcp-option=option:router,${prefix}.1`, ...(o.extra ?? []),
    ],
    { stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  procs.add(proc);
  const log = (): string => fs.readFileSync(logFile, 'utf8');
  await waitFor('dnsmasq to start', () => log().includes('sockets bound exclusively'), 5000);
  return {
    ns, prefix, gateway: `${prefix}.1`, dir, leaseFile, proc, log,
    leases() {
      const m = new Map<string, { expiry: number; mac: string; clientId: string }>();
      if (!fs.existsSync(leaseFile)) return m;
      for (const line of fs.readFileSync(leaseFile, 'utf8').split('\n')) {
        const [expiry, mac, addr, , clientId] = line.split(' ');
        if (addr) m.set(addr, { expiry: Number(expiry), mac: mac!, clientId: clientId ?? '' });
      }
      return m;
    },
  };
}

/** A container netns with eth0, a veth whose peer is a port of the server's bridge. */
export function bridgeContainer(srv: DhcpServer): string {
  const ns = createNetns('tscni-dh-c');
  const host = `vh${randomBytes(3).toString('hex')}`;
  ip('-n', srv.ns, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('-n', srv.ns, 'link', 'set', host, 'master', 'br0', 'up');
  return ns;
}

const macvlanMasters = new Map<string, string>();

/** A container netns with eth0, a macvlan (bridge mode) on a veth master plugged into the server's bridge. */
export function macvlanContainer(srv: DhcpServer): string {
  let master = macvlanMasters.get(srv.ns);
  if (!master) {
    master = 'mvmaster';
    ip('-n', srv.ns, 'link', 'add', master, 'type', 'veth', 'peer', 'name', 'mvport');
    ip('-n', srv.ns, 'link', 'set', 'mvport', 'master', 'br0', 'up');
    ip('-n', srv.ns, 'link', 'set', master, 'up');
    macvlanMasters.set(srv.ns, master);
  }
  const ns = createNetns('tscni-dh-c');
  const tmp = `mv${randomBytes(3).toString('hex')}`;
  ip('-n', srv.ns, 'link', 'add', tmp, 'link', master, 'type', 'macvlan', 'mode', 'bridge');
  ip('-n', srv.ns, 'link', 'set', tmp, 'netns', ns);
  ip('-n', ns, 'link', 'set', tmp, 'name', 'eth0');
  return ns;
}

/** What the main plugin would do with the IPAM result: put the address on eth0. */
export function applyAddress(ns: string, cidr: string): void {
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  ip('-n', ns, 'addr', 'add', cidr, 'dev', 'eth0');
}

export interface Daemon {
  proc: ChildProcess;
  pid: number;
  socket: string;
  stateDir: string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `dhcp daemon` on a private socket and state dir; inside `netns` when given (through
 * `ip netns exec`, which execs the daemon: the child's PID is the daemon's).
 */
export async function startDaemon(dir: string, args: string[] = [], netns?: string): Promise<Daemon> {
  const socket = path.join(dir, 'dhcp.sock');
  const stateDir = path.join(dir, 'state');
  let err = '';
  const argv = ['daemon', '-socketpath', socket, '-statedir', stateDir, ...args];
  const bin = path.join(DIST_BIN, 'dhcp');
  const proc = spawn(netns ? 'ip' : bin, netns ? ['netns', 'exec', netns, bin, ...argv] : argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.add(proc);
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await waitFor('the daemon to listen', () => err.includes('daemon started') || proc.exitCode !== null, 10_000);
  if (proc.exitCode !== null) throw new Error(`daemon exited: ${err}`);
  return {
    proc, pid: proc.pid!, socket, stateDir,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await exited;
      procs.delete(proc);
      return code;
    },
  };
}

export function conf(socket: string, extra: Record<string, unknown> = {}, cniVersion = '1.0.0', name = 'dhnet'): Record<string, unknown> {
  return { cniVersion, name, type: 'bridge', ipam: { type: 'dhcp', daemonSocketPath: socket, ...extra } };
}

export function cni(command: string, containerID: string, ns: string, config: unknown, extraEnv: Record<string, string> = {}): Promise<PluginRun> {
  return runPluginAsync('dhcp', {
    CNI_COMMAND: command, CNI_CONTAINERID: containerID, CNI_NETNS: ns ? `/run/netns/${ns}` : '', CNI_IFNAME: 'eth0',
    CNI_PATH: DIST_BIN, ...extraEnv,
  }, config);
}

/** A test "node": a netns where the main plugins and the daemon run, as on a Kubernetes node. */
export function createNode(): string {
  const ns = createNetns('tscni-dh-node');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  return ns;
}

/**
 * A veth from the server's bridge into `node`, named `name` there, UP. With `bridge`, it is
 * enslaved to that bridge of the node (created, UP, if missing): the node's L2 segment then
 * reaches dnsmasq, as a physical uplink on a node bridge does.
 */
export function uplink(srv: DhcpServer, node: string, name: string, bridge?: string): void {
  const port = `up${randomBytes(3).toString('hex')}`;
  ip('-n', srv.ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', name, 'netns', node);
  ip('-n', srv.ns, 'link', 'set', port, 'master', 'br0', 'up');
  if (bridge) {
    ip('-n', node, 'link', 'add', bridge, 'type', 'bridge');
    ip('-n', node, 'link', 'set', name, 'master', bridge);
    ip('-n', node, 'link', 'set', bridge, 'up');
  }
  ip('-n', node, 'link', 'set', name, 'up');
}

/** Runs a main plugin of dist/bin inside `node`, as a runtime on that node would (config on stdin). */
export function runInNode(node: string, plugin: string, env: Record<string, string>, config: unknown): Promise<PluginRun> {
  const input = typeof config === 'string' ? config : JSON.stringify(config);
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', node, path.join(DIST_BIN, plugin)], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (x: string) => (stdout += x));
    child.stderr.setEncoding('utf8').on('data', (x: string) => (stderr += x));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status: code ?? -1, stdout, stderr, json });
    });
    child.stdin.end(input);
  });
}

export async function cleanup(): Promise<void> {
  for (const p of [...procs]) {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    }
    procs.delete(p);
  }
  macvlanMasters.clear();
  removeAllNetns();
  for (const d of [...dirs]) fs.rmSync(d, { recursive: true, force: true });
  dirs.clear();
}
