// vlan: config validation and the link request (this kernel has no 802.1q module).
import { describe, expect, it } from 'vitest';
import * as C from '../../../shared/netlink/constants.js';
import { buildVlan } from '../../../shared/netlink/link-build.js';
import { attrString, attrU16, attrU32 } from '../../../shared/netlink/message.js';
import { loadConf, vlanRequest } from '../../../plugins/vlan/index.js';
import { linkRequest } from '../../helpers/link-request.js';

const base = { cniVersion: '1.0.0', name: 'n', type: 'vlan', master: 'eth0', vlanId: 100, ipam: { type: 'host-local' } };
const j = (o: unknown): string => JSON.stringify(o);

describe('vlan config', () => {
  it('master is required, with the reference message', () => {
    expect(() => loadConf(j({ ...base, master: undefined }))).toThrow('"master" field is required. It specifies the host interface name to create the VLAN for.');
  });

  it('vlanId must be 0..4094', () => {
    for (const id of [-100, 4095, 5000]) {
      expect(() => loadConf(j({ ...base, vlanId: id }))).toThrow(`invalid VLAN ID ${id} (must be between 0 and 4095 inclusive)`);
    }
    expect(loadConf(j({ ...base, vlanId: 0 })).vlanId).toBe(0);
    expect(loadConf(j({ ...base, vlanId: 4094 })).vlanId).toBe(4094);
  });

  it('ipam is required', () => {
    expect(() => loadConf(j({ ...base, ipam: undefined }))).toThrow(/vlan requires an IPAM configuration/);
    expect(() => loadConf(j({ ...base, ipam: {} }))).toThrow(/vlan requires an IPAM configuration/);
  });
});

describe('vlan link request', () => {
  it('kind vlan over the master with the id and mtu, in the container netns', () => {
    const { conf, vlanId } = loadConf(j({ ...base, mtu: 1400 }));
    const { a, info, data } = linkRequest(buildVlan(vlanRequest(conf, vlanId, 4, 'vethaabbccdd', 11), 11).finish(1));
    expect(attrString(a.get(C.IFLA_IFNAME))).toBe('vethaabbccdd');
    expect(attrU32(a.get(C.IFLA_LINK))).toBe(4);
    expect(attrU32(a.get(C.IFLA_MTU))).toBe(1400);
    expect(attrU32(a.get(C.IFLA_NET_NS_FD))).toBe(11);
    expect(attrString(info.get(C.IFLA_INFO_KIND))).toBe('vlan');
    expect(attrU16(data?.get(C.IFLA_VLAN_ID))).toBe(100);
  });

  it('mtu 0 inherits the master MTU (no IFLA_MTU)', () => {
    const { conf, vlanId } = loadConf(j(base));
    const { a } = linkRequest(buildVlan(vlanRequest(conf, vlanId, 4, 'x0'), undefined).finish(1));
    expect(a.has(C.IFLA_MTU)).toBe(false);
    expect(a.has(C.IFLA_NET_NS_FD)).toBe(false);
  });
});
