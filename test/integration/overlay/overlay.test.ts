// Three "nodes" (netns) on an underlay bridge (its own netns, which also runs a 3-member etcd),
// `tscni overlay` in each node, pods added through conf-examples/10-flannel.conflist (flannel +
// portmap) as a runtime does. Checked with iproute2, bridge, iptables-save, nft and etcdctl.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster, etcdMissing } from '../../helpers/etcd-cluster.js';
import { createNetns, execInNetns, ipJson, netnsPath, ping, removeAllNetns, sh } from '../../helpers/netns.js';
import { removeDir, tempDir } from '../../helpers/node-rig.js';
import { DIST_BIN, ROOT, runPluginInNetns } from '../../helpers/plugin.js';

type Json = Record<string, any>;
const TSCNI = path.join(ROOT, 'dist/tscni');
const PREFIX = '/coreos.com/network';
const NETWORK = '10.156.0.0/16';
const ETCD_IP = '10.157.0.2';
const PUBLIC = ['10.157.0.11', '10.157.0.12', '10.157.0.13'];
const TTL = 5;
const missing = etcdMissing();

interface Node {
  i: number;
  ns: string;
  dir: string;
  subnetFile: string;
  agent?: ChildProcess;
  /** The agent's own PID (under strace the child is strace, which ignores SIGTERM with -o). */
  pid?: number;
  /** strace's execve log of the running agent, when started traced. */
  trace?: string;
  exited?: Promise<number | null>;
  releaseOnExit: boolean;
  pod?: { ns: string; id: string; result: Json; ip: string };
}

let ul = '';
let cluster: EtcdCluster | undefined;
let root = '';
const nodes: Node[] = [];
let started = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const endpoints = (): string => (cluster?.endpoints ?? []).join(',');
const etcdKeys = (): Map<string, string> => cluster!.keys(`${PREFIX}/subnets/`);
const subnetEnv = (n: Node): Record<string, string> | undefined => {
  if (!fs.existsSync(n.subnetFile)) return undefined;
  return Object.fromEntries(fs.readFileSync(n.subnetFile, 'utf8').trim().split('\n').map((l) => l.split('=') as [string, string]));
};
/** "10.156.17.1/24" -> "10.156.17.0/24" (these tests use /24 subnets only). */
const subnetOf = (n: Node): string => subnetEnv(n)!['FLANNEL_SUBNET']!.replace(/\.\d+\/24$/, '.0/24');

/**
 * Starts the node's agent. `traced`: under `strace -f -e trace=execve`, so a test can list every
 * program the agent ran (the nftables part must run none: no `nft`).
 */
function startAgent(n: Node, traced = false): void {
  const log = fs.openSync(path.join(n.dir, 'agent.log'), 'a');
  n.trace = traced ? path.join(n.dir, `execve-${Date.now()}.trace`) : undefined;
  const strace = n.trace ? ['strace', '-f', '-qq', '--seccomp-bpf', '-e', 'trace=execve', '-o', n.trace] : [];
  const args = ['netns', 'exec', n.ns, ...strace, TSCNI, 'overlay', `-etcd-endpoints=${endpoints()}`, '--iface', 'eth0', '-subnet-file', n.subnetFile, `-subnet-lease-ttl=${TTL}`];
  if (n.i !== 1) args.push('-ip-masq');
  if (n.releaseOnExit) args.push('--release-on-exit');
  // `ip netns exec` execs the agent (or strace): the PID is the agent's own (or strace's).
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', log] });
  fs.closeSync(log);
  n.pid = n.trace ? undefined : child.pid;
  let stdout = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  n.agent = child;
  n.exited = new Promise((resolve) =>
    child.on('exit', (code) => {
      // The agent logs to stderr only.
      if (stdout !== '') fs.appendFileSync(path.join(n.dir, 'agent.log'), `UNEXPECTED STDOUT: ${stdout}\n`);
      resolve(code);
    }),
  );
}

