// The default networks of containerd's CRI, nerdctl and a Kubernetes node, driven through containerd's
// own CNI library (go-cni + libcni, built offline from Debian's Go sources in the set-up) the way
// containerd's CRI calls it: loopback on "lo" plus the first conf file on "eth0", K8S_POD_* args with
// IgnoreUnknown=1, portMappings and bandwidth capabilities; then Check and Remove.
// go-cni's capability structs have no JSON tags, so what the plugins get is exactly what containerd
// sends: runtimeConfig.portMappings [{"HostPort","ContainerPort","Protocol","HostIP"}] and
// runtimeConfig.bandwidth {"IngressRate","IngressBurst","EgressRate","EgressBurst"} (bursts MaxUint32),
// capitalized: the Go plugins accept them because Go's JSON decoding ignores case; tscni must too.
//
// The plugins are dist/bin (tscni alone) unless TSCNI_TEST_PLUGIN_DIR says otherwise (see rig.ts).
// Each list gets a throwaway node netns (rt-gocni-node-*) in which the driver runs, so bridges,
// veths, ifbs and firewall rules land there; the container netns is the sandbox the test creates.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addrs, link, links, routes, type IpLink } from '../../helpers/ip.js';
import {
  addContainer, buildDriver, cleanupNode, confDir, driver, exampleList, fetchFrom, firewallText, firstHost,
  leftovers, makeNode, missingTools, qdiscs, serve, stateDirOf, suffix, tcJson, urlOf, waitServing, type Json, type Node,
} from './rig.js';

let buildDir = '';
let bin = '';
let node: Node | undefined;

beforeAll(() => {
  const missing = missingTools(['go']);
  if (missing.length > 0) throw new Error(`runtimes tests need: ${missing.join(', ')} (scripts/setup.sh installs them)`);
  buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-gocni-build-'));
  bin = buildDriver(buildDir);
}, 180_000);

afterEach(() => {
  cleanupNode(node);
  node = undefined;
});

afterAll(() => {
  if (buildDir) fs.rmSync(buildDir, { recursive: true, force: true });
});

/** A sandbox ID as containerd makes them (64 hex characters). */
const sandboxId = (): string => randomBytes(32).toString('hex');

interface GoCniResult {
  result: { Interfaces: Record<string, { IPConfigs?: { IP: string; Gateway?: string }[]; Mac?: string; Sandbox?: string }> };
  raw: Json[];
}

interface ListRun {
  n: Node;
  ctr: string;
  id: string;
  network: string;
  dataDir: string;
  conf: string;
  out: GoCniResult;
  ips: string[];
}

const PORT = 18080;
const PORTS = [{ HostPort: PORT, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }];

/** Writes the example as the conf dir's only file, runs go-cni Setup, checks the address it gives. */
function setup(file: string, tag: string, subnets: string[], bandwidth?: { IngressRate: number; EgressRate: number }): ListRun {
  const n = makeNode('rt-gocni');
  node = n;
  const ctr = addContainer(n);
  const sfx = suffix();
  const dataDir = path.join(n.dir, 'ipam');
  const list = exampleList(file, { name: `rt-${tag}-${sfx}`, bridge: `rt-${tag}${sfx}`, subnets, dataDir });
  const conf = confDir(n, `10-${file}`, list);
  const id = sandboxId();
  const res = driver(n, bin, 'setup', { conf, id, netns: ctr, ports: PORTS, ...(bandwidth ? { bandwidth } : {}) });
  expect(res.stderr, 'go-cni Setup').toBe('');
  expect(res.status).toBe(0);
  const out = JSON.parse(res.stdout) as GoCniResult;
  const eth0 = out.result.Interfaces.eth0;
  expect(eth0?.Sandbox).toBe(`/run/netns/${ctr}`);
  const ips = (eth0?.IPConfigs ?? []).map((c) => c.IP);
  expect(ips).toHaveLength(subnets.length);
  // The kernel in the sandbox agrees: eth0 holds each address, lo is up (go-cni's loopback network).
  const held = addrs(ctr, 'eth0').map((a) => a.split('/')[0]);
  for (const ip of ips) expect(held).toContain(ip);
  expect(link(ctr, 'lo')?.flags).toContain('UP');
  return { n, ctr, id, network: list.name as string, dataDir, conf, out, ips };
}

/** The page a container serves reaches the node through the host port (127.0.0.1 and each gateway). */
function expectPortMapping(r: ListRun, gateways: string[]): void {
  const page = `rt page ${r.id}\n`;
  serve(r.n, r.ctr, page);
  expect(waitServing(r.n.node, urlOf(r.ips[0] as string, 80)), 'container serves directly').toBe(page);
  // Retried for a few seconds: a fresh IPv6 address may still be in duplicate address detection.
  for (const host of ['127.0.0.1', ...gateways]) {
    expect(waitServing(r.n.node, urlOf(host, PORT)), `node -> ${host}:${PORT}`).toBe(page);
  }
}

