// portmap next to the Go reference (Debian's 1.1.1 in /usr/lib/cni, iptables backend only): the same
// chained config (bridge + portmap with the bridge's real result) gives the same result and the same
// `iptables-save -t nat`; Go's DEL removes our rules and our DEL removes Go's; our CHECK passes on
// Go's rules; CHECK of an IPv4-only result, where 1.1.1 fails on the missing IPv6 chain.
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normalize, VERSIONS } from '../../helpers/node-rig.js';
import { type Mapping, PortmapNode } from './rig.js';

const GO_PORTMAP = '/usr/lib/cni/portmap';
const skip = existsSync(GO_PORTMAP) ? undefined : `${GO_PORTMAP} not installed`;

const MAPPINGS: Mapping[] = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 81, protocol: 'tcp', hostIP: '0.0.0.0' },
  { hostPort: 5353, containerPort: 53, protocol: 'udp' },
  { hostPort: 9000, containerPort: 90, protocol: 'sctp' },
  { hostPort: 8443, containerPort: 443, protocol: 'tcp', hostIP: 'fd31:1::1' },
];

const dnatChains = (rules: string[]): string[] => rules.filter((l) => l.includes('CNI-DN-'));

describe.skipIf(skip !== undefined)(`portmap side by side with the Go reference${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let goNode: PortmapNode;
  let ourNode: PortmapNode;
  beforeEach(() => {
    goNode = new PortmapNode('0.4.0');
    ourNode = new PortmapNode('0.4.0');
  });
  afterEach(() => {
    goNode?.destroy();
    ourNode?.destroy();
  });

  it('same chained config -> same result and the same nat tables; each DEL removes the other side\'s rules', () => {
    const goCtr = goNode.addContainer('pm-ref-1');
    const ourCtr = ourNode.addContainer('pm-ref-1');
    expect(normalize(ourCtr.result)).toEqual(normalize(goCtr.result));

    const goAdd = goNode.portmap('ADD', goCtr, goNode.portmapConf(goCtr.result, MAPPINGS), 'ref');
    const ourAdd = ourNode.portmap('ADD', ourCtr, ourNode.portmapConf(ourCtr.result, MAPPINGS));
    expect(goAdd.status, goAdd.stdout).toBe(0);
    expect(ourAdd.status, ourAdd.stdout + ourAdd.stderr).toBe(0);
    expect(normalize(ourAdd.json)).toEqual(normalize(goAdd.json));
    for (const f of [4, 6] as const) {
      expect(dnatChains(goNode.natRules(f)).length).toBeGreaterThan(0);
      expect(ourNode.natRules(f)).toEqual(goNode.natRules(f));
    }
    expect(goNode.sysctl('net.ipv4.conf.pm-br0.route_localnet')).toBe('1');
    expect(ourNode.sysctl('net.ipv4.conf.pm-br0.route_localnet')).toBe('1');

    // Our CHECK accepts what Go wrote.
    expect(goNode.portmap('CHECK', goCtr, goNode.portmapConf(goCtr.result, MAPPINGS)).status).toBe(0);

    // Go's DEL removes our rules ...
    const goDel = ourNode.portmap('DEL', ourCtr, ourNode.portmapConf(ourCtr.result, MAPPINGS), 'ref');
    expect(goDel.status, goDel.stdout).toBe(0);
    for (const f of [4, 6] as const) expect(dnatChains(ourNode.natRules(f))).toEqual([]);
    // ... and ours removes Go's (no record of ours exists there: found by chain name and jumps).
    const ourDel = goNode.portmap('DEL', goCtr, goNode.portmapConf(goCtr.result, MAPPINGS));
    expect(ourDel.status, ourDel.stdout + ourDel.stderr).toBe(0);
    for (const f of [4, 6] as const) expect(dnatChains(goNode.natRules(f))).toEqual([]);
    // What stays is the node-wide part, the same on both sides.
    for (const f of [4, 6] as const) expect(ourNode.natRules(f)).toEqual(goNode.natRules(f));
  });

  it('ours over Go\'s rules (and the reverse) adds no duplicates', () => {
    const ctr = goNode.addContainer('pm-ref-2');
    const conf = goNode.portmapConf(ctr.result, MAPPINGS);
    expect(goNode.portmap('ADD', ctr, conf, 'ref').status).toBe(0);
    const before = { 4: goNode.natRules(4), 6: goNode.natRules(6) };
    expect(goNode.portmap('ADD', ctr, conf).status).toBe(0);
    expect(goNode.natRules(4)).toEqual(before[4]);
    expect(goNode.natRules(6)).toEqual(before[6]);
    expect(goNode.portmap('DEL', ctr, conf).status).toBe(0);
    expect(dnatChains(goNode.natRules(4))).toEqual([]);
  });

  it('CHECK of an IPv4-only result passes (1.1.1 fails looking for an IPv6 chain)', () => {
    const ctr = goNode.addContainer('pm-ref-3');
    const v4only = { ...ctr.result, ips: (ctr.result.ips as { address: string }[]).filter((i) => !i.address.includes(':')) };
    const conf = goNode.portmapConf(v4only, MAPPINGS);
    expect(goNode.portmap('ADD', ctr, conf).status).toBe(0);
    expect(dnatChains(goNode.natRules(6))).toEqual([]);
    const ours = goNode.portmap('CHECK', ctr, conf);
    expect(ours.status, ours.stdout).toBe(0);
    const go = goNode.portmap('CHECK', ctr, conf, 'ref');
    expect(go.status).not.toBe(0);
    expect((go.json as { msg: string }).msg).toMatch(/^could not check ipv6 dnat: chain CNI-DN-[0-9a-f]{21} not found/);
    expect(goNode.portmap('DEL', ctr, conf).status).toBe(0);
  });

  it('passes prevResult through like the reference for every spec version', () => {
    const ctr = ourNode.addContainer('pm-ref-4');
    const goCtr = goNode.addContainer('pm-ref-4');
    for (const version of VERSIONS) {
      const prev = version.startsWith('0.1') || version.startsWith('0.2')
        ? { cniVersion: version, ip4: { ip: `${ctr.ip4}/24`, gateway: '10.31.1.1' }, ip6: { ip: `${ctr.ip6}/64`, gateway: 'fd31:1::1' }, dns: {} }
        : { ...ctr.result, cniVersion: version };
      const conf = (n: PortmapNode, v: string = version) => ({ ...n.portmapConf({ ...prev, cniVersion: v }, MAPPINGS), cniVersion: v });
      // 1.1.1 predates spec 1.1.0, whose result is the 1.0.0 one with another version string.
      const goVersion = version === '1.1.0' ? '1.0.0' : version;
      const go = goNode.portmap('ADD', goCtr, conf(goNode, goVersion), 'ref');
      const ours = ourNode.portmap('ADD', ctr, conf(ourNode));
      expect(go.status, `${version}: ${go.stdout}`).toBe(0);
      expect(ours.status, `${version}: ${ours.stdout}`).toBe(0);
      // Debian's 1.1.1 prints an empty "dns": {} in 1.x results; the latest reference (and we) omit it.
      const goJson = go.json as Record<string, unknown>;
      if (version.startsWith('1.') && JSON.stringify(goJson.dns) === '{}') delete goJson.dns;
      goJson.cniVersion = version;
      expect(normalize(ours.json), version).toEqual(normalize(goJson));
      for (const f of [4, 6] as const) expect(ourNode.natRules(f), version).toEqual(goNode.natRules(f));
      expect(goNode.portmap('DEL', goCtr, conf(goNode, goVersion), 'ref').status).toBe(0);
      expect(ourNode.portmap('DEL', ctr, conf(ourNode)).status).toBe(0);
    }
  });
});
