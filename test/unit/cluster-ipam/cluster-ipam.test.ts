// cluster-ipam's pure parts: candidate order with cursor, gateway and exclusions; key layout and
// name checks; config loading and its error messages.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../shared/cni/errors.js';
import { type IP, formatIP, mustParseIP, parseCIDR } from '../../../shared/ip/index.js';
import { canonicalizeRangeSet } from '../../../ipam/host-local/range.js';
import { allocatable, candidates, firstFree } from '../../../ipam/cluster-ipam/candidates.js';
import { Keys, checkPrefix, decodeClaim, encodeClaim } from '../../../ipam/cluster-ipam/keys.js';
import { type ClusterIpamNetConf, loadClusterIpamConfig } from '../../../ipam/cluster-ipam/config.js';

const set = (...subnets: string[]) => canonicalizeRangeSet(subnets.map((s) => ({ subnet: parseCIDR(s)! })));
const nets = (...c: string[]) => c.map((x) => parseCIDR(x)!);
const ips = (it: Iterable<{ ip: IP }>) => [...it].map((c) => formatIP(c.ip));

describe('candidates', () => {
  it('walks the set once, skipping gateway and excluded blocks, starting after the cursor and wrapping', () => {
    const s = set('10.1.0.0/29'); // .1 gateway, .2-.6 usable
    expect(ips(candidates(s, [], undefined))).toEqual(['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']);
    expect(ips(candidates(s, [], mustParseIP('10.1.0.4')))).toEqual(['10.1.0.5', '10.1.0.6', '10.1.0.2', '10.1.0.3', '10.1.0.4']);
    expect(ips(candidates(s, nets('10.1.0.4/31'), mustParseIP('10.1.0.2')))).toEqual(['10.1.0.3', '10.1.0.6', '10.1.0.2']);
    // A cursor outside the set (config changed) starts from the beginning.
    expect(ips(candidates(s, [], mustParseIP('10.9.0.1')))[0]).toBe('10.1.0.2');
  });

  it('goes from range to range and jumps over a huge excluded block in one step', () => {
    const s = set('10.2.0.0/30', '11.0.0.0/8');
    const it = candidates(s, nets('11.0.0.0/9'), mustParseIP('10.2.0.2'));
    const first = ips([it.next().value!, it.next().value!]);
    expect(first).toEqual(['11.128.0.0', '11.128.0.1']);
  });

  it('works for IPv6 and the last address of a v6 range', () => {
    const s = canonicalizeRangeSet([{ subnet: parseCIDR('fd54::/126')! }]);
    expect(ips(candidates(s, [], mustParseIP('fd54::3')))).toEqual(['fd54::2', 'fd54::3']);
  });

  it('firstFree skips taken ones; undefined when full; allocatable refuses gateway and excluded', () => {
    const s = set('10.1.0.0/29');
    const key = (ip: IP) => formatIP(ip);
    expect(formatIP(firstFree(s, [], undefined, new Set(['10.1.0.2', '10.1.0.3']), key)!.ip)).toBe('10.1.0.4');
    expect(firstFree(s, [], undefined, new Set(['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']), key)).toBeUndefined();
    expect(allocatable(s, [], mustParseIP('10.1.0.1'))).toBeUndefined();
    expect(allocatable(s, nets('10.1.0.3/32'), mustParseIP('10.1.0.3'))).toBeUndefined();
    expect(allocatable(s, [], mustParseIP('10.1.0.3'))).toBeDefined();
    expect(allocatable(s, [], mustParseIP('10.1.0.7'))).toBeUndefined();
  });
});

describe('keys', () => {
  const k = new Keys('/tscni/ipam', 'net1');
  it('lays out claims and cursors under the network', () => {
    expect(k.claim(mustParseIP('10.0.0.5'))).toBe('/tscni/ipam/net1/10.0.0.5');
    expect(k.claim(mustParseIP('fd54:0::1'))).toBe('/tscni/ipam/net1/fd54::1');
    expect(k.cursor(1)).toBe('/tscni/ipam/net1/_cursor/1');
    expect(formatIP(k.ipOfKey('/tscni/ipam/net1/10.0.0.5')!)).toBe('10.0.0.5');
    expect(k.ipOfKey('/tscni/ipam/net1/_cursor/0')).toBeUndefined();
    expect(k.ipOfKey('/tscni/ipam/net10/10.0.0.5')).toBeUndefined();
    expect(k.ipOfKey('/tscni/ipam/net1/010.0.0.5')).toBeUndefined();
  });

  it('claims round-trip; other values are not claims', () => {
    const c = { containerID: 'c1', ifname: 'eth0', node: 'n1', time: '2026-01-01T00:00:00.000Z' };
    expect(decodeClaim(encodeClaim(c))).toEqual(c);
    expect(decodeClaim('10.0.0.1')).toBeUndefined();
    expect(decodeClaim('{"containerID":1}')).toBeUndefined();
  });

  it('prefixes must be absolute and tame', () => {
    expect(checkPrefix('/a/b/')).toBe('/a/b');
    for (const bad of ['a/b', '/', '/a//b', '/a/../b', '/a b', '']) expect(() => checkPrefix(bad)).toThrow(CniError);
  });
});