/** The programs a traced agent started so far (execve paths; the first is the agent itself). */
function agentExecs(n: Node): string[] {
  if (!n.trace || !fs.existsSync(n.trace)) return [];
  return [...fs.readFileSync(n.trace, 'utf8').matchAll(/^\d+ +execve\("([^"]+)"/gm)].map((m) => m[1]!);
}

/** The traced agent's PID: the first execve in strace's log is the agent's own. */
async function agentPid(n: Node): Promise<number> {
  if (n.pid === undefined) {
    n.pid = await until('the traced agent to start', () => {
      const first = n.trace && fs.existsSync(n.trace) ? /^(\d+) +execve\(/m.exec(fs.readFileSync(n.trace, 'utf8')) : null;
      return first ? Number(first[1]) : undefined;
    }, 5000);
  }
  return n.pid;
}

async function stopAgent(n: Node): Promise<number | null> {
  if (n.agent && n.agent.exitCode === null) process.kill(await agentPid(n), 'SIGTERM');
  // strace exits with the agent's status.
  const code = await n.exited;
  n.agent = undefined;
  n.pid = undefined;
  return code ?? null;
}

const agentLog = (n: Node): string => fs.readFileSync(path.join(n.dir, 'agent.log'), 'utf8');

/** The list's entries as a runtime hands them out (name/cniVersion copied, test-owned paths). */
function listEntries(n: Node): Json[] {
  const list = JSON.parse(fs.readFileSync(path.join(ROOT, 'conf-examples/10-flannel.conflist'), 'utf8')) as Json;
  const [flannel, portmap] = list.plugins as Json[];
  const base = { cniVersion: list.cniVersion, name: list.name };
  return [
    { ...base, ...flannel, subnetFile: n.subnetFile, dataDir: path.join(n.dir, 'flannel'), ipam: { dataDir: path.join(n.dir, 'ipam') } },
    { ...base, ...portmap, runtimeConfig: { portMappings: [{ hostPort: 18080 + n.i, containerPort: 8080, protocol: 'tcp' }] } },
  ];
}

function cni(n: Node, command: string, conf: Json, podNs: string, id: string): { status: number; json: Json | undefined; stderr: string } {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netnsPath(podNs), CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN };
  const r = runPluginInNetns(n.ns, path.join(DIST_BIN, conf['type'] as string), env, conf);
  return { status: r.status ?? -1, json: r.json as Json | undefined, stderr: r.stderr };
}

function addPod(n: Node): void {
  const podNs = createNetns('tov-pod');
  const id = `tov-pod-${n.i}`;
  const [flannel, portmap] = listEntries(n);
  const r1 = cni(n, 'ADD', flannel!, podNs, id);
  expect(r1.stderr).toBe('');
  expect(r1.status).toBe(0);
  const r2 = cni(n, 'ADD', { ...portmap, prevResult: r1.json }, podNs, id);
  expect(r2.status).toBe(0);
  const ip = (r2.json!['ips'][0]['address'] as string).split('/')[0]!;
  n.pod = { ns: podNs, id, result: r2.json!, ip };
}

function delPod(n: Node): void {
  const pod = n.pod!;
  const [flannel, portmap] = listEntries(n);
  // A runtime deletes in reverse order, each with the list's final result as prevResult.
  expect(cni(n, 'DEL', { ...portmap, prevResult: pod.result }, pod.ns, pod.id).status).toBe(0);
  expect(cni(n, 'DEL', { ...flannel, prevResult: pod.result }, pod.ns, pod.id).status).toBe(0);
}

/** Packets seen on the underlay bridge: VXLAN (UDP 8472) and any bare pod-address packet. */
function underlayCounters(): { vxlan: number; bare: number } {
  const out = JSON.parse(sh(ul, 'nft', ['-j', 'list', 'table', 'bridge', 'tovcount'])) as { nftables: Json[] };
  const counts: Record<string, number> = {};
  for (const e of out.nftables) {
    const rule = e['rule'] as Json | undefined;
    if (!rule) continue;
    const counter = (rule['expr'] as Json[]).find((x) => x['counter'])?.['counter'] as Json | undefined;
    if (counter) counts[rule['comment'] as string] = counter['packets'] as number;
  }
  return { vxlan: counts['vxlan'] ?? 0, bare: counts['bare'] ?? 0 };
}

const routeTo = (n: Node, dst: string): Json | undefined => ipJson<Json[]>(['route', 'show', dst], n.ns)[0];

beforeAll(async () => {
  if (missing) return;
  root = tempDir('tov-overlay-');
  ul = createNetns('tov-ul');
  const ip = (ns: string, ...args: string[]): void => void execFileSync('ip', ['-n', ns, ...args]);
  ip(ul, 'link', 'set', 'lo', 'up');
  ip(ul, 'link', 'add', 'tov-br', 'type', 'bridge');
  ip(ul, 'addr', 'add', `${ETCD_IP}/24`, 'dev', 'tov-br');
  ip(ul, 'link', 'set', 'tov-br', 'up');
  // Counters on the bridge's forwarding path (nft bridge family: no br_netfilter needed).
  execFileSync('ip', ['netns', 'exec', ul, 'nft', '-f', '-'], {
    input: [
      'table bridge tovcount {',
      '  chain count {',
      '    type filter hook forward priority 0; policy accept;',
      '    udp dport 8472 counter comment "vxlan"',
      `    ip saddr ${NETWORK} counter comment "bare"`,
      `    ip daddr ${NETWORK} counter comment "bare"`,
      '  }',
      '}',
      '',
    ].join('\n'),
  });
  for (let i = 0; i < 3; i++) {
    const ns = createNetns(`tov-n${i + 1}`);
    ip(ns, 'link', 'set', 'lo', 'up');
    ip(ul, 'link', 'add', `tov-p${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip(ul, 'link', 'set', `tov-p${i + 1}`, 'master', 'tov-br', 'up');
    ip(ns, 'addr', 'add', `${PUBLIC[i]}/24`, 'dev', 'eth0');
    ip(ns, 'link', 'set', 'eth0', 'up');
    sh(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const dir = path.join(root, `node${i + 1}`);
    fs.mkdirSync(dir);
    nodes.push({ i, ns, dir, subnetFile: path.join(dir, 'run', 'subnet.env'), releaseOnExit: i !== 2 });
  }
  cluster = await EtcdCluster.start({ name: 'tov', members: 3, netns: ul, hosts: ETCD_IP, clientPorts: [23810, 23811, 23812], peerPorts: [23813, 23814, 23815] });
  const put = cluster.etcdctl(['put', `${PREFIX}/config`, JSON.stringify({ Network: NETWORK, SubnetLen: 24, Backend: { Type: 'vxlan', VNI: 1, Port: 8472 } })]);
  expect(put.status).toBe(0);
  started = Date.now();
  for (const n of nodes) startAgent(n);
  await until('subnet.env on every node', () => nodes.every((n) => subnetEnv(n) !== undefined));
}, 90_000);

afterAll(async () => {
  for (const n of nodes) if (n.agent) await stopAgent(n);
  await cluster?.stop();
  removeAllNetns();
  if (root) removeDir(root);
}, 60_000);

describe.skipIf(missing !== undefined)('tscni overlay: three nodes, VXLAN over an underlay bridge, etcd', () => {
  it('each node leases its own subnet in flannel\'s etcd layout and writes subnet.env', () => {
    const keys = etcdKeys();
    expect(keys.size).toBe(3);
    const subnets = new Set<string>();
    for (const n of nodes) {
      const env = subnetEnv(n)!;
      expect(env).toEqual({ FLANNEL_NETWORK: NETWORK, FLANNEL_SUBNET: expect.stringMatching(/^10\.156\.\d+\.1\/24$/), FLANNEL_MTU: '1450', FLANNEL_IPMASQ: n.i !== 1 ? 'true' : 'false' });
      expect(fs.statSync(n.subnetFile).mode & 0o777).toBe(0o644);
      const sn = subnetOf(n);
      subnets.add(sn);
      const value = JSON.parse(keys.get(`${PREFIX}/subnets/${sn.replace('/', '-')}`)!) as Json;
      const dev = ipJson<Json[]>(['-d', 'link', 'show', 'flannel.1'], n.ns)[0]!;
      expect(value).toEqual({ PublicIP: PUBLIC[n.i], PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: dev['address'] } });
      // flanneld's device: VNI 1, local = public IP, dev eth0, dstport 8472, nolearning, MTU 1450, network address /32.
      expect(dev['mtu']).toBe(1450);
      expect(dev['linkinfo']['info_data']).toMatchObject({ id: 1, local: PUBLIC[n.i], link: 'eth0', port: 8472, learning: false });
      const addrs = ipJson<Json[]>(['addr', 'show', 'dev', 'flannel.1'], n.ns)[0]!['addr_info'].filter((a: Json) => a['family'] === 'inet');
      expect(addrs.map((a: Json) => `${a['local']}/${a['prefixlen']}`)).toEqual([sn.replace('/24', '/32')]);
    }
    expect(subnets.size).toBe(3);
    // Every lease is held by an etcd lease with a TTL (so it expires if its node disappears).
    const leases = cluster!.etcdctl(['lease', 'list']);
    expect(leases.stdout).toMatch(/found 3 leases/);
  });

  it('each node routes every other node\'s subnet via its VTEP: onlink route, permanent neighbour, FDB entry', () => {
    for (const n of nodes) {
      for (const m of nodes) {
        if (m === n) continue;
        const sn = subnetOf(m);
        const vtep = sn.replace('/24', '');
        const mac = ipJson<Json[]>(['link', 'show', 'flannel.1'], m.ns)[0]!['address'];
        expect(routeTo(n, sn)).toMatchObject({ dst: sn, gateway: vtep, dev: 'flannel.1', flags: ['onlink'] });
        expect(ipJson<Json[]>(['neigh', 'show', vtep, 'dev', 'flannel.1'], n.ns)).toEqual([expect.objectContaining({ dst: vtep, lladdr: mac, state: ['PERMANENT'] })]);
        const fdb = JSON.parse(sh(n.ns, 'bridge', ['-j', 'fdb', 'show', 'dev', 'flannel.1'])) as Json[];
        expect(fdb.filter((e) => e['mac'] === mac)).toEqual([expect.objectContaining({ dst: PUBLIC[m.i], flags: ['self'], state: 'permanent' })]);
      }
    }
  });

  it('pods added through 10-flannel.conflist ping every pod on the other nodes, over VXLAN (UDP 8472 on the underlay)', () => {
    for (const n of nodes) addPod(n);
    for (const n of nodes) {
      const saved = JSON.parse(fs.readFileSync(path.join(n.dir, 'flannel', n.pod!.id), 'utf8')) as Json;
      expect(saved).toMatchObject({ type: 'bridge', name: 'cbr0', cniVersion: '0.3.1', ipMasq: n.i === 1, isGateway: true, mtu: 1450, hairpinMode: true, isDefaultGateway: true });
      expect(saved['ipam']).toEqual({ type: 'host-local', dataDir: path.join(n.dir, 'ipam'), ranges: [[{ subnet: subnetOf(n) }]], routes: [{ dst: NETWORK }] });
    }
    const before = underlayCounters();
    for (const a of nodes) for (const b of nodes) if (a !== b) expect(ping(a.pod!.ns, b.pod!.ip, 3), `${a.pod!.ip} -> ${b.pod!.ip}`).toBe(true);
    const after = underlayCounters();
    // 6 echo requests + 6 replies at least, all encapsulated; no pod address ever appears bare on the underlay.
    expect(after.vxlan - before.vxlan).toBeGreaterThanOrEqual(12);
    expect(after.bare).toBe(0);
  });

  it("-ip-masq: nodes 1 and 3 have flanneld's FLANNEL-POSTRTG rules in one nat chain (iptables)", () => {
    for (const n of [nodes[0]!, nodes[2]!]) {
      const nat = sh(n.ns, 'iptables-save', ['-t', 'nat']);
      const sn = subnetOf(n);
      expect(nat).toContain('-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
      expect(nat).toContain(`-A FLANNEL-POSTRTG -s ${sn} -d ${NETWORK} -m comment --comment "flanneld masq" -j RETURN`);
      expect(nat).toContain(`-A FLANNEL-POSTRTG -s ${NETWORK} ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`);
      expect(nat.match(/-A FLANNEL-POSTRTG /g)).toHaveLength(6);
    }
    expect(sh(nodes[1]!.ns, 'iptables-save', ['-t', 'nat'])).not.toContain('FLANNEL-POSTRTG');
  });

  it("a pod's port mapping answers on its node's address from a pod on another node", async () => {
    const server = spawn('ip', ['netns', 'exec', nodes[1]!.pod!.ns, process.execPath, '-e', "require('net').createServer((s) => s.end('tov-hello')).listen(8080, '0.0.0.0')"], { stdio: 'ignore' });
    try {
      const answer = await until('the mapped port to answer', () => {
        const r = execInNetns(nodes[0]!.pod!.ns, 'socat', ['-T', '2', '-u', `TCP:${PUBLIC[1]}:18081,connect-timeout=2`, 'STDOUT']);
        return r.status === 0 && r.stdout !== '' ? r.stdout : undefined;
      }, 10_000);
      expect(answer).toBe('tov-hello');
    } finally {
      server.kill('SIGTERM');
    }
  });

  it('a deleted flannel.1 is recreated; its new VTEP MAC reaches the other nodes through the lease', async () => {
    const n = nodes[1]!;
    const oldMac = ipJson<Json[]>(['link', 'show', 'flannel.1'], n.ns)[0]!['address'] as string;
    sh(n.ns, 'ip', ['link', 'del', 'flannel.1']);
    const newMac = await until('flannel.1 to come back', () => ipJson<Json[]>(['link', 'show'], n.ns).find((l) => l['ifname'] === 'flannel.1')?.['address'] as string | undefined, 10_000);
    expect(newMac).not.toBe(oldMac);
    const sn = subnetOf(n);
    const value = JSON.parse(etcdKeys().get(`${PREFIX}/subnets/${sn.replace('/', '-')}`)!) as Json;
    expect(value['BackendData']).toEqual({ VNI: 1, VtepMAC: newMac });
    for (const m of [nodes[0]!, nodes[2]!]) {
      await until(`node ${m.i + 1} to learn the new MAC`, () => ipJson<Json[]>(['neigh', 'show', sn.replace('/24', ''), 'dev', 'flannel.1'], m.ns)[0]?.['lladdr'] === newMac, 10_000);
      const fdb = JSON.parse(sh(m.ns, 'bridge', ['-j', 'fdb', 'show', 'dev', 'flannel.1'])) as Json[];
      expect(fdb.filter((e) => e['mac'] === oldMac)).toEqual([]);
      expect(fdb.filter((e) => e['mac'] === newMac)).toEqual([expect.objectContaining({ dst: PUBLIC[1] })]);
    }
    for (const m of [nodes[0]!, nodes[2]!]) expect(routeTo(n, subnetOf(m))).toMatchObject({ dev: 'flannel.1' });
    expect(ping(nodes[0]!.pod!.ns, n.pod!.ip, 3)).toBe(true);
    expect(ping(n.pod!.ns, nodes[2]!.pod!.ip, 3)).toBe(true);
  }, 30_000);

  it('a lease that expires in etcd is removed from every node; leases of running agents are renewed', async () => {
    // A fifth node that vanished: its lease is held by a 3 s etcd lease that nobody renews.
    const grant = cluster!.etcdctl(['lease', 'grant', '3']);
    const id = /lease ([0-9a-f]+) granted/.exec(grant.stdout)![1]!;
    const value = JSON.stringify({ PublicIP: '10.157.0.99', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0a:00:00:00:00:99' } });
    expect(cluster!.etcdctl(['put', `--lease=${id}`, `${PREFIX}/subnets/10.156.250.0-24`, value]).status).toBe(0);
    await until('the joining node on every node', () => nodes.every((n) => routeTo(n, '10.156.250.0/24')), 5000);
    await until('the expired node gone from every node', () => nodes.every((n) => !routeTo(n, '10.156.250.0/24')), 15_000);
    for (const n of nodes) {
      expect(ipJson<Json[]>(['neigh', 'show', '10.156.250.0', 'dev', 'flannel.1'], n.ns)).toEqual([]);
      expect((JSON.parse(sh(n.ns, 'bridge', ['-j', 'fdb', 'show', 'dev', 'flannel.1'])) as Json[]).filter((e) => e['mac'] === '0a:00:00:00:00:99')).toEqual([]);
    }
    // Agents renew their own leases: they outlive two TTLs.
    await sleep(Math.max(0, started + 2 * TTL * 1000 + 1000 - Date.now()));
    expect(etcdKeys().size).toBe(3);
    expect(agentLog(nodes[0]!)).toMatch(/renewed the lease/);
  }, 40_000);

  it('SIGTERM keeps the lease and the device; a restarted agent takes back its subnet (before and after the lease expired)', async () => {
    const n = nodes[2]!;
    const sn = subnetOf(n);
    expect(await stopAgent(n)).toBe(0);
    expect(ipJson<Json[]>(['link', 'show', 'flannel.1'], n.ns)).toHaveLength(1);
    expect(etcdKeys().has(`${PREFIX}/subnets/${sn.replace('/', '-')}`)).toBe(true);
    startAgent(n);
    await until('the agent to take its lease back', () => /took back this node's lease/.test(agentLog(n)));
    expect(subnetOf(n)).toBe(sn);
    // Stopped for longer than the TTL: the lease expires, the others drop the node, the pods lose it.
    expect(await stopAgent(n)).toBe(0);
    await until('the expired node gone from the others', () => !routeTo(nodes[0]!, sn) && !routeTo(nodes[1]!, sn), 15_000);
    // A node that left while this agent was down: its entries are still on flannel.1 (as a crash would
    // leave them); the restarted agent's first listing removes them.
    sh(n.ns, 'ip', ['neigh', 'replace', '10.156.251.0', 'lladdr', '0a:00:00:00:02:51', 'dev', 'flannel.1', 'nud', 'permanent']);
    sh(n.ns, 'bridge', ['fdb', 'append', '0a:00:00:00:02:51', 'dev', 'flannel.1', 'dst', '10.157.0.98', 'self', 'permanent']);
    sh(n.ns, 'ip', ['route', 'replace', '10.156.251.0/24', 'via', '10.156.251.0', 'dev', 'flannel.1', 'onlink']);
    // Meanwhile the cluster switched to nftables: the restarted agent moves its masquerade rules.
    const cfg = { Network: NETWORK, SubnetLen: 24, EnableNFTables: true, Backend: { Type: 'vxlan', VNI: 1, Port: 8472 } };
    expect(cluster!.etcdctl(['put', `${PREFIX}/config`, JSON.stringify(cfg)]).status).toBe(0);
    startAgent(n, true);
    await until('the others to route to it again', () => routeTo(nodes[0]!, sn) && routeTo(nodes[1]!, sn), 15_000);
    expect(subnetOf(n)).toBe(sn);
    expect(ping(nodes[0]!.pod!.ns, n.pod!.ip, 3)).toBe(true);
    expect(routeTo(n, '10.156.251.0/24')).toBeUndefined();
    expect(ipJson<Json[]>(['neigh', 'show', '10.156.251.0', 'dev', 'flannel.1'], n.ns)).toEqual([]);
    expect((JSON.parse(sh(n.ns, 'bridge', ['-j', 'fdb', 'show', 'dev', 'flannel.1'])) as Json[]).filter((e) => e['mac'] === '0a:00:00:00:02:51')).toEqual([]);
    // ... while the entries of the live nodes are all there.
    for (const m of [nodes[0]!, nodes[1]!]) expect(routeTo(n, subnetOf(m))).toMatchObject({ dev: 'flannel.1', flags: ['onlink'] });
    const nft = JSON.parse(sh(n.ns, 'nft', ['-j', 'list', 'table', 'ip', 'tscni-overlay'])) as { nftables: Json[] };
    const rules = nft.nftables.filter((e) => e['rule']).map((e) => e['rule'] as Json);
    expect(rules).toHaveLength(6);
    expect(rules.every((r) => r['chain'] === 'postrtg' && r['comment'] === 'flanneld masq')).toBe(true);
    expect(sh(n.ns, 'iptables-save', ['-t', 'nat'])).not.toContain('FLANNEL-POSTRTG');
    // The nftables rules went in over netlink: the agent ran no `nft`, only the iptables tools that
    // removed its old FLANNEL-POSTRTG rules.
    const [self, ...tools] = agentExecs(n);
    expect(self).toBe(TSCNI);
    expect(tools.map((t) => path.basename(t)).sort()).toEqual(['iptables-restore', 'iptables-save']);
  }, 40_000);

  it('-release-on-exit: the node disappears from the others, and DEL + shutdown leave nothing behind', async () => {
    for (const n of [nodes[1]!, nodes[0]!]) {
      const sn = subnetOf(n);
      delPod(n);
      expect(fs.readdirSync(path.join(n.dir, 'flannel'))).toEqual([]);
      const leased = fs.readdirSync(path.join(n.dir, 'ipam', 'cbr0')).filter((f) => /^\d/.test(f));
      expect(leased).toEqual([]);
      const nat = sh(n.ns, 'iptables-save', ['-t', 'nat']);
      expect(nat).not.toMatch(/CNI-DN-|-j CNI-[0-9a-f]{24}/);
      // A second DEL (no saved config left) succeeds.
      expect(cni(n, 'DEL', listEntries(n)[0]!, n.pod!.ns, n.pod!.id).status).toBe(0);
      expect(await stopAgent(n)).toBe(0);
      expect(etcdKeys().has(`${PREFIX}/subnets/${sn.replace('/', '-')}`)).toBe(false);
      expect(fs.existsSync(n.subnetFile)).toBe(false);
      expect(sh(n.ns, 'iptables-save', ['-t', 'nat'])).not.toContain('FLANNEL-POSTRTG');
      // Left: the underlay link and the pod bridge (the bridge plugin never deletes it, as the reference).
      expect(ipJson<Json[]>(['link', 'show'], n.ns).map((l) => l['ifname']).sort()).toEqual(['cni0', 'eth0', 'lo']);
      for (const other of nodes.filter((o) => o.agent)) {
        await until(`${sn} gone from node ${other.i + 1}`, () => !routeTo(other, sn), 5000);
        expect(ipJson<Json[]>(['neigh', 'show', sn.replace('/24', ''), 'dev', 'flannel.1'], other.ns)).toEqual([]);
      }
    }
    for (const n of nodes) expect(agentLog(n)).not.toMatch(/UNEXPECTED STDOUT/);
  }, 40_000);

  it('nftables (EnableNFTables): SIGTERM keeps the table; a restart re-applies it and -release-on-exit deletes it, without running nft', async () => {
    const n = nodes[2]!;
    const sn = subnetOf(n);
    const table = (): string => execInNetns(n.ns, 'nft', ['list', 'table', 'ip', 'tscni-overlay']).stdout;
    expect(await stopAgent(n)).toBe(0);
    expect(table()).toContain(`ip saddr ${sn} ip daddr ${NETWORK} return comment "flanneld masq"`);
    const logStart = agentLog(n).length;
    n.releaseOnExit = true;
    startAgent(n, true);
    await until('the restarted agent to masquerade', () => /masquerading traffic leaving .* \(nftables\)/.test(agentLog(n).slice(logStart)));
    expect(subnetOf(n)).toBe(sn);
    const listed = table();
    expect(listed).toContain('type nat hook postrouting priority srcnat; policy accept;');
    expect(listed).toContain(`ip saddr != ${NETWORK} ip daddr ${NETWORK} masquerade fully-random comment "flanneld masq"`);
    expect(listed.match(/comment "flanneld masq"/g)).toHaveLength(6);
    expect(await stopAgent(n)).toBe(0);
    expect(agentLog(n).slice(logStart)).not.toMatch(/release: /);
    expect(execInNetns(n.ns, 'nft', ['list', 'ruleset']).stdout).not.toContain('tscni-overlay');
    expect(etcdKeys().has(`${PREFIX}/subnets/${sn.replace('/', '-')}`)).toBe(false);
    expect(fs.existsSync(n.subnetFile)).toBe(false);
    // Apply on start and delete on exit were in-process; the iptables tools ran to find no old rules.
    const [self, ...tools] = agentExecs(n);
    expect(self).toBe(TSCNI);
    expect(tools.map((t) => path.basename(t))).not.toContain('nft');
    expect(new Set(tools.map((t) => path.basename(t)))).toEqual(new Set(['iptables-save']));
  }, 30_000);
});
