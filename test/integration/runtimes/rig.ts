// End-to-end rig for the runtimes' default networks (containerd CRI through go-cni, nerdctl, a
// Kubernetes list, podman): everything runs in throwaway netns named rt-*, the node's firewall and
// links are read back with iptables-save / ip6tables-save / nft / ip / tc, never with our code.
//
// The plugin directory is dist/bin (tscni alone). TSCNI_TEST_PLUGIN_DIR (read only by these tests)
// points them at another directory, e.g. one that mixes our main plugins with the Go reference's
// meta plugins to check the rig itself before tscni's meta plugins exist (see mixed-plugin-dir.sh).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNetns, execInNetns, netnsPath } from '../../helpers/netns.js';
import { links, type IpLink } from '../../helpers/ip.js';
import { DIST_BIN, ROOT } from '../../helpers/plugin.js';

export const PLUGIN_DIR = process.env.TSCNI_TEST_PLUGIN_DIR ?? DIST_BIN;
export const EXAMPLES = path.join(ROOT, 'conf-examples');
/** Where libcni (inside go-cni and podman) caches ADD results; neither lets a caller move it. */
export const CNI_RESULTS_DIR = '/var/lib/cni/results';
/** The default root of tscni's per-attachment records (shared/state/attachments.ts). */
export const TSCNI_STATE_ROOT = '/var/lib/cni/tscni';
const GOCODE = '/usr/share/gocode';
const DRIVER_SRC = path.join(import.meta.dirname, 'gocni-driver/main.go');

export type Json = Record<string, any>;

/** 6 hex characters: unique names that keep bridges within 15 characters (`rt-c` + 6). */
export const suffix = (): string => randomBytes(3).toString('hex');

/** Tools these tests need that are missing (scripts/setup.sh installs them). */
export function missingTools(extra: string[] = []): string[] {
  const need = ['ip', 'tc', 'nft', 'iptables-save', 'ip6tables-save', 'busybox', ...extra];
  const missing = need.filter((t) => spawnSync('which', [t]).status !== 0);
  if (!fs.existsSync(path.join(PLUGIN_DIR, 'bridge'))) missing.push(`${PLUGIN_DIR}/bridge (npm run build)`);
  return missing;
}

