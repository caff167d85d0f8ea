// sbr without a kernel: config rules, gateway checks, address selection, table choice, which routes
// are copied, and the exact RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE bytes.
import { describe, expect, it } from 'vitest';
import { addressesOf, loadConf, parseGateways } from '../../../plugins/sbr/config.js';
import { firstFreeTable, hostPrefixOf, routesForAddress } from '../../../plugins/sbr/routing.js';
import { routeSpecInTable } from '../../../shared/netlink/index.js';
import { CniError } from '../../../shared/cni/errors.js';
import type { Route } from '../../../shared/netlink/routes.js';
import { buildListRules, buildRule, parseRule, type Rule, RTM_NEWRULE } from '../../../shared/netlink/rules.js';
import * as C from '../../../shared/netlink/constants.js';

const conf = (o: Record<string, unknown>): string => JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'sbr', ...o });
const code = (fn: () => unknown): number | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
  return undefined;
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('sbr config', () => {
  it('table, gateways and addSourceHints decode with Go semantics', () => {
    expect(loadConf(conf({})).table).toBeUndefined();
    expect(loadConf(conf({ TABLE: 5000 })).table).toBe(5000);
    expect(loadConf(conf({ table: null })).table).toBeUndefined();
    expect(loadConf(conf({ addsourcehints: true })).addSourceHints).toBe(true);
    expect(() => loadConf(conf({ table: '100' }))).toThrow(/table/);
    expect(() => loadConf(conf({ gateways: '10.0.0.1' }))).toThrow(/gateways/);
  });

  it('table outside 1..2^32-1 is code 7 naming the key and value', () => {
    expect(() => loadConf(conf({ table: 0 }))).toThrow(/table: .* got 0/);
    expect(code(() => loadConf(conf({ table: -5 })))).toBe(7);
    expect(code(() => loadConf(conf({ table: 4294967296 })))).toBe(7);
    expect(loadConf(conf({ table: 4294967295 })).table).toBe(4294967295);
  });

  it('gateways: one per family, at most two, the reference messages', () => {
    expect(parseGateways(undefined)).toEqual({});
    const g = parseGateways(['10.35.0.1', 'fd35::1']);
    expect(g.v4?.family).toBe(4);
    expect(g.v6?.family).toBe(6);
    expect(() => parseGateways(['10.35.0.1', '10.35.0.2'])).toThrow('gateways list contains multiple IPv4 addresses: 10.35.0.1 and 10.35.0.2');
    expect(() => parseGateways(['fd35::1', 'fd35::2'])).toThrow('gateways list contains multiple IPv6 addresses: fd35::1 and fd35::2');
    expect(() => parseGateways(['10.35.0.1', 'fd35::1', '10.35.0.3'])).toThrow('gateways list cannot contain more than 2 entries (one IPv4, one IPv6)');
    expect(() => parseGateways(['nope'])).toThrow('invalid static gateway IP address: nope');
    expect(code(() => parseGateways(['nope']))).toBe(7);
  });
});

describe('sbr address selection', () => {
  const prev = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0' }, { name: 'net1', sandbox: '/x' }],
    ips: [
      { interface: 0, address: '10.35.1.2/24' },
      { interface: 1, address: '10.35.2.2/24', gateway: '10.35.2.1' },
      { address: '10.35.3.2/24' },
      { interface: 7, address: '10.35.4.2/24' },
    ],
  };
  it('keeps the addresses of CNI_IFNAME, those without an interface and those with an index out of range, in order', () => {
    expect(addressesOf(prev, 'net1').map((i) => i.address)).toEqual(['10.35.2.2/24', '10.35.3.2/24', '10.35.4.2/24']);
    expect(addressesOf(prev, 'eth0').map((i) => i.address)).toEqual(['10.35.1.2/24', '10.35.3.2/24', '10.35.4.2/24']);
  });
  it('no addresses at all is an error naming the interface', () => {
    expect(() => addressesOf({ cniVersion: '1.0.0', ips: [] }, 'net1')).toThrow('No IP addresses supplied on interface: net1');
  });
});

const route = (o: Partial<Route>): Route => ({ family: 4, dst: '0.0.0.0/0', scope: 0, table: 254, priority: 0, protocol: 3, type: 1, flags: 0, ...o });
const rule = (table: number, src?: string): Rule => ({ family: 4, table, action: 1, tos: 0, flags: 0, ...(src ? { src } : {}) });

