// A real etcd cluster for tests: N members of Debian's /usr/bin/etcd as processes this test owns
// (data in a temp dir, the ports it is given), optionally inside a netns (`ip netns exec <ns> etcd`,
// which execs etcd itself, so the PID is etcd's) listening on given addresses. Members can be
// killed and restarted one by one; stop() kills every member by PID and removes the data.
// Health is read with etcdctl (an independent client), inside the member's netns when it has one.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ETCD_BIN = '/usr/bin/etcd';
export const ETCDCTL_BIN = '/usr/bin/etcdctl';

export interface EtcdTls {
  /** Server certificate and key of every member (one certificate with every member's address as a SAN). */
  certFile: string;
  keyFile: string;
  /** CA that signed the server certificate and, with clientCertAuth, the clients' certificates. */
  trustedCAFile: string;
  /** Require a client certificate signed by trustedCAFile. */
  clientCertAuth?: boolean;
  /** Client certificate/key etcdctl uses for the health checks (needed with clientCertAuth). */
  clientCertFile?: string;
  clientKeyFile?: string;
}

export interface EtcdClusterOptions {
  /** Number of members (default 3). */
  members?: number;
  /** Client port of each member (length = members). */
  clientPorts: number[];
  /** Peer port of each member (length = members). */
  peerPorts: number[];
  /** Listen (and advertised) address of each member, or one for all; default 127.0.0.1. */
  hosts?: string[] | string;
  /** Run the members inside this netns (it must exist and have `hosts` configured and up). */
  netns?: string;
  /** Client URLs over TLS. */
  tls?: EtcdTls;
  /** Prefix of member names and of the data dir (default 'tce'). */
  name?: string;
  /** Extra etcd flags for every member. */
  extraArgs?: string[];
  /** How long start() and restart() wait for health (default 30 s). */
  healthTimeoutMs?: number;
}

export interface EtcdMember {
  readonly index: number;
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** PID of the running etcd, undefined while killed. */
  readonly pid: number | undefined;
}

interface MemberState {
  index: number;
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
}