/** An environment for runtimes and their plugins that can never reach a real firewalld (no system bus). */
export function isolatedEnv(dir: string): Record<string, string> {
  return {
    PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(dir, 'no-system-bus')}`,
    TSCNI_STATE_DIR: stateDirOf(dir),
  };
}

/** The TSCNI_STATE_DIR isolatedEnv(dir) gives the plugins. */
export const stateDirOf = (dir: string): string => path.join(dir, 'tscni-state');

/**
 * Builds the go-cni driver offline in GOPATH mode against Debian's golang-github-containerd-go-cni-dev
 * and golang-github-appc-cni-dev sources; returns the binary's path.
 */
export function buildDriver(dir: string): string {
  if (spawnSync('which', ['go']).status !== 0) throw new Error('go is not installed (scripts/setup.sh installs golang-go)');
  for (const pkg of ['github.com/containerd/go-cni', 'github.com/containernetworking/cni/libcni']) {
    if (!fs.existsSync(path.join(GOCODE, 'src', pkg))) throw new Error(`${GOCODE}/src/${pkg} missing (scripts/setup.sh installs the go-cni packages)`);
  }
  const out = path.join(dir, 'gocni-driver');
  const gopath = path.join(dir, 'gopath');
  fs.mkdirSync(gopath, { recursive: true });
  const res = spawnSync('go', ['build', '-o', out, DRIVER_SRC], {
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      GO111MODULE: 'off',
      GOPATH: `${GOCODE}:${gopath}`,
      GOCACHE: path.join(dir, 'gocache'),
      GOPROXY: 'off',
      GOFLAGS: '',
      CGO_ENABLED: '0',
    },
  });
  if (res.status !== 0) throw new Error(`go build of the go-cni driver failed: ${res.stderr}${res.error?.message ?? ''}`);
  return out;
}

export interface Node {
  dir: string;
  node: string;
  containers: string[];
  servers: ChildProcess[];
  networks: string[];
  /** Sandbox IDs used on this node: libcni's cache files carry them. */
  ids: string[];
}

export function makeNode(prefix: string): Node {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const node = createNetns(`${prefix}-node`);
  sh(node, 'ip', ['link', 'set', 'lo', 'up']);
  return { dir, node, containers: [], servers: [], networks: [], ids: [] };
}

export function addContainer(n: Node): string {
  const c = createNetns('rt-ctr');
  n.containers.push(c);
  return c;
}

/** Runs argv inside a netns; stdout, or an error naming the command. */
export function sh(ns: string, cmd: string, args: string[]): string {
  const r = execInNetns(ns, cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * A conf-example rewritten with test-owned names: network name, bridge name, subnets (one per
 * range set, in order; the gateway follows the subnet when the example gives one) and the
 * host-local dataDir. Everything else (plugins, keys, capabilities) stays as the example has it.
 */
export function exampleList(file: string, o: { name: string; bridge: string; subnets: string[]; dataDir: string }): Json {
  const list = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as Json;
  list.name = o.name;
  const bridge = list.plugins[0] as Json;
  bridge.bridge = o.bridge;
  const ranges = bridge.ipam.ranges as Json[][];
  if (ranges.length > o.subnets.length) throw new Error(`${file}: ${ranges.length} ranges, ${o.subnets.length} test subnets`);
  bridge.ipam.ranges = ranges.map((set, i) =>
    set.map((r) => {
      const subnet = o.subnets[i] as string;
      const next: Json = { ...r, subnet };
      if (r.gateway) next.gateway = firstHost(subnet);
      return next;
    }),
  );
  bridge.ipam.dataDir = o.dataDir;
  return list;
}

/** The first host address of a subnet written as "<network address>/<len>" (x.x.x.0, or v6 ending in "::"). */
export function firstHost(subnet: string): string {
  const net = subnet.split('/')[0] as string;
  if (net.includes(':')) return `${net}1`;
  const o = net.split('.').map(Number);
  return `${o[0]}.${o[1]}.${o[2]}.${(o[3] ?? 0) + 1}`;
}

export interface DriverCall {
  conf: string;
  id: string;
  netns: string;
  pod?: string;
  ports?: { HostPort: number; ContainerPort: number; Protocol: string; HostIP?: string }[];
  bandwidth?: { IngressRate?: number; EgressRate?: number };
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** One go-cni verb (setup, check, remove) from inside the node netns, as containerd would call it. */
export function driver(n: Node, bin: string, verb: 'setup' | 'check' | 'remove', call: DriverCall): Run {
  if (!n.ids.includes(call.id)) n.ids.push(call.id);
  const args = [verb, '-bin', PLUGIN_DIR, '-conf', call.conf, '-id', call.id, '-netns', netnsPath(call.netns), '-pod', call.pod ?? 'rt-pod', '-namespace', 'rt'];
  if (call.ports) args.push('-ports', JSON.stringify(call.ports));
  if (call.bandwidth) args.push('-bandwidth', JSON.stringify(call.bandwidth));
  const res = spawnSync('ip', ['netns', 'exec', n.node, bin, ...args], { encoding: 'utf8', env: isolatedEnv(n.dir), timeout: 90_000 });
  return { status: res.status ?? -1, stdout: res.stdout ?? '', stderr: (res.stderr ?? '') + (res.error ? String(res.error) : '') };
}

/** Writes a conflist as the only file of a fresh conf dir (go-cni loads the first one). */
export function confDir(n: Node, fileName: string, list: Json): string {
  const dir = fs.mkdtempSync(path.join(n.dir, 'net.d-'));
  fs.writeFileSync(path.join(dir, fileName), JSON.stringify(list, null, 2));
  n.networks.push(list.name as string);
  return dir;
}

/**
 * busybox httpd serving `page` on port 80 inside `ns` (foreground, so the PID is ours to kill).
 * `ip netns exec` execs the server itself, so the child is the server.
 */
export function serve(n: Node, ns: string, page: string): void {
  const www = fs.mkdtempSync(path.join(n.dir, 'www-'));
  fs.writeFileSync(path.join(www, 'index.html'), page);
  const child = spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', '80', '-h', www], { stdio: 'ignore' });
  n.servers.push(child);
}

/**
 * GET url from inside `ns` with busybox wget; the body, or undefined when it fails. The timeout is
 * the spawn's: Debian's busybox 1.35 wget crashes with -T once connected.
 */
export function fetchFrom(ns: string, url: string): string | undefined {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'wget', '-q', '-O', '-', url], { encoding: 'utf8', timeout: 4000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** Waits (up to ~5 s) until `url` answers from `ns`: the server has started listening. */
export function waitServing(ns: string, url: string): string | undefined {
  for (let i = 0; i < 25; i++) {
    const body = fetchFrom(ns, url);
    if (body !== undefined) return body;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  return undefined;
}

export const urlOf = (ip: string, port: number): string => (ip.includes(':') ? `http://[${ip}]:${port}/` : `http://${ip}:${port}/`);

/** The firewall of a netns as text: iptables-save, ip6tables-save and nft list ruleset. */
export function firewallText(ns: string): string {
  return ['iptables-save', 'ip6tables-save'].map((t) => sh(ns, t, [])).join('\n') + '\n' + sh(ns, 'nft', ['list', 'ruleset']);
}

export interface Attachment {
  node: string;
  network: string;
  id: string;
  ips: string[];
  dataDir: string;
}

/**
 * What one attachment left behind on the node, as readable lines (empty = nothing): veths and ifbs,
 * firewall lines naming its IPs or its ID or a per-container DNAT chain, host-local leases, libcni's
 * cached result, tscni's attachment records (in the test's TSCNI_STATE_DIR and in the default root).
 */
export function leftovers(stateDir: string, a: Attachment): string[] {
  const out: string[] = [];
  for (const l of links(a.node) as IpLink[]) {
    const kind = l.linkinfo?.info_kind;
    if (kind === 'veth' || kind === 'ifb') out.push(`link ${l.ifname} (${kind})`);
  }
  const fw = firewallText(a.node).split('\n');
  for (const line of fw) {
    const hit = a.ips.some((ip) => line.includes(`${ip}/`) || line.includes(`${ip} `) || line.includes(`${ip}:`)) || line.includes(a.id) || /CNI-DN-/.test(line);
    if (hit) out.push(`firewall: ${line.trim()}`);
  }
  const leaseDir = path.join(a.dataDir, a.network);
  if (fs.existsSync(leaseDir)) {
    for (const f of fs.readdirSync(leaseDir)) if (/^\d+\.\d+\.\d+\.\d+$/.test(f) || /^[0-9a-f:]+:[0-9a-f:]+$/.test(f)) out.push(`lease ${f}`);
  }
  if (fs.existsSync(CNI_RESULTS_DIR)) {
    for (const f of fs.readdirSync(CNI_RESULTS_DIR)) if (f.includes(a.id)) out.push(`libcni cache ${f}`);
  }
  for (const root of [stateDir, TSCNI_STATE_ROOT]) {
    for (const f of statesOf(root, a.network)) out.push(`tscni state ${f}`);
  }
  return out;
}

/** <root>/<plugin>/<network>/* record files of one network. */
function statesOf(root: string, network: string): string[] {
  if (!fs.existsSync(root)) return [];
  const found: string[] = [];
  for (const plugin of fs.readdirSync(root)) {
    const dir = path.join(root, plugin, network);
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) found.push(path.join(dir, f));
  }
  return found;
}

