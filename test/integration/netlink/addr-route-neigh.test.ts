// Addresses, routes and neighbours through the Netlink handle, checked against `ip -j`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isErrno, type Link, Netlink, RT_SCOPE_LINK } from '../../../shared/netlink/index.js';
import { addNetns, deleteNetns, ipJson, nsPath } from './helpers.js';

interface IpAddr {
  ifname: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number; scope: string; label?: string; broadcast?: string; nodad?: boolean; tentative?: boolean; noprefixroute?: boolean }>;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  table?: string;
  prefsrc?: string;
  metrics?: Array<{ mtu?: number; advmss?: number }>;
  nexthops?: Array<{ gateway: string; dev: string }>;
}
interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state: string[];
}

const created: string[] = [];
let ns: string;
let nl: Netlink;
let eth: Link;

beforeEach(() => {
  ns = addNetns(created);
  nl = Netlink.open(nsPath(ns));
  nl.createVeth({ name: 'eth0', peerName: 'peer0' });
  nl.setLinkUp(nl.getLink('peer0'));
  nl.setLinkUp(nl.getLink('eth0'));
  eth = nl.getLink('eth0');
});

afterEach(() => {
  nl?.close();
  deleteNetns(created);
});

const addrsOf = (dev: string): IpAddr['addr_info'] => ipJson<IpAddr[]>(ns, ['addr', 'show', 'dev', dev])[0]?.addr_info ?? [];

describe('addresses', () => {
  it('adds, lists and deletes IPv4 addresses with broadcast and label', () => {
    nl.addAddress(eth, '10.123.4.5/24');
    nl.addAddress(eth, '10.123.9.1/24', { label: 'eth0:one', broadcast: 'none' });
    const o = addrsOf('eth0').filter((a) => a.family === 'inet');
    expect(o.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['10.123.4.5/24', '10.123.9.1/24']);
    expect(o[0]?.broadcast).toBe('10.123.4.255');
    expect(o[1]?.broadcast).toBeUndefined();
    expect(o[1]?.label).toBe('eth0:one');

    const mine = nl.listAddresses({ ifindex: eth.index, family: 4 });
    expect(mine.map((a) => a.address)).toEqual(['10.123.4.5/24', '10.123.9.1/24']);
    expect(mine[0]).toMatchObject({ ip: '10.123.4.5', prefixLen: 24, family: 4, scope: 0, broadcast: '10.123.4.255' });
    expect(mine[0]?.flags.permanent).toBe(true);
    expect(mine[1]?.label).toBe('eth0:one');

    expect(() => nl.addAddress(eth, '10.123.4.5/24')).toThrowError(/^addr add 10.123.4.5\/24 dev index \d+: EEXIST/);
    nl.deleteAddress(eth, '10.123.4.5/24');
    expect(addrsOf('eth0').filter((a) => a.family === 'inet').map((a) => a.local)).toEqual(['10.123.9.1']);
    try {
      nl.deleteAddress(eth, '10.123.4.5/24');
      expect.unreachable();
    } catch (e) {
      expect(isErrno(e, 'EADDRNOTAVAIL')).toBe(true);
    }
  });

  it('adds IPv6 addresses with and without DAD and reports their flags', () => {
    nl.addAddress(eth, 'fd42:1:2::5/64', { noDad: true });
    nl.addAddress(eth, 'fd42:1:3::5/64', { noPrefixRoute: true });
    const v6 = nl.listAddresses({ ifindex: eth.index, family: 6 });
    const nodad = v6.find((a) => a.ip === 'fd42:1:2::5');
    const dad = v6.find((a) => a.ip === 'fd42:1:3::5');
    expect(nodad).toMatchObject({ address: 'fd42:1:2::5/64', prefixLen: 64 });
    expect(nodad?.flags).toMatchObject({ nodad: true, tentative: false });
    expect(dad?.flags.noprefixroute).toBe(true);
    expect(dad?.flags.nodad).toBe(false);
    const o = addrsOf('eth0');
    expect(o.find((a) => a.local === 'fd42:1:2::5')?.nodad).toBe(true);
    expect(o.find((a) => a.local === 'fd42:1:3::5')?.noprefixroute).toBe(true);
    expect(!!o.find((a) => a.local === 'fd42:1:3::5')?.tentative).toBe(dad?.flags.tentative);
    nl.deleteAddress(eth, 'fd42:1:2::5/64');
    expect(nl.listAddresses({ ifindex: eth.index, family: 6 }).some((a) => a.ip === 'fd42:1:2::5')).toBe(false);
  });
});