// Members still running when the test process exits (a crash, a forgotten stop()) are killed then.
const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export class EtcdCluster {
  readonly root: string;
  readonly netns: string | undefined;
  readonly tls: EtcdTls | undefined;
  private readonly states: MemberState[];
  private readonly args: (m: MemberState) => string[];
  private readonly healthTimeoutMs: number;

  private constructor(opts: EtcdClusterOptions) {
    const n = opts.members ?? 3;
    if (opts.clientPorts.length < n || opts.peerPorts.length < n) throw new Error(`etcd cluster: need ${n} client and peer ports`);
    const prefix = opts.name ?? 'tce';
    this.root = mkdtempSync(path.join(tmpdir(), `${prefix}-etcd-`));
    this.netns = opts.netns;
    this.tls = opts.tls;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 30_000;
    const hostOf = (i: number): string => (Array.isArray(opts.hosts) ? opts.hosts[i]! : (opts.hosts ?? '127.0.0.1'));
    const scheme = opts.tls ? 'https' : 'http';
    this.states = Array.from({ length: n }, (_, i) => {
      const name = `${prefix}${i}`;
      const dataDir = path.join(this.root, name);
      return {
        index: i,
        name,
        clientUrl: `${scheme}://${urlHost(hostOf(i))}:${opts.clientPorts[i]}`,
        peerUrl: `http://${urlHost(hostOf(i))}:${opts.peerPorts[i]}`,
        dataDir,
        logFile: path.join(this.root, `${name}.log`),
        child: undefined,
        exited: undefined,
      };
    });
    const initialCluster = this.states.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const token = `${prefix}-${randomBytes(4).toString('hex')}`;
    this.args = (m) => [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      '--initial-cluster-state', 'new',
      // Tests kill members: elect a new leader within about a second instead of several.
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      '--snapshot-count', '10000',
      ...(opts.tls
        ? ['--cert-file', opts.tls.certFile, '--key-file', opts.tls.keyFile, '--trusted-ca-file', opts.tls.trustedCAFile, ...(opts.tls.clientCertAuth ? ['--client-cert-auth'] : [])]
        : []),
      ...(opts.extraArgs ?? []),
    ];
  }

  /** Starts every member and waits until each reports healthy (a leader elected). */
  static async start(opts: EtcdClusterOptions): Promise<EtcdCluster> {
    const cluster = new EtcdCluster(opts);
    try {
      for (const m of cluster.states) cluster.spawnMember(m);
      await Promise.all(cluster.states.map((m) => cluster.waitHealthy(m.index)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Client URLs of all members, in member order (killed ones included: clients must fail over). */
  get endpoints(): string[] {
    return this.states.map((m) => m.clientUrl);
  }

  get members(): EtcdMember[] {
    return this.states.map((m) => ({
      index: m.index,
      name: m.name,
      clientUrl: m.clientUrl,
      peerUrl: m.peerUrl,
      dataDir: m.dataDir,
      logFile: m.logFile,
      pid: m.child?.pid,
    }));
  }

  /** Endpoints of the members now running. */
  get liveEndpoints(): string[] {
    return this.states.filter((m) => m.child).map((m) => m.clientUrl);
  }

  private spawnMember(m: MemberState): void {
    mkdirSync(m.dataDir, { recursive: true, mode: 0o700 });
    const log = openSync(m.logFile, 'a');
    const argv = this.netns ? ['ip', 'netns', 'exec', this.netns, ETCD_BIN, ...this.args(m)] : [ETCD_BIN, ...this.args(m)];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`etcd member ${m.name} did not start`);
    live.add(child.pid);
    m.child = child;
    m.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      if (child.pid !== undefined) live.delete(child.pid);
      if (m.child === child) m.child = undefined;
    });
  }

  /** SIGKILLs one member (no clean shutdown, like a crashed machine) and waits until it is gone. */
  async kill(index: number): Promise<void> {
    const m = this.member(index);
    const child = m.child;
    if (!child?.pid) return;
    process.kill(child.pid, 'SIGKILL');
    await m.exited;
  }

  /** Starts a killed member again on its data dir and waits until it is healthy. */
  async restart(index: number): Promise<void> {
    const m = this.member(index);
    if (m.child) await this.kill(index);
    this.spawnMember(m);
    await this.waitHealthy(index);
  }

  /** Kills every member by PID and removes the data. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.states.map((m) => this.kill(m.index)));
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Runs etcdctl (v3 API) against `endpoints` (default: all), inside the cluster's netns when it has one. */
  etcdctl(args: string[], endpoints: string[] = this.endpoints): { status: number; stdout: string; stderr: string } {
    const tls = this.tls
      ? ['--cacert', this.tls.trustedCAFile, ...(this.tls.clientCertFile ? ['--cert', this.tls.clientCertFile, '--key', this.tls.clientKeyFile ?? ''] : [])]
      : [];
    const full = [ETCDCTL_BIN, '--endpoints', endpoints.join(','), '--dial-timeout', '2s', '--command-timeout', '5s', ...tls, ...args];
    const argv = this.netns ? ['ip', 'netns', 'exec', this.netns, ...full] : full;
    const res = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' } });
    return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
  }

  /** Every key under `prefix` with its value, read by etcdctl. */
  keys(prefix: string): Map<string, string> {
    const r = this.etcdctl(['get', '--prefix', prefix, '-w', 'json']);
    if (r.status !== 0) throw new Error(`etcdctl get ${prefix}: ${r.stderr}`);
    const out = new Map<string, string>();
    const body = JSON.parse(r.stdout) as { kvs?: { key: string; value?: string }[] };
    for (const kv of body.kvs ?? []) out.set(Buffer.from(kv.key, 'base64').toString('utf8'), Buffer.from(kv.value ?? '', 'base64').toString('utf8'));
    return out;
  }

  /** Index of the member that is raft leader now (etcdctl endpoint status), or undefined if none answers as leader. */
  leader(): number | undefined {
    const live = this.states.filter((m) => m.child);
    const r = this.etcdctl(['endpoint', 'status', '-w', 'json'], live.map((m) => m.clientUrl));
    if (!r.stdout.trim()) return undefined;
    const rows = JSON.parse(r.stdout) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
    const row = rows.find((s) => s.Status.header.member_id === s.Status.leader);
    return row ? this.states.findIndex((m) => m.clientUrl === row.Endpoint) : undefined;
  }

  /** Whether one member answers its health check (it is up and sees a leader). */
  isHealthy(index: number): boolean {
    return this.etcdctl(['endpoint', 'health'], [this.member(index).clientUrl]).status === 0;
  }

  async waitHealthy(index: number, timeoutMs = this.healthTimeoutMs): Promise<void> {
    const m = this.member(index);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!m.child) throw new Error(`etcd member ${m.name} exited; log ${m.logFile}:\n${tail(m.logFile)}`);
      if (this.isHealthy(index)) return;
      await sleep(200);
    }
    throw new Error(`etcd member ${m.name} not healthy within ${timeoutMs} ms; log:\n${tail(m.logFile)}`);
  }

  private member(index: number): MemberState {
    const m = this.states[index];
    if (!m) throw new Error(`etcd cluster has no member ${index}`);
    return m;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `count` consecutive ports from `base`. */
export const portRange = (base: number, count: number): number[] => Array.from({ length: count }, (_, i) => base + i);

/** Skip reason when etcd is not installed (scripts/setup.sh installs etcd-server and etcd-client). */
export function etcdMissing(): string | undefined {
  if (spawnSync(ETCD_BIN, ['--version']).status !== 0) return `${ETCD_BIN} missing (apt-get install etcd-server)`;
  if (spawnSync(ETCDCTL_BIN, ['version']).status !== 0) return `${ETCDCTL_BIN} missing (apt-get install etcd-client)`;
  return undefined;
}