/** Check passes, Remove tears everything down (and a second Remove, as a retried StopPodSandbox, too). */
function expectCheckAndRemove(r: ListRun, gateways: string[]): void {
  const attachment = { node: r.n.node, network: r.network, id: r.id, ips: r.ips, dataDir: r.dataDir };
  // The leftovers oracle sees the live attachment (so its empty answer after Remove means something).
  expect(leftovers(stateDirOf(r.n.dir), attachment).length).toBeGreaterThan(0);
  const check = driver(r.n, bin, 'check', { conf: r.conf, id: r.id, netns: r.ctr, ports: PORTS });
  // Soft: a CHECK failure is reported, and Remove and the leftovers are still verified.
  expect.soft(check.stderr, 'go-cni Check').toBe('');
  expect.soft(check.status).toBe(0);
  const remove = driver(r.n, bin, 'remove', { conf: r.conf, id: r.id, netns: r.ctr, ports: PORTS });
  expect(remove.stderr, 'go-cni Remove').toBe('');
  expect(remove.status).toBe(0);
  expect(link(r.ctr, 'eth0')).toBeUndefined();
  for (const host of ['127.0.0.1', ...gateways]) expect(fetchFrom(r.n.node, urlOf(host, PORT)), `${host}:${PORT} after Remove`).toBeUndefined();
  expect(leftovers(stateDirOf(r.n.dir), attachment)).toEqual([]);
  const again = driver(r.n, bin, 'remove', { conf: r.conf, id: r.id, netns: r.ctr, ports: PORTS });
  expect(again.stderr + again.stdout).toBe('');
  expect(again.status).toBe(0);
}

/** The node's rules name this sandbox: portmap's DNAT chain carries its ID in a comment. */
function expectDnatFor(r: ListRun): void {
  const fw = firewallText(r.n.node);
  expect(fw).toMatch(/CNI-HOSTPORT-DNAT/);
  expect(fw.split('\n').some((l) => l.includes('CNI-DN-') && l.includes(r.id))).toBe(true);
}

describe('containerd CRI calls through go-cni, tscni plugins', () => {
  it('containerd-net.conflist (bridge + portmap, dual stack): Setup, port mapping serves a page, Check, Remove leaves nothing', () => {
    const subnets = ['10.36.1.0/24', 'fd36:0:1::/64'];
    const r = setup('containerd-net.conflist', 'c', subnets);
    expect(r.ips[0]).toMatch(/^10\.36\.1\./);
    expect(r.ips[1]).toMatch(/^fd36:0:1::/);
    expectDnatFor(r);
    const gateways = subnets.map(firstHost);
    expectPortMapping(r, gateways);
    expectCheckAndRemove(r, gateways);
  });

  it('nerdctl-bridge.conflist (bridge + portmap + firewall same-bridge + tuning): Setup, port mapping, Check, Remove leaves nothing', () => {
    const r = setup('nerdctl-bridge.conflist', 'n', ['10.36.2.0/24']);
    expect(r.ips[0]).toMatch(/^10\.36\.2\./);
    expectDnatFor(r);
    // firewall (iptables: no firewalld on the bus the rig gives) admits traffic to the sandbox.
    const fw = firewallText(r.n.node);
    expect(fw).toMatch(/^-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD$/m);
    expect(fw.split('\n').some((l) => l.startsWith('-A CNI-FORWARD') && l.includes(`${r.ips[0]}/32`))).toBe(true);
    expectPortMapping(r, ['10.36.2.1']);
    expectCheckAndRemove(r, ['10.36.2.1']);
  });

  it('bridge-kube-router.conflist (bridge + portmap + bandwidth): bridge keys, tc shaping, port mapping, Check, Remove leaves nothing', () => {
    // What containerd derives from kubernetes.io/ingress-bandwidth: 8M and egress-bandwidth: 4M (bit/s).
    const r = setup('bridge-kube-router.conflist', 'k', ['10.36.3.0/24'], { IngressRate: 8_000_000, EgressRate: 4_000_000 });
    expect(r.ips[0]).toMatch(/^10\.36\.3\./);
    // bridge: isDefaultGateway (default route via the bridge), mtu 1450, hairpin on the host port.
    expect(routes(r.ctr).find((rt) => rt.dst === 'default')?.gateway).toBe('10.36.3.1');
    expect(link(r.ctr, 'eth0')?.mtu).toBe(1450);
    const bridgeName = (r.out.raw[1]?.interfaces as Json[] | undefined)?.[0]?.name as string;
    const hostVeth = links(r.n.node).find((l: IpLink) => l.master === bridgeName && l.linkinfo?.info_kind === 'veth');
    expect(hostVeth?.linkinfo?.info_slave_data?.hairpin).toBe(true);
    const vethName = hostVeth?.ifname ?? '';
    // ipMasq: a per-sandbox NAT chain named by its ID comment.
    expect(firewallText(r.n.node).split('\n').some((l) => l.includes('MASQUERADE') && l.includes(r.id))).toBe(true);
    expectDnatFor(r);

    // bandwidth: ingress = TBF at the root of the host veth; egress = the veth's ingress traffic
    // redirected to an ifb with its own TBF. tc -j reports rates in bytes/s.
    const vethQdiscs = qdiscs(r.n.node, vethName);
    const tbfIn = vethQdiscs.find((q) => q.kind === 'tbf' && q.root === true);
    expect(tbfIn?.options?.rate).toBe(1_000_000);
    expect(vethQdiscs.some((q) => q.kind === 'ingress')).toBe(true);
    const ifb = links(r.n.node).find((l: IpLink) => l.linkinfo?.info_kind === 'ifb');
    expect(ifb?.ifname).toMatch(/^bwp/);
    const tbfOut = qdiscs(r.n.node, ifb?.ifname ?? '').find((q) => q.kind === 'tbf');
    expect(tbfOut?.options?.rate).toBe(500_000);
    const filters = tcJson(r.n.node, ['filter', 'show', 'dev', vethName, 'parent', 'ffff:']);
    expect(JSON.stringify(filters)).toContain(ifb?.ifname ?? 'no ifb');

    expectPortMapping(r, ['10.36.3.1']);
    expectCheckAndRemove(r, ['10.36.3.1']);
  });
});
