// vlan / vlanTrunk / preserveDefaultVlan in the kernel. They need bridge VLAN filtering
// (CONFIG_BRIDGE_VLAN_FILTERING); on a kernel without it the kernel tests are skipped with that
// reason, and what can still be verified is: the ADD fails cleanly, leaving nothing behind.
// Validation and the netlink messages are unit-tested (test/unit/bridge).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, removeNetns } from '../../helpers/netns.js';
import { addrs, link, links, vethsOf } from '../../helpers/ip.js';
import { bridgeConf, cleanupRigs, kernelHasBridgeVlanFiltering, l2Conf, leases, makeRig, run } from './helpers.js';

afterEach(() => cleanupRigs());

type Json = Record<string, any>;
let vlanFiltering = false;
const MISSING = 'kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): vlan, vlanTrunk, preserveDefaultVlan cannot be exercised';

beforeAll(() => {
  const probe = createNetns('tscni-br-probe');
  try {
    vlanFiltering = kernelHasBridgeVlanFiltering(probe);
  } finally {
    removeNetns(probe);
  }
});

interface BridgeVlan { ifname: string; vlans: Array<{ vlan: number; flags?: string[] }> }
const portVlans = (ns: string, port: string): BridgeVlan['vlans'] => {
  const out = execInNetns(ns, 'bridge', ['-j', 'vlan', 'show']).stdout.trim();
  return ((out ? JSON.parse(out) : []) as BridgeVlan[]).find((e) => e.ifname === port)?.vlans ?? [];
};

describe('bridge vlan (kernel)', () => {
  it('without VLAN filtering in the kernel, a vlan ADD fails and leaves nothing behind', (ctx) => {
    if (vlanFiltering) ctx.skip('this kernel has bridge VLAN filtering: the failure path cannot be provoked');
    const rig = makeRig();
    const add = run(rig, 'ADD', bridgeConf(rig, { vlan: 100, isGateway: true }));
    expect(add.status).toBe(1);
    expect((add.json as Json).msg).toMatch(/^failed to create bridge "tbr0": could not add "tbr0": .*EOPNOTSUPP/);
    expect(link(rig.node, 'tbr0')).toBeUndefined();
    expect(link(rig.containers[0]!, 'eth0')).toBeUndefined();
    expect(vethsOf(rig.node)).toEqual([]);
    expect(leases(rig)).toEqual([]);
  });

  it('vlan 100 (L2): PVID untagged on the port, VLAN filtering on, default VLAN removed', (ctx) => {
    if (!vlanFiltering) ctx.skip(MISSING);
    const rig = makeRig();
    const add = run(rig, 'ADD', l2Conf({ vlan: 100 }));
    expect(add.status).toBe(0);
    const port = (add.json as Json).interfaces[1].name;
    expect(link(rig.node, 'tbr0')!.linkinfo?.info_data?.['vlan_filtering']).toBe(1);
    expect(portVlans(rig.node, port)).toEqual([{ vlan: 100, flags: ['PVID', 'Egress Untagged'] }]);
  });

  it('vlan 100 with isGateway: <bridge>.100 gateway interface carries the address', (ctx) => {
    if (!vlanFiltering) ctx.skip(MISSING);
    const rig = makeRig();
    const add = run(rig, 'ADD', bridgeConf(rig, { vlan: 100, isGateway: true }));
    expect(add.status).toBe(0);
    const r = add.json as Json;
    expect(r.interfaces).toHaveLength(4);
    expect(r.interfaces[3].name).toBe('tbr0.100');
    expect(addrs(rig.node, 'tbr0.100')).toEqual(['10.77.1.1/24']);
    expect(links(rig.node)).toHaveLength(5);
  });

  it('vlanTrunk {id:101},{200..210}: tagged VIDs, VLAN 1 native', (ctx) => {
    if (!vlanFiltering) ctx.skip(MISSING);
    const rig = makeRig();
    const add = run(rig, 'ADD', l2Conf({ vlanTrunk: [{ id: 101 }, { minID: 200, maxID: 210 }] }));
    expect(add.status).toBe(0);
    const vids = portVlans(rig.node, (add.json as Json).interfaces[1].name).map((v) => v.vlan);
    expect(vids).toEqual([1, 101, ...Array.from({ length: 11 }, (_, i) => 200 + i)]);
  });
});
