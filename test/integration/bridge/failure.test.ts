// A failed ADD leaves nothing of the attachment behind: no veth on either side, no IPAM
// allocation, no masquerade or spoof-check rule.
import { afterEach, describe, expect, it } from 'vitest';
import { execInNetns } from '../../helpers/netns.js';
import { link, vethsOf } from '../../helpers/ip.js';
import { bridgeConf, cleanupRigs, leases, makeRig, natRules, nftRuleset, run } from './helpers.js';

afterEach(() => cleanupRigs());

type Json = Record<string, any>;

const spoofChains = (ns: string): string[] =>
  nftRuleset(ns)
    .filter((o) => o['chain'] && String((o['chain'] as Json).name).startsWith('cni-br-iface-'))
    .map((o) => String((o['chain'] as Json).name));

describe('bridge ADD failures', () => {
  it('IPAM range exhausted: the second container gets nothing', () => {
    const rig = makeRig(2);
    const [c1, c2] = rig.containers as [string, string];
    const conf = bridgeConf(rig, { ipMasq: true, macspoofchk: true, isGateway: true }, [
      [{ subnet: '10.77.5.0/24', rangeStart: '10.77.5.2', rangeEnd: '10.77.5.2' }],
    ]);
    expect(run(rig, 'ADD', conf, { cid: 'first', container: c1 }).status).toBe(0);
    const before = { veths: vethsOf(rig.node).map((l) => l.ifname), nat: natRules(rig.node), spoof: spoofChains(rig.node) };
    const second = run(rig, 'ADD', conf, { cid: 'second', container: c2 });
    expect(second.status).toBe(1);
    expect((second.json as Json).msg).toContain('no IP addresses available in range set');
    expect(link(c2, 'eth0')).toBeUndefined();
    expect(vethsOf(rig.node).map((l) => l.ifname)).toEqual(before.veths);
    expect(natRules(rig.node)).toEqual(before.nat);
    expect(spoofChains(rig.node)).toEqual(before.spoof);
    expect(leases(rig)).toEqual(['10.77.5.2']);
  });

  it('interface name already taken in the container: nothing is created', () => {
    const rig = makeRig();
    const [c] = rig.containers as [string];
    expect(execInNetns(c, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']).status).toBe(0);
    const conf = bridgeConf(rig, { ipMasq: true, macspoofchk: true });
    const add = run(rig, 'ADD', conf);
    expect(add.status).toBe(1);
    expect((add.json as Json).msg).toMatch(/^container veth name \("eth0"\) peer provided \("veth[0-9a-f]{8}"\) already exists$/);
    expect(vethsOf(rig.node)).toEqual([]);
    expect(leases(rig)).toEqual([]);
    expect(natRules(rig.node)).toEqual([]);
    expect(spoofChains(rig.node)).toEqual([]);
    // The existing interface is left alone.
    expect(link(c, 'eth0')?.linkinfo?.info_kind).toBe('veth');
    expect(link(c, 'other0')).toBeDefined();
  });

  it('failure after IPAM, masquerade and spoof-check were set up: all of it is undone', () => {
    const rig = makeRig();
    const [c] = rig.containers as [string];
    expect(execInNetns(rig.node, 'ip', ['link', 'add', 'tbr0', 'type', 'bridge']).status).toBe(0);
    expect(execInNetns(rig.node, 'ip', ['addr', 'add', '10.77.6.1/24', 'dev', 'tbr0']).status).toBe(0);
    for (const backend of ['iptables', 'nftables']) {
      const conf = bridgeConf(rig, { isGateway: true, ipMasq: true, ipMasqBackend: backend, macspoofchk: true }, [[{ subnet: '10.77.7.0/24' }]]);
      const add = run(rig, 'ADD', conf);
      expect(add.status).toBe(1);
      expect((add.json as Json).msg).toContain('already has an IP address different from 10.77.7.1/24');
      expect(link(c, 'eth0')).toBeUndefined();
      expect(vethsOf(rig.node)).toEqual([]);
      expect(leases(rig)).toEqual([]);
      expect(natRules(rig.node)).toEqual([]);
      expect(spoofChains(rig.node)).toEqual([]);
      const masq = nftRuleset(rig.node).filter((o) => o['rule'] && (o['rule'] as Json).chain === 'masq_checks');
      expect(masq).toEqual([]);
    }
  });

  it('a netns path that is not a network namespace: code 8, nothing created', () => {
    const rig = makeRig();
    const add = run(rig, 'ADD', bridgeConf(rig), { netnsPath: '/proc/self/ns/mnt' });
    expect(add.status).toBe(1);
    expect((add.json as Json).code).toBe(8);
    expect(vethsOf(rig.node)).toEqual([]);
    expect(leases(rig)).toEqual([]);
  });
});
