// Every bridge config key, each checked in the kernel with ip / bridge / nft / sysctl.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { execInNetns } from '../../helpers/netns.js';
import { addrs, link, sysctl, vethsOf } from '../../helpers/ip.js';
import { bridgeConf, bridgePorts, cleanupRigs, l2Conf, leases, makeRig, nftRuleset, run } from './helpers.js';

afterEach(() => cleanupRigs());

type Json = Record<string, any>;
const hostVethName = (r: Json): string => r.interfaces[1].name;

describe('bridge keys', () => {
  it('bridge defaults to cni0; an existing bridge is reused; a non-bridge of that name is an error', () => {
    const rig = makeRig(2);
    const conf = l2Conf();
    delete conf['bridge'];
    const a = run(rig, 'ADD', conf);
    expect(a.status).toBe(0);
    const cni0 = link(rig.node, 'cni0')!;
    expect(cni0.linkinfo?.info_kind).toBe('bridge');
    expect(cni0.promiscuity).toBe(0);
    const b = run(rig, 'ADD', conf, { cid: 'ctr2', container: rig.containers[1] });
    expect(b.status).toBe(0);
    expect(link(rig.node, 'cni0')!.ifindex).toBe(cni0.ifindex);

    expect(execInNetns(rig.node, 'ip', ['link', 'add', 'notabr', 'type', 'veth', 'peer', 'name', 'notabr-p']).status).toBe(0);
    const bad = run(rig, 'ADD', { ...conf, bridge: 'notabr' }, { cid: 'ctr3', ifName: 'eth1' });
    expect(bad.status).toBe(1);
    expect((bad.json as Json).msg).toBe('failed to create bridge "notabr": "notabr" already exists but is not a bridge');
  });

  it('mtu: bridge (at creation) and both veth ends', () => {
    const rig = makeRig();
    const [c] = rig.containers as [string];
    const add = run(rig, 'ADD', l2Conf({ mtu: 1400 }));
    expect(add.status).toBe(0);
    expect(link(rig.node, 'tbr0')!.mtu).toBe(1400);
    expect(link(rig.node, hostVethName(add.json as Json))!.mtu).toBe(1400);
    expect(link(c, 'eth0')!.mtu).toBe(1400);
  });

  it('hairpinMode and portIsolation are set on the port; promiscMode on the bridge; hairpin+promisc is refused', () => {
    const rig = makeRig(2);
    const add = run(rig, 'ADD', l2Conf({ hairpinMode: true, portIsolation: true }));
    expect(add.status).toBe(0);
    const port = bridgePorts(rig.node).find((p) => p.ifname === hostVethName(add.json as Json));
    expect(port).toMatchObject({ hairpin: true, isolated: true });

    const promisc = run(rig, 'ADD', l2Conf({ promiscMode: true }), { cid: 'ctr2', container: rig.containers[1] });
    expect(promisc.status).toBe(0);
    expect(link(rig.node, 'tbr0')!.flags).toContain('PROMISC');
    // CHECK compares the promisc state with the config.
    const conf2 = l2Conf({ promiscMode: true });
    expect(run(rig, 'CHECK', { ...conf2, prevResult: promisc.json }, { cid: 'ctr2', container: rig.containers[1] }).status).toBe(0);

    const both = run(rig, 'ADD', l2Conf({ promiscMode: true, hairpinMode: true }), { cid: 'ctr3', ifName: 'eth1' });
    expect(both.status).toBe(1);
    expect((both.json as Json).msg).toBe('cannot set hairpin mode and promiscuous mode at the same time');
  });

  it('MAC: CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac', () => {
    const rig = makeRig();
    const [c] = rig.containers as [string];
    const cases: Array<[Record<string, unknown>, string | undefined, string]> = [
      [{}, 'IgnoreUnknown=1;K8S_POD_NAME=x;MAC=c2:11:22:33:44:01', 'c2:11:22:33:44:01'],
      [{ args: { cni: { mac: 'C2:11:22:33:44:02' } } }, 'MAC=c2:11:22:33:44:01', 'c2:11:22:33:44:02'],
      [{ args: { cni: { mac: 'c2:11:22:33:44:02' } }, runtimeConfig: { mac: 'c2:11:22:33:44:03' } }, 'MAC=c2:11:22:33:44:01', 'c2:11:22:33:44:03'],
    ];
    for (const [extra, cniArgs, want] of cases) {
      const conf = l2Conf(extra);
      const add = run(rig, 'ADD', conf, { cniArgs });
      expect(add.stderr).toBe('');
      expect(add.status).toBe(0);
      expect(link(c, 'eth0')!.address).toBe(want);
      expect((add.json as Json).interfaces[2].mac).toBe(want);
      expect(run(rig, 'DEL', conf, { cniArgs }).status).toBe(0);
    }
    const bad = run(rig, 'ADD', l2Conf({ runtimeConfig: { mac: 'not-a-mac' } }));
    expect(bad.status).toBe(1);
    expect((bad.json as Json).code).toBe(7);
  });

  it('enabledad: accept_dad=1 and enhanced_dad=1 (default accept_dad=0)', () => {
    const rig = makeRig();
    const [c] = rig.containers as [string];
    const conf = bridgeConf(rig, { enabledad: true });
    expect(run(rig, 'ADD', conf).status).toBe(0);
    expect(sysctl(c, 'net.ipv6.conf.eth0.accept_dad')).toBe('1');
    expect(sysctl(c, 'net.ipv6.conf.eth0.enhanced_dad')).toBe('1');
  });

  it('disableContainerInterface: container end stays down; refused with IPAM', () => {
    const rig = makeRig();
    const [c] = rig.containers as [string];
    const add = run(rig, 'ADD', l2Conf({ disableContainerInterface: true }));
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    expect(link(c, 'eth0')!.flags).not.toContain('UP');
    expect(run(rig, 'DEL', l2Conf({ disableContainerInterface: true })).status).toBe(0);

    const withIpam = run(rig, 'ADD', bridgeConf(rig, { disableContainerInterface: true }));
    expect(withIpam.status).toBe(1);
    expect((withIpam.json as Json).msg).toBe('cannot use IPAM when DisableContainerInterface flag is set');
    expect(leases(rig)).toEqual([]);
  });

  it('forceAddress: a different bridge address is an error, or is replaced', () => {
    const rig = makeRig(2);
    expect(execInNetns(rig.node, 'ip', ['link', 'add', 'tbr0', 'type', 'bridge']).status).toBe(0);
    expect(execInNetns(rig.node, 'ip', ['addr', 'add', '10.77.9.1/24', 'dev', 'tbr0']).status).toBe(0);
    const conf = bridgeConf(rig, { isGateway: true });
    const refused = run(rig, 'ADD', conf);
    expect(refused.status).toBe(1);
    expect((refused.json as Json).msg).toBe('failed to set bridge addr: "tbr0" already has an IP address different from 10.77.1.1/24');
    // The config disagrees with the node: code 7, not 999 (the reference's bare error).
    expect((refused.json as Json).code).toBe(7);
    // Failed after IPAM: the address was released and the veth removed.
    expect(leases(rig)).toEqual([]);
    expect(vethsOf(rig.node)).toEqual([]);
    expect(link(rig.containers[0]!, 'eth0')).toBeUndefined();

    const forced = run(rig, 'ADD', { ...conf, forceAddress: true }, { container: rig.containers[1] });
    expect(forced.stdout).toContain('"10.77.1.1"');
    expect(forced.status).toBe(0);
    expect(addrs(rig.node, 'tbr0')).toEqual(['10.77.1.1/24']);
  });

  it('IPv6 gateways: a non-overlapping one is added beside, an overlapping one refused', () => {
    const rig = makeRig(2);
    expect(execInNetns(rig.node, 'ip', ['link', 'add', 'tbr0', 'type', 'bridge']).status).toBe(0);
    expect(execInNetns(rig.node, 'ip', ['addr', 'add', '2001:db8:77:1::1/64', 'dev', 'tbr0', 'nodad']).status).toBe(0);
    const ok = run(rig, 'ADD', bridgeConf(rig, { isGateway: true }, [[{ subnet: '2001:db8:77:2::/64' }]]));
    expect(ok.status).toBe(0);
    expect(addrs(rig.node, 'tbr0').sort()).toEqual(['2001:db8:77:1::1/64', '2001:db8:77:2::1/64']);
    const overlap = run(rig, 'ADD', bridgeConf(rig, { name: 'other', isGateway: true }, [[{ subnet: '2001:db8:77::/48' }]]), {
      container: rig.containers[1],
    });
    expect(overlap.status).toBe(1);
    expect((overlap.json as Json).msg).toContain('already has an IP address different from 2001:db8:77::1/48');
  });

  it('macspoofchk: nft bridge nat chains and rules, removed by DEL', () => {
    const rig = makeRig();
    const conf = l2Conf({ macspoofchk: true });
    const add = run(rig, 'ADD', conf, { cid: 'dummy-0' });
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    const r = add.json as Json;
    const rules = nftRuleset(rig.node).filter((o) => o['rule']).map((o) => o['rule'] as Json);
    const chains = nftRuleset(rig.node).filter((o) => o['chain']).map((o) => o['chain'] as Json);
    expect(chains.find((ch) => ch.name === 'PREROUTING')).toMatchObject({ family: 'bridge', table: 'nat', type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' });
    const by = (chain: string): Json[] => rules.filter((x) => x.chain === chain);
    expect(by('PREROUTING')).toHaveLength(1);
    expect(by('cni-br-iface-dummy-0-eth0')).toHaveLength(1);
    expect(by('cni-br-iface-dummy-0-eth0-mac')).toHaveLength(2);
    for (const x of rules) expect(x.comment).toBe('macspoofchk-dummy-0-eth0');
    expect(JSON.stringify(by('PREROUTING')[0]!.expr)).toContain(r.interfaces[1].name);
    expect(JSON.stringify(by('cni-br-iface-dummy-0-eth0-mac')[0]!.expr)).toContain(r.interfaces[2].mac);

    expect(run(rig, 'DEL', conf, { cid: 'dummy-0' }).status).toBe(0);
    const after = nftRuleset(rig.node);
    expect(after.filter((o) => o['rule'])).toEqual([]);
    expect(after.filter((o) => o['chain'] && String((o['chain'] as Json).name).startsWith('cni-br-iface'))).toEqual([]);
  });

  it('dns: the conf dns when any field is set, else the IPAM dns', () => {
    const rig = makeRig();
    const resolv = `${rig.dataDir}/resolv.conf`;
    fs.writeFileSync(resolv, 'nameserver 192.0.2.53\nsearch example.test\n');
    const conf = bridgeConf(rig);
    (conf['ipam'] as Json)['resolvConf'] = resolv;
    const fromIpam = run(rig, 'ADD', conf);
    expect(fromIpam.status).toBe(0);
    expect((fromIpam.json as Json).dns).toEqual({ nameservers: ['192.0.2.53'], search: ['example.test'] });
    expect(run(rig, 'DEL', conf).status).toBe(0);

    // An empty list counts as set: it replaces the IPAM DNS (and an empty DNS is not printed at 1.x).
    const emptied = run(rig, 'ADD', { ...conf, dns: { nameservers: [] } });
    expect(emptied.status).toBe(0);
    expect((emptied.json as Json).dns).toBeUndefined();
    expect(run(rig, 'DEL', conf).status).toBe(0);

    const withConf = run(rig, 'ADD', { ...conf, dns: { domain: 'conf.test', options: ['ndots:2'] } });
    expect(withConf.status).toBe(0);
    expect((withConf.json as Json).dns).toEqual({ domain: 'conf.test', options: ['ndots:2'] });
  });

  it('vlan range and trunk validation messages', () => {
    const rig = makeRig();
    for (const [extra, msg] of [
      [{ vlan: 5000 }, 'invalid VLAN ID 5000 (must be between 0 and 4094)'],
      [{ vlan: -100 }, 'invalid VLAN ID -100 (must be between 0 and 4094)'],
      [{ vlanTrunk: [{ minID: 10 }] }, 'minID and maxID should be configured simultaneously, maxID is missing'],
      [{ vlanTrunk: [{ id: 0 }] }, 'incorrect trunk id parameter'],
    ] as const) {
      const r = run(rig, 'ADD', l2Conf(extra));
      expect(r.status).toBe(1);
      expect(r.json).toEqual({ code: 7, msg });
    }
    expect(link(rig.node, 'tbr0')).toBeUndefined();
  });
});