describe('config', () => {
  const base = (ipam: Record<string, unknown>, extra: Partial<ClusterIpamNetConf> = {}): ClusterIpamNetConf => ({
    cniVersion: '1.0.0',
    name: 'net1',
    ...extra,
    ipam: { type: 'cluster-ipam', etcd: { endpoints: ['http://127.0.0.1:2379'] }, ...ipam },
  });
  const host = () => 'this-node';
  const error = (fn: () => unknown): { code: number; msg: string } => {
    try {
      fn();
    } catch (e) {
      if (e instanceof CniError) return { code: e.code, msg: e.msg };
      throw e;
    }
    throw new Error('no error');
  };

  it('defaults: prefix, timeouts, node name from the host', () => {
    const c = loadClusterIpamConfig(base({ range: '10.40.0.0/16' }), '', host);
    expect(c.prefix).toBe('/tscni/ipam');
    expect(c.nodeName).toBe('this-node');
    expect(c.timeoutMs).toBe(10_000);
    expect(c.etcd).toEqual({ endpoints: ['http://127.0.0.1:2379'], dialTimeoutMs: 2000 });
    expect(c.ranges).toHaveLength(1);
    expect(formatIP(c.ranges[0]![0]!.gateway)).toBe('10.40.0.1');
  });

  it('dual stack through ranges; requested IPs from CNI_ARGS, args and runtimeConfig', () => {
    const c = loadClusterIpamConfig(
      base({ ranges: [[{ subnet: '10.41.0.0/24' }], [{ subnet: 'fd54:1::/64' }]], nodeName: 'n-1', etcd: { endpoints: ['https://e1:2379', 'https://e2:2379'], prefix: '/x/', certFile: '/c', keyFile: '/k', trustedCAFile: '/ca', username: 'u', password: 'p', dialTimeoutMs: 100, timeoutMs: 500 } }, { runtimeConfig: { ips: ['fd54:1::5/64'] }, args: { cni: { ips: ['10.41.0.9'] } } }),
      'IP=10.41.0.7',
      host,
    );
    expect(c.ranges.map((s) => s[0]!.subnet.ip.family)).toEqual([4, 6]);
    expect(c.requested.map(formatIP)).toEqual(['10.41.0.7', '10.41.0.9', 'fd54:1::5']);
    expect(c.prefix).toBe('/x');
    expect(c.timeoutMs).toBe(500);
    expect(c.nodeName).toBe('n-1');
    expect(c.etcd).toMatchObject({ certFile: '/c', keyFile: '/k', trustedCAFile: '/ca', username: 'u', password: 'p', dialTimeoutMs: 100 });
  });

  it('errors name the field and the value', () => {
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/33' }), '', host))).toEqual({ code: 7, msg: 'ipam.range: invalid CIDR address "10.40.0.0/33"' });
    expect(error(() => loadClusterIpamConfig(base({}), '', host)).msg).toBe('no IP ranges specified');
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16', exclude: ['nope'] }), '', host)).msg).toBe('ipam.exclude[0]: invalid CIDR address "nope"');
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16', etcd: { endpoints: ['ftp://x'] } }), '', host)).msg).toBe('ipam.etcd.endpoints[0]: invalid endpoint "ftp://x"');
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16', etcd: {} }), '', host)).msg).toBe('ipam.etcd.endpoints: missing');
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16', etcd: { endpoints: ['http://e:1'], certFile: '/c' } }), '', host)).msg).toMatch(/^ipam.etcd: certFile and keyFile go together/);
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16', nodeName: 'bad/node' }), '', host)).msg).toBe('ipam.nodeName: invalid node name "bad/node"');
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16' }, { name: '../etc' }), '', host)).msg).toBe('invalid network name "../etc"');
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16', etcd: { endpoints: ['http://e:1'], prefix: '/a/../b' } }), '', host)).msg).toBe('ipam.etcd.prefix: invalid key prefix "/a/../b"');
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16', rangeStart: '10.41.0.1' }), '', host)).msg).toMatch(/RangeStart 10.41.0.1 not in network/);
    expect(error(() => loadClusterIpamConfig(base({ range: '10.40.0.0/16' }), 'IP=garbage', host)).msg).toBe('CNI_ARGS IP: invalid IP address "garbage"');
  });
});
