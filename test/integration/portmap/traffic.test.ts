// portmap end to end with real traffic, both backends: a node netns with our bridge + host-local, two
// containers, portmap chained with the bridge's result. Host port -> container from the node via the
// bridge address and via 127.0.0.1 (route_localnet), from another container via the node address,
// hairpin (a container to itself), UDP, IPv6; conntrack entries of the UDP host port deleted on ADD
// and on DEL (checked with the conntrack tool); after DEL the port no longer answers and nothing of
// the container remains (iptables-save / nft -j list ruleset, conntrack, the state record).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execInNetns } from '../../helpers/netns.js';
import { BRIDGE, type Container, GW4, GW6, NET, PortmapNode } from './rig.js';

const TCP_PORT = 8080;
const UDP_PORT = 5353;
const HOSTIP_PORT = 8082;
const MAPPINGS = [
  { hostPort: TCP_PORT, containerPort: 80, protocol: 'tcp' },
  { hostPort: UDP_PORT, containerPort: 53, protocol: 'udp' },
  // Only on the bridge addresses: one per family.
  { hostPort: HOSTIP_PORT, containerPort: 80, protocol: 'tcp', hostIP: GW4 },
  { hostPort: HOSTIP_PORT, containerPort: 80, protocol: 'tcp', hostIP: GW6 },
];

