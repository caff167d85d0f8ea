// ipvlan: config validation and the link request (this kernel has no ipvlan, so the bytes are
// what can be tested; test/integration/ipvlan runs the binary where the kernel has it).
import { describe, expect, it } from 'vitest';
import * as C from '../../../shared/netlink/constants.js';
import { buildIpvlan } from '../../../shared/netlink/link-build.js';
import { attrString, attrU16, attrU32 } from '../../../shared/netlink/message.js';
import { ipvlanRequest, loadConf, parseIpvlanMode } from '../../../plugins/ipvlan/index.js';
import { linkRequest } from '../../helpers/link-request.js';

const base = { cniVersion: '1.0.0', name: 'n', type: 'ipvlan', master: 'eth0', ipam: { type: 'host-local' } };
const j = (o: unknown): string => JSON.stringify(o);

describe('ipvlan config', () => {
  it('mode: default l2; l2, l3, l3s; others refused', () => {
    expect(parseIpvlanMode(undefined)).toBe('l2');
    expect(parseIpvlanMode('l3s')).toBe('l3s');
    expect(() => parseIpvlanMode('l4')).toThrow('unknown ipvlan mode: "l4"');
  });

  it('needs ipam, or chained IPs', () => {
    expect(() => loadConf(j({ ...base, ipam: undefined }), undefined)).toThrow(/needs an "ipam" configuration/);
    const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'net1' }], ips: [{ address: '10.1.2.2/24', interface: 0 }] };
    const chained = loadConf(j({ ...base, ipam: undefined, master: undefined }), prev);
    expect(chained.master).toBe('net1');
  });

  it('chained without master needs exactly one prevResult interface', () => {
    const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'a' }, { name: 'b' }], ips: [{ address: '10.1.2.2/24' }] };
    expect(() => loadConf(j({ ...base, master: undefined }), prev)).toThrow(/^chained master failure/);
    expect(loadConf(j({ ...base, master: undefined }), undefined).master).toBeUndefined();
  });

  it('types are strict and keys case-insensitive', () => {
    expect(() => loadConf(j({ ...base, mtu: '1500' }), undefined)).toThrow(/mtu/);
    expect(loadConf(j({ ...base, MODE: 'l3' }), undefined).mode).toBe('l3');
  });
});

describe('ipvlan link request', () => {
  it('kind ipvlan over the master, mode and bridge flag, mtu, created in the container netns', () => {
    const opts = ipvlanRequest({ cniVersion: '1.0.0', name: 'n', mtu: 1400 }, 'l3', 5, 'veth01020304', 9);
    const { a, info, data } = linkRequest(buildIpvlan(opts, 9).finish(1));
    expect(attrString(a.get(C.IFLA_IFNAME))).toBe('veth01020304');
    expect(attrU32(a.get(C.IFLA_LINK))).toBe(5);
    expect(attrU32(a.get(C.IFLA_MTU))).toBe(1400);
    expect(attrU32(a.get(C.IFLA_NET_NS_FD))).toBe(9);
    expect(attrString(info.get(C.IFLA_INFO_KIND))).toBe('ipvlan');
    expect(attrU16(data?.get(C.IFLA_IPVLAN_MODE))).toBe(1);
    expect(attrU16(data?.get(C.IFLA_IPVLAN_FLAGS))).toBe(0);
  });

  it('linkInContainer: no netns fd, no mtu when 0', () => {
    const opts = ipvlanRequest({ cniVersion: '1.0.0', name: 'n', mtu: 0 }, 'l2', 5, 'x0');
    expect(opts).toEqual({ name: 'x0', masterIndex: 5, mode: 'l2' });
  });
});