describe('sbr tables and routes', () => {
  it('first free table from 100, skipping tables used by rules or routes', () => {
    const rules = [rule(255), rule(254), rule(253), rule(100, '10.1.1.1/32')];
    expect(firstFreeTable(rules, [], 100)).toBe(101);
    expect(firstFreeTable(rules, [route({ table: 101 })], 100)).toBe(102);
    expect(firstFreeTable([], [], 100)).toBe(100);
    expect(firstFreeTable(rules, [route({ table: 101 }), route({ table: 103 })], 102)).toBe(102);
  });

  it('copies routes whose src or gw is in the subnet, and generic ones (neither)', () => {
    const rs = [
      route({ dst: '10.35.1.0/24', src: '10.35.1.2', scope: 253, protocol: 2 }),
      route({ dst: '0.0.0.0/0', gw: '10.35.1.1' }),
      route({ dst: '10.99.0.0/16', gw: '10.35.9.1' }),
      route({ family: 6, dst: 'fe80::/64', priority: 256, protocol: 2, pref: 0 }),
      route({ dst: '10.98.0.0/16', src: '10.35.9.9' }),
    ];
    expect(routesForAddress('10.35.1.2/24', rs).map((r) => r.dst)).toEqual(['10.35.1.0/24', '0.0.0.0/0', 'fe80::/64']);
    expect(routesForAddress('10.35.9.2/24', rs).map((r) => r.dst)).toEqual(['10.99.0.0/16', 'fe80::/64', '10.98.0.0/16']);
  });

  it('a copied route keeps its fields in the new table with flags cleared', () => {
    expect(routeSpecInTable(route({ dst: '10.35.1.0/24', src: '10.35.1.2', scope: 253, protocol: 2, ifindex: 2, flags: 4 }), 100)).toEqual({
      dst: '10.35.1.0/24', src: '10.35.1.2', scope: 253, protocol: 2, type: 1, table: 100, ifindex: 2,
    });
    expect(routeSpecInTable(route({ family: 6, dst: 'fe80::/64', priority: 256, protocol: 2, pref: 0, ifindex: 2 }), 101)).toEqual({
      dst: 'fe80::/64', scope: 0, protocol: 2, type: 1, table: 101, ifindex: 2, priority: 256, pref: 0,
    });
  });

  it('rule sources are host prefixes', () => {
    expect(hostPrefixOf('10.35.1.2/24')).toBe('10.35.1.2/32');
    expect(hostPrefixOf('fd35::2/64')).toBe('fd35::2/128');
  });
});

// Reference bytes: `strace -e trace=sendmsg -e write=3 ip rule add ...` (iproute2 6.x), header
// fields after nlmsg_len/type/flags/seq/pid. The socket layer adds NLM_F_REQUEST|NLM_F_ACK.
describe('rule messages', () => {
  const body = (m: Buffer): string => hex(m.subarray(16));
  it('ip rule add from 10.35.1.2 lookup 5000: table in FRA_TABLE, header table 0', () => {
    const m = buildRule({ src: '10.35.1.2', table: 5000 }, 'add').finish(1);
    expect(m.readUInt32LE(0)).toBe(44);
    expect(m.readUInt16LE(4)).toBe(RTM_NEWRULE);
    expect(m.readUInt16LE(6)).toBe(C.NLM_F_CREATE | C.NLM_F_EXCL);
    expect(body(m)).toBe('020020000000000100000000' + '080002000a230102' + '08000f0088130000');
  });
  it('ip rule add from 10.35.1.2 lookup 100: table in the header only', () => {
    const m = buildRule({ src: '10.35.1.2/32', table: 100 }, 'add').finish(1);
    expect(m.readUInt32LE(0)).toBe(36);
    expect(body(m)).toBe('020020006400000100000000' + '080002000a230102');
  });
  it('ip -6 rule add from fd35::2 lookup 100', () => {
    const m = buildRule({ src: 'fd35::2', table: 100 }, 'add').finish(1);
    expect(m.readUInt32LE(0)).toBe(48);
    expect(body(m)).toBe('0a0080006400000100000000' + '14000200' + 'fd350000000000000000000000000002');
  });
  it('delete names the priority; dump asks for both families', () => {
    const m = buildRule({ src: '10.35.1.2/32', table: 100, priority: 32765 }, 'delete').finish(1);
    expect(m.readUInt16LE(4)).toBe(33);
    expect(m.readUInt16LE(6)).toBe(0);
    expect(body(m)).toBe('020020006400000100000000' + '08000600fd7f0000' + '080002000a230102');
    const d = buildListRules().finish(1);
    expect(d.readUInt16LE(4)).toBe(34);
    expect(body(d)).toBe('00'.repeat(12));
    expect(() => buildRule({ table: 5 }, 'add')).toThrow(/family/);
    expect(() => buildRule({ src: '10.0.0.1', dst: 'fd35::1', table: 5 }, 'add')).toThrow(/families/);
  });
  it('parses a dumped rule: table from FRA_TABLE, src, priority, protocol', () => {
    const payload = Buffer.from('020020000000000100000000' + '080002000a230102' + '08000f0088130000' + '08000600fd7f0000' + '0500150003000000', 'hex');
    const r = parseRule({ type: RTM_NEWRULE, flags: 0, seq: 0, portId: 0, payload });
    expect(r).toEqual({ family: 4, src: '10.35.1.2/32', table: 5000, priority: 32765, action: 1, tos: 0, flags: 0, protocol: 3 });
    expect(parseRule({ type: 24, flags: 0, seq: 0, portId: 0, payload })).toBeUndefined();
  });
});