describe('routes', () => {
  beforeEach(() => {
    nl.addAddress(eth, '10.77.0.2/24');
    nl.addAddress(eth, 'fd77::2/64', { noDad: true });
  });

  it('adds a default route and routes with metric, scope, src and metrics', () => {
    nl.addRoute({ dst: '0.0.0.0/0', gw: '10.77.0.1', ifindex: eth.index });
    nl.addRoute({ dst: '10.200.0.9/16', ifindex: eth.index, scope: RT_SCOPE_LINK, priority: 50, src: '10.77.0.2' });
    nl.addRoute({ dst: '10.201.0.0/16', gw: '10.77.0.1', mtu: 1400, advmss: 1360 });
    const o = ipJson<IpRoute[]>(ns, ['route', 'show']);
    expect(o.find((r) => r.dst === 'default')).toMatchObject({ gateway: '10.77.0.1', dev: 'eth0' });
    expect(o.find((r) => r.dst === '10.200.0.0/16')).toMatchObject({ dev: 'eth0', scope: 'link', metric: 50, prefsrc: '10.77.0.2' });
    expect(o.find((r) => r.dst === '10.201.0.0/16')?.metrics?.[0]).toMatchObject({ mtu: 1400, advmss: 1360 });

    const routes = nl.listRoutes({ family: 4 });
    expect(routes.find((r) => r.dst === '0.0.0.0/0')).toMatchObject({ gw: '10.77.0.1', ifindex: eth.index, table: 254, protocol: 3, scope: 0 });
    expect(routes.find((r) => r.dst === '10.200.0.0/16')).toMatchObject({ scope: 253, priority: 50, src: '10.77.0.2' });
    expect(routes.find((r) => r.dst === '10.201.0.0/16')).toMatchObject({ mtu: 1400, advmss: 1360, gw: '10.77.0.1' });
    expect(routes.find((r) => r.dst === '10.77.0.0/24')).toMatchObject({ protocol: 2, scope: 253, src: '10.77.0.2' });

    expect(() => nl.addRoute({ dst: '0.0.0.0/0', gw: '10.77.0.1', ifindex: eth.index })).toThrowError(/^route add 0.0.0.0\/0 via 10.77.0.1.*EEXIST/);
    nl.replaceRoute({ dst: '0.0.0.0/0', gw: '10.77.0.3', ifindex: eth.index });
    expect(nl.listRoutes({ family: 4 }).filter((r) => r.dst === '0.0.0.0/0').map((r) => r.gw)).toEqual(['10.77.0.3']);
    nl.deleteRoute({ dst: '0.0.0.0/0' });
    expect(ipJson<IpRoute[]>(ns, ['route', 'show']).some((r) => r.dst === 'default')).toBe(false);
    expect(() => nl.deleteRoute({ dst: '0.0.0.0/0' })).toThrowError(/ESRCH/);
  });

  it('uses tables above 255 and filters by table and ifindex', () => {
    nl.addRoute({ dst: '10.90.0.0/16', gw: '10.77.0.1', table: 1000 });
    nl.addRoute({ dst: '10.91.0.0/16', gw: '10.77.0.1', table: 100 });
    expect(ipJson<IpRoute[]>(ns, ['route', 'show', 'table', '1000']).map((r) => r.dst)).toEqual(['10.90.0.0/16']);
    expect(nl.listRoutes({ table: 1000 }).map((r) => [r.dst, r.table])).toEqual([['10.90.0.0/16', 1000]]);
    expect(nl.listRoutes({ table: 100 }).map((r) => r.dst)).toEqual(['10.91.0.0/16']);
    expect(nl.listRoutes().some((r) => r.dst === '10.90.0.0/16')).toBe(false);
    const all = nl.listRoutes({ table: 0, ifindex: eth.index });
    expect(all.map((r) => r.dst)).toEqual(expect.arrayContaining(['10.90.0.0/16', '10.91.0.0/16', '10.77.0.0/24']));
    expect(all.every((r) => r.ifindex === eth.index)).toBe(true);
    nl.deleteRoute({ dst: '10.90.0.0/16', table: 1000 });
    expect(nl.listRoutes({ table: 1000 })).toEqual([]);
  });

  it('appends IPv6 routes into ECMP next hops and lists them flattened', () => {
    nl.addRoute({ dst: 'fd99::/64', gw: 'fd77::1', ifindex: eth.index });
    nl.appendRoute({ dst: 'fd99::/64', gw: 'fd77::3', ifindex: eth.index });
    const o = ipJson<IpRoute[]>(ns, ['-6', 'route', 'show']).find((r) => r.dst === 'fd99::/64');
    expect(o?.nexthops?.map((h) => h.gateway).sort()).toEqual(['fd77::1', 'fd77::3']);
    const hops = nl.listRoutes({ family: 6 }).filter((r) => r.dst === 'fd99::/64');
    expect(hops.map((r) => r.gw).sort()).toEqual(['fd77::1', 'fd77::3']);
    expect(hops.every((r) => r.multipath !== undefined && r.ifindex === eth.index && r.priority === 1024)).toBe(true);
    nl.addRouteEcmp({ dst: 'fd98::/64', gw: 'fd77::1' });
    nl.addRouteEcmp({ dst: 'fd98::/64', gw: 'fd77::4' });
    expect(() => nl.addRouteEcmp({ dst: 'fd98::/64', gw: 'fd77::4' })).toThrowError(/EEXIST/);
    expect(nl.listRoutes({ family: 6 }).filter((r) => r.dst === 'fd98::/64').map((r) => r.gw).sort()).toEqual(['fd77::1', 'fd77::4']);
    nl.addRoute({ dst: '::/0', gw: 'fd77::1' });
    expect(nl.listRoutes({ family: 6 }).find((r) => r.dst === '::/0')?.gw).toBe('fd77::1');
  });
});

