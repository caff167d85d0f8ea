import { describe, expect, it } from 'vitest';
import { formatIP } from '../../../shared/ip/index.js';
import { type HostLocalNetConf, loadHostLocalConfig } from '../../../ipam/host-local/config.js';
import { rangeSetToString } from '../../../ipam/host-local/range.js';

const base = (ipam: HostLocalNetConf['ipam'], extra: Partial<HostLocalNetConf> = {}): HostLocalNetConf => ({
  cniVersion: '1.0.0',
  name: 'mynet',
  ipam,
  ...extra,
});
const err = (conf: HostLocalNetConf, args = '') => {
  try {
    loadHostLocalConfig(conf, args);
  } catch (e) {
    return e as { code: number; msg: string };
  }
  throw new Error('expected an error');
};

describe('host-local config', () => {
  it('fills defaults: gateway .1, start .1, end broadcast-1 / last v6 address', () => {
    const c = loadHostLocalConfig(base({ subnet: '10.1.2.0/24', ranges: [[{ subnet: '2001:db8:1::/64' }]] }), '');
    expect(c.ranges.map(rangeSetToString)).toEqual(['10.1.2.1-10.1.2.254', '2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff']);
    expect(formatIP(c.ranges[0]![0]!.gateway)).toBe('10.1.2.1');
    expect(c.dataDir).toBe('');
  });

  it('orders range sets: runtime ipRanges, legacy range, ranges', () => {
    const c = loadHostLocalConfig(
      base(
        { subnet: '10.2.0.0/24', ranges: [[{ subnet: '10.3.0.0/24' }]] },
        { runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.0/24' }]] } },
      ),
      '',
    );
    expect(c.ranges.map((s) => rangeSetToString(s).split('-')[0])).toEqual(['10.1.0.1', '10.2.0.1', '10.3.0.1']);
  });

  it('collects requested IPs from CNI_ARGS, args.cni.ips and runtimeConfig.ips, prefix ignored, deduplicated', () => {
    const c = loadHostLocalConfig(
      base({ subnet: '10.1.2.0/24' }, { args: { cni: { ips: ['10.1.2.88', '10.1.2.9/24'] } }, runtimeConfig: { ips: ['10.1.2.88/24'] } }),
      'IgnoreUnknown=1;IP=10.1.2.7;K8S_POD_NAME=x',
    );
    expect(c.requested.map(formatIP)).toEqual(['10.1.2.7', '10.1.2.88', '10.1.2.9']);
  });

  it.each<[string, HostLocalNetConf, string]>([
    ['missing ipam', { cniVersion: '1.0.0', name: 'n' }, "IPAM config missing 'ipam' key"],
    ['no ranges', base({ type: 'host-local' }), 'no IP ranges specified'],
    ['too small', base({ subnet: '10.1.2.0/31' }), 'invalid range set 0: Network 10.1.2.0/31 too small to allocate from'],
    ['host bits', base({ subnet: '10.1.2.5/24' }), 'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.1.2.0'],
    ['start outside', base({ subnet: '10.1.2.0/24', rangeStart: '10.1.3.1' }), 'invalid range set 0: RangeStart 10.1.3.1 not in network 10.1.2.0/24'],
    ['end outside', base({ subnet: '10.1.2.0/24', rangeEnd: '10.1.3.1' }), 'invalid range set 0: RangeEnd 10.1.3.1 not in network 10.1.2.0/24'],
    ['end before start', base({ subnet: '10.1.2.0/24', rangeStart: '10.1.2.50', rangeEnd: '10.1.2.40' }), 'invalid range set 0: RangeStart 10.1.2.50 not in network 10.1.2.0/24'],
    ['mixed', base({ ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '2001:db8::/64' }]] }), 'invalid range set 0: mixed address families'],
    ['overlap in set', base({ ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.1.2.0/25' }]] }), 'invalid range set 0: subnets 10.1.2.1-10.1.2.254 and 10.1.2.1-10.1.2.126 overlap'],
    ['overlap sets', base({ ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.2.128/25' }]] }), 'range set 0 overlaps with 1'],
    ['empty set', base({ ranges: [[]] }), 'invalid range set 0: empty range set'],
    ['bad subnet', base({ ranges: [[{ subnet: '10.1.2.0' }]] }), 'ipam.ranges[0][0].subnet: invalid CIDR address "10.1.2.0"'],
    ['bad gateway', base({ subnet: '10.1.2.0/24', gateway: 'x' }), 'ipam.gateway: invalid IP address "x"'],
    ['bad requested', base({ subnet: '10.1.2.0/24' }, { args: { cni: { ips: ['nope'] } } }), 'args.cni.ips[0]: invalid IP address "nope"'],
    ['v0.2 two v4', base({ ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.3.0/24' }]] }, { cniVersion: '0.2.0' }), 'CNI version 0.2.0 does not support more than 1 address per family'],
  ])('%s', (_name, conf, msg) => {
    const e = err(conf);
    expect(e.msg).toBe(msg);
    expect(e.code).toBe(7);
  });

  it('allows one address per family below 0.3.0', () => {
    expect(() => loadHostLocalConfig(base({ ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8::/64' }]] }, { cniVersion: '0.1.0' }), '')).not.toThrow();
  });

  it('rejects unknown CNI_ARGS with code 4 unless IgnoreUnknown', () => {
    expect(err(base({ subnet: '10.1.2.0/24' }), 'FOO=bar').code).toBe(4);
  });
});
