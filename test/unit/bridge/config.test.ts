// bridge config decoding: defaults of the latest reference, validation messages, MAC precedence,
// gateway computation (calcGateways).
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../shared/cni/errors.js';
import type { IPConfig, Route } from '../../../shared/cni/types.js';
import { calcGateways, gatewayFor } from '../../../plugins/bridge/add.js';
import { loadConf, normalizeMac, validateForAdd, wantsVlanFiltering } from '../../../plugins/bridge/config.js';

const base = { cniVersion: '1.1.0', name: 'net', type: 'bridge' };
const load = (extra: Record<string, unknown>, cniArgs = ''): ReturnType<typeof loadConf> => loadConf(JSON.stringify({ ...base, ...extra }), cniArgs);
const errorOf = (fn: () => unknown): CniError => {
  try {
    fn();
  } catch (e) {
    return e as CniError;
  }
  throw new Error('no error');
};

describe('loadConf', () => {
  it('ignores runtimeConfig keys it does not read, whatever their shape (podman sends aliases as a map)', () => {
    const c = load({ runtimeConfig: { aliases: { net: ['web', 'c1'] }, portMappings: 'not-a-list', mac: 'c2:11:22:33:44:55' } });
    expect(c.mac).toBe('c2:11:22:33:44:55');
    // A key it does read is still checked.
    expect(errorOf(() => load({ runtimeConfig: { mac: 42 } })).code).toBe(7);
  });

  it('defaults', () => {
    const c = load({});
    expect(c).toMatchObject({
      bridge: 'cni0', isGateway: false, isDefaultGateway: false, forceAddress: false, ipMasq: false, mtu: 0,
      hairpinMode: false, promiscMode: false, vlan: 0, trunkVlans: [], preserveDefaultVlan: false, macspoofchk: false,
      enabledad: false, disableContainerInterface: false, portIsolation: false, ipamType: '',
    });
    expect(c.mac).toBeUndefined();
    expect(wantsVlanFiltering(c)).toBe(false);
  });

  it('isDefaultGateway implies isGateway; keys match case-insensitively as in Go', () => {
    const c = load({ IsDefaultGateway: true, BRIDGE: 'br9', ipam: { type: 'host-local' } });
    expect(c).toMatchObject({ isGateway: true, isDefaultGateway: true, bridge: 'br9', ipamType: 'host-local' });
  });

  it('vlan range', () => {
    expect(errorOf(() => load({ vlan: 5000 })).toJSON()).toEqual({ code: 7, msg: 'invalid VLAN ID 5000 (must be between 0 and 4094)' });
    expect(errorOf(() => load({ vlan: -100 })).msg).toBe('invalid VLAN ID -100 (must be between 0 and 4094)');
    expect(load({ vlan: 4094 }).vlan).toBe(4094);
  });

  it('vlanTrunk: collected, and an empty list still asks for VLAN filtering', () => {
    expect(load({ vlanTrunk: [{ id: 5 }, { minID: 1, maxID: 2 }] }).trunkVlans).toEqual([1, 2, 5]);
    expect(wantsVlanFiltering(load({ vlanTrunk: [] }))).toBe(true);
    expect(wantsVlanFiltering(load({ vlan: 3 }))).toBe(true);
    expect(errorOf(() => load({ vlanTrunk: [{ maxID: 2 }] })).msg).toBe('minID and maxID should be configured simultaneously, minID is missing');
  });

  it('type errors are config errors naming the field', () => {
    const e = errorOf(() => load({ mtu: '1500' }));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('mtu');
  });

  it('MAC precedence: runtimeConfig > args.cni > CNI_ARGS', () => {
    expect(load({}, 'MAC=c2:00:00:00:00:01').mac).toBe('c2:00:00:00:00:01');
    expect(load({ args: { cni: { mac: 'c2:00:00:00:00:02' } } }, 'MAC=c2:00:00:00:00:01').mac).toBe('c2:00:00:00:00:02');
    expect(load({ args: { cni: { mac: 'c2:00:00:00:00:02' } }, runtimeConfig: { mac: 'C2-00-00-00-00-03' } }, 'MAC=c2:00:00:00:00:01').mac).toBe('c2:00:00:00:00:03');
    // Empty values do not override.
    expect(load({ runtimeConfig: { mac: '' } }, 'MAC=c2:00:00:00:00:01').mac).toBe('c2:00:00:00:00:01');
    expect(errorOf(() => load({}, 'K8S_POD_NAME=x;MAC=c2:00:00:00:00:01')).msg).toBe('ARGS: unknown args ["K8S_POD_NAME=x"]');
    expect(load({}, 'IgnoreUnknown=1;K8S_POD_NAME=x').mac).toBeUndefined();
    expect(errorOf(() => load({ runtimeConfig: { mac: 'zz' } })).code).toBe(7);
  });

  it('normalizeMac accepts the 6-byte forms of Go net.ParseMAC', () => {
    expect(normalizeMac('C2:11:22:33:44:55')).toBe('c2:11:22:33:44:55');
    expect(normalizeMac('c2-11-22-33-44-55')).toBe('c2:11:22:33:44:55');
    expect(normalizeMac('c211.2233.4455')).toBe('c2:11:22:33:44:55');
    expect(normalizeMac('c2:11:22-33:44:55')).toBeUndefined();
    expect(normalizeMac('c2:11:22:33:44')).toBeUndefined();
  });

  it('dns: kept only when a field is set (an empty list counts)', () => {
    expect(load({ dns: {} }).dns).toBeUndefined();
    expect(load({ dns: { domain: '' } }).dns).toBeUndefined();
    expect(load({ dns: { nameservers: [] } }).dns).toEqual({ nameservers: [] });
  });
});