describe('neighbours', () => {
  it('adds, replaces, lists and deletes permanent entries', () => {
    nl.addAddress(eth, '10.55.0.2/24');
    nl.addNeighbor({ ifindex: eth.index, ip: '10.55.0.9', mac: '02:00:00:00:00:09' });
    nl.addNeighbor({ ifindex: eth.index, ip: 'fd55::9', mac: '02:00:00:00:00:0a' });
    let o = ipJson<IpNeigh[]>(ns, ['neigh', 'show', 'dev', 'eth0']);
    expect(o.find((n) => n.dst === '10.55.0.9')).toMatchObject({ lladdr: '02:00:00:00:00:09', state: ['PERMANENT'] });
    expect(o.find((n) => n.dst === 'fd55::9')?.lladdr).toBe('02:00:00:00:00:0a');

    const mine = nl.listNeighbors({ ifindex: eth.index });
    expect(mine.find((n) => n.ip === '10.55.0.9')).toMatchObject({ family: 4, mac: '02:00:00:00:00:09', state: 0x80 });
    expect(() => nl.addNeighbor({ ifindex: eth.index, ip: '10.55.0.9', mac: '02:00:00:00:00:01' })).toThrowError(/EEXIST/);
    nl.replaceNeighbor({ ifindex: eth.index, ip: '10.55.0.9', mac: '02:00:00:00:00:01' });
    expect(nl.listNeighbors({ family: 4 }).find((n) => n.ip === '10.55.0.9')?.mac).toBe('02:00:00:00:00:01');

    nl.deleteNeighbor(eth, '10.55.0.9');
    o = ipJson<IpNeigh[]>(ns, ['neigh', 'show', 'dev', 'eth0']);
    expect(o.some((n) => n.dst === '10.55.0.9')).toBe(false);
    expect(() => nl.deleteNeighbor(eth, '10.55.0.9')).toThrowError(/ENOENT/);
  });
});
