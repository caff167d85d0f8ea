// macvlan config rules and the link request it builds (bcqueuelen included).
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../shared/cni/errors.js';
import * as C from '../../../shared/netlink/constants.js';
import { attrString, attrU32 } from '../../../shared/netlink/message.js';
import type { Link } from '../../../shared/netlink/index.js';
import { macvlanOptions, parseMode } from '../../../plugins/macvlan/index.js';
import { checkMtu, chooseMac } from '../../../plugins/macvlan/lib.js';
import { buildMacvlan } from '../../../shared/netlink/link-build.js';
import { linkRequest } from '../../helpers/link-request.js';

const master = { mtu: 1500, name: 'eth0', index: 7 } as Link;

describe('macvlan config', () => {
  it('mode: default bridge, the four reference modes, anything else refused (code 7)', () => {
    expect(parseMode(undefined)).toBe('bridge');
    expect(parseMode('')).toBe('bridge');
    for (const m of ['bridge', 'private', 'vepa', 'passthru']) expect(parseMode(m)).toBe(m);
    expect(() => parseMode('source')).toThrow('unknown macvlan mode: "source"');
    try {
      parseMode('x');
    } catch (e) {
      expect((e as CniError).code).toBe(7);
    }
  });

  it('mtu must lie within [0, master MTU]', () => {
    expect(() => checkMtu(undefined, master)).not.toThrow();
    expect(() => checkMtu(1500, master)).not.toThrow();
    expect(() => checkMtu(1501, master)).toThrow('invalid MTU 1501, must be [0, master MTU(1500)]');
    expect(() => checkMtu(-1, master)).toThrow('invalid MTU -1, must be [0, master MTU(1500)]');
  });

  it('MAC precedence: runtimeConfig.mac > CNI_ARGS MAC > conf mac; bad MACs and bad CNI_ARGS refused', () => {
    expect(chooseMac({}, '')).toBeUndefined();
    expect(chooseMac({ mac: 'C2:11:22:33:44:01' }, '')).toBe('c2:11:22:33:44:01');
    expect(chooseMac({ mac: 'c2:11:22:33:44:01' }, 'MAC=c2:11:22:33:44:02')).toBe('c2:11:22:33:44:02');
    expect(chooseMac({ mac: 'c2:11:22:33:44:01', runtimeConfig: { mac: 'c2:11:22:33:44:03' } }, 'MAC=c2:11:22:33:44:02')).toBe('c2:11:22:33:44:03');
    expect(() => chooseMac({ mac: 'zz' }, '')).toThrow(/^invalid args zz for MAC addr/);
    expect(() => chooseMac({}, 'K8S_POD_NAME=x')).toThrow('ARGS: unknown args ["K8S_POD_NAME=x"]');
    expect(chooseMac({}, 'IgnoreUnknown=1;K8S_POD_NAME=x')).toBeUndefined();
  });
});

describe('macvlan link request', () => {
  it('carries kind, master, mode, mtu, mac, target netns and the broadcast queue length', () => {
    const conf = { cniVersion: '1.0.0', name: 'n', mtu: 1400, bcqueuelen: 321 };
    const msg = buildMacvlan(macvlanOptions(conf, 'veth0011aabb', 7, 'private', 'c2:11:22:33:44:55'), 12).finish(1);
    const { a, info, data } = linkRequest(msg);
    expect(attrString(a.get(C.IFLA_IFNAME))).toBe('veth0011aabb');
    expect(attrU32(a.get(C.IFLA_LINK))).toBe(7);
    expect(attrU32(a.get(C.IFLA_MTU))).toBe(1400);
    expect(attrU32(a.get(C.IFLA_NET_NS_FD))).toBe(12);
    expect(Buffer.from(a.get(C.IFLA_ADDRESS) as Buffer).toString('hex')).toBe('c21122334455');
    expect(attrString(info.get(C.IFLA_INFO_KIND))).toBe('macvlan');
    expect(attrU32(data?.get(C.IFLA_MACVLAN_MODE))).toBe(1);
    expect(attrU32(data?.get(C.IFLA_MACVLAN_BC_QUEUE_LEN))).toBe(321);
  });

  it('leaves out mtu, mac, netns and bcqueuelen when unset or zero (kernel defaults)', () => {
    const conf = { cniVersion: '1.0.0', name: 'n', mtu: 0, bcqueuelen: 0 };
    const { a, data } = linkRequest(buildMacvlan(macvlanOptions(conf, 'x0', 3, 'bridge', undefined)).finish(1));
    expect(a.has(C.IFLA_MTU)).toBe(false);
    expect(a.has(C.IFLA_ADDRESS)).toBe(false);
    expect(a.has(C.IFLA_NET_NS_FD)).toBe(false);
    expect(attrU32(data?.get(C.IFLA_MACVLAN_MODE))).toBe(4);
    expect(data?.has(C.IFLA_MACVLAN_BC_QUEUE_LEN)).toBe(false);
  });
});
