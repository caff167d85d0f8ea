// Side by side with the Go reference (/usr/lib/cni/bridge, Debian 1.1.1) for the same config: the
// same result shape and the same kernel state apart from random names and MACs; and each one's DEL
// removes what the other's ADD created.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { netnsPath } from '../../helpers/netns.js';
import { addrs, interfaceSysctls, link, linkAttrs, routes, sysctl, vethsOf } from '../../helpers/ip.js';
import { LATEST_ONLY_SYSCTLS, latestLinkAttrs } from '../../helpers/reference.js';
import { bridgePorts, cleanupRigs, leases, makeRig, natRules, OURS, REF, run, type Rig } from './helpers.js';

afterEach(() => cleanupRigs());

type Json = Record<string, any>;
const haveRef = fs.existsSync(REF);

function conf(rig: Rig, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'brnet',
    type: 'bridge',
    bridge: 'tbr0',
    ipam: { type: 'host-local', dataDir: rig.dataDir, ranges: [[{ subnet: '10.77.8.0/24' }], [{ subnet: '2001:db8:77:8::/64' }]] },
    ...extra,
  };
}

/** The result with random parts replaced and the 1.1.1-only empty "dns": {} dropped. */
function normalize(r: Json, rig: Rig): Json {
  const out = structuredClone(r);
  if (out.dns && Object.keys(out.dns).length === 0) delete out.dns;
  for (const i of out.interfaces ?? []) {
    if (/^veth[0-9a-f]{8}$/.test(i.name)) i.name = 'veth*';
    if (i.mac) i.mac = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(i.mac) ? 'mac' : i.mac;
    if (i.sandbox === netnsPath(rig.containers[0]!)) i.sandbox = 'netns';
  }
  return out;
}

/**
 * Kernel state that must not differ between the two implementations. `ref` marks the oracle's
 * snapshot, whose known 1.1.1-only values are replaced by the latest reference's (helpers/reference.ts).
 */
function kernelState(rig: Rig, r: Json, ref: boolean): Json {
  const c = rig.containers[0]!;
  const hostVeth = r.interfaces[1].name;
  const port = bridgePorts(rig.node).find((p) => p.ifname === hostVeth);
  const strip = (rs: Json[]): Json[] => rs.map(({ dst, gateway, dev, protocol, scope }) => ({ dst, gateway, dev, protocol, scope }));
  return {
    containerAddrs: addrs(c, 'eth0'),
    containerRoutes4: strip(routes(c, 4)),
    containerRoutes6: strip(routes(c, 6)).filter((x) => !String(x['dst']).startsWith('fe80')),
    containerUp: link(c, 'eth0')!.flags.includes('UP'),
    containerMtu: link(c, 'eth0')!.mtu,
    bridgeAddrs: addrs(rig.node, 'tbr0'),
    bridgeMtu: link(rig.node, 'tbr0')!.mtu,
    bridgePromisc: link(rig.node, 'tbr0')!.flags.includes('PROMISC'),
    hostVethMtu: link(rig.node, hostVeth)!.mtu,
    hostVethMaster: link(rig.node, hostVeth)!.master,
    hairpin: port?.hairpin,
    ipForward: sysctl(rig.node, 'net.ipv4.ip_forward'),
    ip6Forward: sysctl(rig.node, 'net.ipv6.conf.all.forwarding'),
    bridgeAcceptRa: sysctl(rig.node, 'net.ipv6.conf.tbr0.accept_ra'),
    hostVethAcceptRa: sysctl(rig.node, `net.ipv6.conf.${hostVeth}.accept_ra`),
    arpNotify: sysctl(c, 'net.ipv4.conf.eth0.arp_notify'),
    nat4: natRules(rig.node, 4),
    nat6: natRules(rig.node, 6),
    leases: leases(rig),
    // Every attribute `ip -d link` shows that a plugin could change (txqlen, qdisc, addrgenmode, gso ...).
    bridgeLink: linkAttrs(link(rig.node, 'tbr0')!),
    hostVethLink: (ref ? latestLinkAttrs : linkAttrs)(link(rig.node, hostVeth)!),
    containerLink: (ref ? latestLinkAttrs : linkAttrs)(link(c, 'eth0')!),
    bridgeSysctls: interfaceSysctls(rig.node, 'tbr0'),
    hostVethSysctls: interfaceSysctls(rig.node, hostVeth),
    containerSysctls: interfaceSysctls(c, 'eth0', LATEST_ONLY_SYSCTLS),
  };
}

describe.skipIf(!haveRef)('bridge vs the Go reference (/usr/lib/cni/bridge 1.1.1)', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['dual-stack gateway + ipMasq + hairpin + mtu', { isDefaultGateway: true, ipMasq: true, hairpinMode: true, mtu: 1400 }],
    ['plain bridge + host-local', {}],
    ['L2 promiscuous', { promiscMode: true, ipam: {} }],
  ];
  for (const [label, extra] of cases) {
    it(`same result shape and kernel state: ${label}`, () => {
      const ours = makeRig();
      const ref = makeRig();
      const a = run(ours, 'ADD', conf(ours, extra), { bin: OURS });
      const b = run(ref, 'ADD', conf(ref, extra), { bin: REF });
      expect(a.stderr).toBe('');
      expect([a.status, b.status]).toEqual([0, 0]);
      expect(normalize(a.json as Json, ours)).toEqual(normalize(b.json as Json, ref));
      expect(kernelState(ours, a.json as Json, false)).toEqual(kernelState(ref, b.json as Json, true));
      // The latest reference keeps IPv6 addresses across a link down (1.1.1 did not).
      const v6 = addrs(ours.containers[0]!, 'eth0').some((x) => x.includes(':'));
      expect(sysctl(ours.containers[0]!, 'net.ipv6.conf.eth0.keep_addr_on_down')).toBe(v6 ? '1' : '0');
      // L3 container end: accept_dad=0 unless enabledad (latest reference). L2 leaves it alone.
      const l3 = extra['ipam'] === undefined;
      expect(sysctl(ours.containers[0]!, 'net.ipv6.conf.eth0.accept_dad')).toBe(l3 ? '0' : '1');
    });
  }

  it('each DEL removes what the other ADD created (links, IPAM, iptables rules)', () => {
    const rigA = makeRig();
    const rigB = makeRig();
    const extra = { isGateway: true, ipMasq: true };
    for (const [rig, adder, deleter] of [
      [rigA, OURS, REF],
      [rigB, REF, OURS],
    ] as const) {
      const add = run(rig, 'ADD', conf(rig, extra), { bin: adder });
      expect(add.status).toBe(0);
      expect(natRules(rig.node, 4).length).toBeGreaterThan(0);
      // Both implementations keep host-local's files and read each other's.
      const check = run(rig, 'CHECK', { ...conf(rig, extra), prevResult: add.json }, { bin: deleter });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.status).toBe(0);
      const del = run(rig, 'DEL', conf(rig, extra), { bin: deleter });
      expect(del.stdout).toBe('');
      expect(del.status).toBe(0);
      expect(link(rig.containers[0]!, 'eth0')).toBeUndefined();
      expect(vethsOf(rig.node)).toEqual([]);
      expect(natRules(rig.node, 4)).toEqual([]);
      expect(natRules(rig.node, 6)).toEqual([]);
      expect(leases(rig)).toEqual([]);
    }
  });
});