/** `tc -j <args>` in a netns, parsed. */
export function tcJson(ns: string, args: string[]): Json[] {
  const text = sh(ns, 'tc', ['-j', ...args]);
  return text.trim() ? (JSON.parse(text) as Json[]) : [];
}

export const qdiscs = (ns: string, dev: string): Json[] => tcJson(ns, ['qdisc', 'show', 'dev', dev]);

/** Records of a test network under the default state root (written there if a plugin ignored TSCNI_STATE_DIR). */
export function removeDefaultRootStates(network: string): void {
  if (!fs.existsSync(TSCNI_STATE_ROOT)) return;
  for (const plugin of fs.readdirSync(TSCNI_STATE_ROOT)) fs.rmSync(path.join(TSCNI_STATE_ROOT, plugin, network), { recursive: true, force: true });
}

/** Removes everything the node rig created, whatever state a failed test left it in. */
export function cleanupNode(n: Node | undefined): void {
  if (!n) return;
  for (const s of n.servers) if (s.pid !== undefined && s.exitCode === null) s.kill('SIGKILL');
  if (fs.existsSync(CNI_RESULTS_DIR)) {
    for (const f of fs.readdirSync(CNI_RESULTS_DIR)) {
      if (n.networks.some((net) => f.startsWith(`${net}-`)) || n.ids.some((id) => f.includes(id))) {
        fs.rmSync(path.join(CNI_RESULTS_DIR, f), { force: true });
      }
    }
  }
  for (const net of n.networks) removeDefaultRootStates(net);
  for (const ns of [...n.containers, n.node]) spawnSync('ip', ['netns', 'del', ns]);
  fs.rmSync(n.dir, { recursive: true, force: true });
}