const recordFiles = (node: PortmapNode): string[] => {
  const dir = path.join(node.stateDir, 'portmap', NET);
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe.each(['iptables', 'nftables'] as const)('portmap traffic (%s)', (backend) => {
  let node: PortmapNode;
  let a: Container;
  let b: Container;
  let confA: Record<string, unknown>;

  beforeAll(() => {
    node = new PortmapNode();
    a = node.addContainer('pm-ctr-a');
    b = node.addContainer('pm-ctr-b');
    node.serve(a, 80, 'A');
    node.serve(a, 53, 'A');
    node.serve(b, 80, 'B');
    confA = node.portmapConf(a.result, MAPPINGS, { backend });
  });
  afterAll(() => node?.destroy());

  it('ADD passes prevResult through, deletes the stale UDP conntrack entry, sets route_localnet', () => {
    // A UDP flow to the host port before any mapping exists: conntrack remembers it (unanswered).
    // (A netns tracks connections only once some rule needs conntrack: a test-owned one here.)
    node.enableConntrack();
    node.request(node.ns, 'udp', GW4, UDP_PORT, 1);
    expect(node.conntrackUdp(UDP_PORT).length).toBeGreaterThan(0);

    const run = node.portmap('ADD', a, confA);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.json).toEqual(a.result);
    expect(node.conntrackUdp(UDP_PORT)).toEqual([]);
    expect(node.sysctl(`net.ipv4.conf.${BRIDGE}.route_localnet`)).toBe('1');
    expect(recordFiles(node)).toEqual([`${a.id}_eth0.json`]);
  });

  it('forwards TCP from the node via the bridge address, 127.0.0.1 and IPv6', () => {
    expect(node.request(node.ns, 'tcp', GW4, TCP_PORT)).toBe('tcp-A');
    expect(node.request(node.ns, 'tcp', '127.0.0.1', TCP_PORT)).toBe('tcp-A');
    expect(node.request(node.ns, 'tcp', GW6, TCP_PORT, 5)).toBe('tcp-A');
  });

  it('a mapping with hostIP answers on that address only', () => {
    expect(node.request(node.ns, 'tcp', GW4, HOSTIP_PORT)).toBe('tcp-A');
    expect(node.request(node.ns, 'tcp', GW6, HOSTIP_PORT)).toBe('tcp-A');
    expect(node.request(node.ns, 'tcp', '127.0.0.1', HOSTIP_PORT, 1)).toBe('');
    expect(node.request(node.ns, 'tcp', '::1', HOSTIP_PORT, 1)).toBe('');
  });

  it('forwards from another container via the node address, and hairpin from the container itself', () => {
    expect(node.request(b.ns, 'tcp', GW4, TCP_PORT)).toBe('tcp-A');
    expect(node.request(a.ns, 'tcp', GW4, TCP_PORT)).toBe('tcp-A');
    expect(node.request(a.ns, 'tcp', GW6, TCP_PORT, 5)).toBe('tcp-A');
  });

  it('forwards UDP, and conntrack (the tool) sees the flow', () => {
    expect(node.request(node.ns, 'udp', GW4, UDP_PORT)).toBe('udp-A');
    expect(node.conntrackUdp(UDP_PORT).length).toBeGreaterThan(0);
  });

  it('CHECK passes, and fails once a rule is gone', () => {
    const ok = node.portmap('CHECK', a, confA);
    expect(ok.status, ok.stdout).toBe(0);
    if (backend === 'iptables') {
      execInNetns(node.ns, 'iptables', ['-t', 'nat', '-F', 'CNI-HOSTPORT-DNAT']);
    } else {
      execInNetns(node.ns, 'nft', ['flush', 'chain', 'ip', 'cni_hostport', 'hostports']);
    }
    const bad = node.portmap('CHECK', a, confA);
    expect(bad.status).not.toBe(0);
    expect((bad.json as { code: number }).code).toBe(101);
    // A repeated ADD repairs it (and leaves one copy of each rule).
    expect(node.portmap('ADD', a, confA).status).toBe(0);
    expect(node.portmap('ADD', a, confA).status).toBe(0);
    expect(node.portmap('CHECK', a, confA).status).toBe(0);
    if (backend === 'iptables') {
      expect(node.natRules(4).filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT'))).toHaveLength(2); // tcp and udp
    } else {
      const rules = node.nftRuleset().filter((i) => (i as { rule?: { comment?: string } }).rule?.comment === a.id);
      expect(rules).toHaveLength(3 + 2 + 3 + 1); // v4: dnat x3, masq x2; v6: dnat x3, masq x1
    }
    expect(node.request(node.ns, 'tcp', GW4, TCP_PORT)).toBe('tcp-A');
  });

  it('DEL: the port no longer answers, conntrack entries are gone, nothing of the container remains', () => {
    expect(node.request(node.ns, 'udp', GW4, UDP_PORT)).toBe('udp-A');
    const run = node.portmap('DEL', a, confA);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(node.conntrackUdp(UDP_PORT)).toEqual([]);
    expect(node.request(node.ns, 'tcp', GW4, TCP_PORT, 1)).toBe('');
    expect(node.request(node.ns, 'tcp', '127.0.0.1', TCP_PORT, 1)).toBe('');
    expect(node.request(b.ns, 'tcp', GW4, TCP_PORT, 1)).toBe('');
    expect(node.request(node.ns, 'udp', GW4, UDP_PORT, 1)).toBe('');
    if (backend === 'iptables') {
      for (const f of [4, 6] as const) {
        const rules = node.natRules(f);
        expect(rules.filter((l) => l.includes('CNI-DN-') || l.includes(a.id))).toEqual([]);
      }
    } else {
      expect(JSON.stringify(node.nftRuleset())).not.toContain(a.id);
    }
    expect(recordFiles(node)).toEqual([]);
    // A second DEL, and a DEL without prevResult, succeed.
    expect(node.portmap('DEL', a, confA).status).toBe(0);
    expect(node.portmap('DEL', a, node.portmapConf(undefined, MAPPINGS, { backend })).status).toBe(0);
  });

  it('a second container takes over the host port after the first is gone', () => {
    const confB = node.portmapConf(b.result, MAPPINGS, { backend });
    expect(node.portmap('ADD', b, confB).status).toBe(0);
    expect(node.request(node.ns, 'tcp', GW4, TCP_PORT)).toBe('tcp-B');
    expect(node.portmap('DEL', b, confB).status).toBe(0);
    expect(node.request(node.ns, 'tcp', GW4, TCP_PORT, 1)).toBe('');
  });
});