describe('validateForAdd', () => {
  it('IPAM with disableContainerInterface', () =>
    expect(errorOf(() => validateForAdd(load({ disableContainerInterface: true, ipam: { type: 'host-local' } }))).msg).toBe(
      'cannot use IPAM when DisableContainerInterface flag is set',
    ));
  it('hairpin with promisc', () =>
    expect(errorOf(() => validateForAdd(load({ hairpinMode: true, promiscMode: true }))).msg).toBe(
      'cannot set hairpin mode and promiscuous mode at the same time',
    ));
  it('ipMasqBackend', () => {
    expect(validateForAdd(load({ ipMasq: true }))).toBeUndefined();
    expect(validateForAdd(load({ ipMasq: true, ipMasqBackend: 'nftables' }))).toBe('nftables');
    expect(errorOf(() => validateForAdd(load({ ipMasq: true, ipMasqBackend: 'ebtables' }))).code).toBe(7);
  });
});

describe('calcGateways', () => {
  it('gatewayFor is network + 1', () => {
    expect(gatewayFor('10.1.2.77/24')).toBe('10.1.2.1');
    expect(gatewayFor('10.1.255.77/16')).toBe('10.1.0.1');
    expect(gatewayFor('2001:db8::5/64')).toBe('2001:db8::1');
  });

  it('sets interface 2, fills missing gateways, adds one default route per family', () => {
    const ips: IPConfig[] = [{ address: '10.1.2.3/24' }, { address: '10.9.0.3/16', gateway: '10.9.0.254' }, { address: '2001:db8::3/64' }];
    const routes: Route[] = [];
    const gws = calcGateways(ips, routes, { isGateway: true, isDefaultGateway: true });
    expect(ips).toEqual([
      { interface: 2, address: '10.1.2.3/24', gateway: '10.1.2.1' },
      { interface: 2, address: '10.9.0.3/16', gateway: '10.9.0.254' },
      { interface: 2, address: '2001:db8::3/64', gateway: '2001:db8::1' },
    ]);
    expect(routes).toEqual([
      { dst: '0.0.0.0/0', gw: '10.1.2.1' },
      { dst: '::/0', gw: '2001:db8::1' },
    ]);
    expect(gws).toEqual({ v4: ['10.1.2.1/24', '10.9.0.254/16'], v6: ['2001:db8::1/64'] });
  });

  it('keeps an IPAM default route that has a gateway', () => {
    const ips: IPConfig[] = [{ address: '10.1.2.3/24' }];
    const routes: Route[] = [{ dst: '0.0.0.0/0', gw: '10.1.2.99' }];
    calcGateways(ips, routes, { isGateway: true, isDefaultGateway: true });
    expect(routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.2.99' }]);
  });

  it('without isGateway: no gateway invented, none listed', () => {
    const ips: IPConfig[] = [{ address: '10.1.2.3/24' }];
    const routes: Route[] = [];
    expect(calcGateways(ips, routes, { isGateway: false, isDefaultGateway: false })).toEqual({ v4: [], v6: [] });
    expect(ips).toEqual([{ interface: 2, address: '10.1.2.3/24' }]);
  });
});
