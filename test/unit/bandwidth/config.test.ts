// bandwidth config decoding and checks (reference messages, code 7 naming key and value), names, alias, subnet keys.
import { describe, expect, it } from 'vitest';
import { cniErrorOf } from '../../helpers/cni-error.js';
import { parseCIDR } from '../../../shared/ip/index.js';
import { loadConf, withSubnets } from '../../../plugins/bandwidth/config.js';
import { formatIfbAlias, ifbName, parseIfbAlias } from '../../../plugins/bandwidth/ifb.js';
import { subnetKeys } from '../../../plugins/bandwidth/shaping.js';

const load = (c: Record<string, unknown>) => loadConf({ stdinData: Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'bandwidth', ...c })) });
const err = cniErrorOf;

describe('bandwidth config', () => {
  it('rate without burst, burst without rate, burst over 4GB: reference messages, code 7, key and value in details', () => {
    const a = err(() => load({ ingressRate: 1000 }));
    expect([a.code, a.msg, a.details]).toEqual([7, 'if rate is set, burst must also be set', 'ingressRate=1000, ingressBurst=0']);
    const b = err(() => load({ egressBurst: 1000 }));
    expect([b.code, b.msg, b.details]).toEqual([7, 'if burst is set, rate must also be set', 'egressRate=0, egressBurst=1000']);
    const c = err(() => load({ egressRate: 1, egressBurst: 8 * 0xffffffff }));
    expect([c.code, c.msg]).toEqual([7, 'burst cannot be more than 4GB']);
    expect(load({ egressRate: 1, egressBurst: 8 * 0xffffffff - 1 }).bandwidth?.egress).toEqual({ rateBits: 1, burstBits: 8 * 0xffffffff - 1 });
    const d = err(() => load({ runtimeConfig: { bandwidth: { ingressRate: 5 } } }));
    expect(d.details).toBe('runtimeConfig.bandwidth.ingressRate=5, runtimeConfig.bandwidth.ingressBurst=0');
  });

  it('negative or fractional values are decode errors (Go uint64), code 7 naming the key', () => {
    const e = err(() => load({ ingressRate: -1, ingressBurst: 8 }));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('ingressRate');
  });

  it('static keys win over runtimeConfig, even a lone subnet list; runtimeConfig used when none is present', () => {
    expect(load({ ingressRate: 8, ingressBurst: 8, runtimeConfig: { bandwidth: { egressRate: 16, egressBurst: 16 } } }).bandwidth).toMatchObject({ ingress: { rateBits: 8 }, keyPrefix: '' });
    expect(load({ shapedSubnets: ['10.34.0.0/16'], runtimeConfig: { bandwidth: { egressRate: 16, egressBurst: 16 } } }).bandwidth).toBeUndefined();
    const rt = load({ runtimeConfig: { bandwidth: { egressRate: 16, egressBurst: 16 } } }).bandwidth;
    expect(rt).toMatchObject({ egress: { rateBits: 16, burstBits: 16 }, keyPrefix: 'runtimeConfig.bandwidth.' });
    expect(rt?.ingress).toBeUndefined();
    expect(load({ IngressRate: 8, INGRESSBURST: 8 }).bandwidth?.ingress).toEqual({ rateBits: 8, burstBits: 8 }); // Go's case-insensitive keys
    // The reference's integration conflists spell the capability `bandWidth` (Go matches keys case-insensitively).
    expect(load({ runtimeConfig: { bandWidth: { egressRate: 16, egressBurst: 16 } } }).bandwidth?.egress).toEqual({ rateBits: 16, burstBits: 16 });
    expect(load({}).bandwidth).toBeUndefined();
    expect(load({ ingressRate: 0, ingressBurst: 0 }).bandwidth).toBeUndefined();
  });

  it('subnets: exclusive, valid CIDRs (checked only when there is something to shape)', () => {
    const both = err(() => withSubnets(load({ egressRate: 8, egressBurst: 8, unshapedSubnets: ['10.0.0.0/8'], shapedSubnets: ['fd34::/48'] })));
    expect([both.code, both.msg]).toEqual([7, 'unshapedSubnets and shapedSubnets cannot be both specified, one of them should be discarded']);
    expect(both.details).toContain('unshapedSubnets=["10.0.0.0/8"]');
    const bad = err(() => withSubnets(load({ runtimeConfig: { bandwidth: { egressRate: 8, egressBurst: 8, shapedSubnets: ['10.0.0.0/8', 'nope'] } } })));
    expect([bad.code, bad.msg, bad.details]).toEqual([7, 'bad subnet "nope" provided, details invalid CIDR address: nope', 'runtimeConfig.bandwidth.shapedSubnets[1]="nope"']);
    expect(withSubnets(load({ unshapedSubnets: ['nope'] }))).toBeUndefined();
    expect(withSubnets(load({ egressRate: 8, egressBurst: 8, unshapedSubnets: ['10.34.0.0/16'] }))?.unshaped).toHaveLength(1);
  });
});

describe('names', () => {
  it('ifb name: bwp + sha512(network+containerID), 15 chars (value the Go 1.1.1 plugin printed)', () => {
    expect(ifbName('bwnet', 'c1')).toBe('bwp459546d14214');
  });

  it('alias round trip; foreign or short aliases are not ours; too long -> no alias', () => {
    const o = { network: 'net-1', containerID: 'abc', ifName: 'eth0', hostVeth: 'veth1234' };
    const a = formatIfbAlias(o);
    expect(a).toBe('tscni bandwidth net=net-1 id=abc if=eth0 host=veth1234');
    expect(parseIfbAlias(a)).toEqual(o);
    expect(parseIfbAlias('something else')).toBeUndefined();
    expect(parseIfbAlias('tscni bandwidth net=x id=y')).toBeUndefined();
    expect(parseIfbAlias(undefined)).toBeUndefined();
    expect(formatIfbAlias({ ...o, containerID: 'c'.repeat(250) })).toBeUndefined();
  });
});

describe('subnet keys (u32 dst match)', () => {
  it('IPv4: one key at offset 16, prio 16, ETH_P_IP; /0 gives no key (match all)', () => {
    expect(subnetKeys(parseCIDR('10.34.1.7/16')!)).toEqual({ protocol: 0x0800, priority: 16, keys: [{ mask: 0xffff0000, val: 0x0a220000, off: 16 }] });
    expect(subnetKeys(parseCIDR('0.0.0.0/0')!).keys).toEqual([]);
  });

  it('IPv6: words at 24..36, zero-mask words skipped, prio 15', () => {
    expect(subnetKeys(parseCIDR('fd34::/48')!)).toEqual({
      protocol: 0x86dd,
      priority: 15,
      keys: [{ mask: 0xffffffff, val: 0xfd340000, off: 24 }, { mask: 0xffff0000, val: 0, off: 28 }],
    });
    expect(subnetKeys(parseCIDR('fd34::1/128')!).keys.map((k) => k.off)).toEqual([24, 28, 32, 36]);
  });
});
