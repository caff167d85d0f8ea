// VXLAN devices, FDB entries, permanent neighbours and onlink routes through shared/netlink, as the
// overlay agent programs them, checked against iproute2 (`ip -j -d link`, `ip -j neigh`,
// `bridge -j fdb`, `ip -j route`).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netlink, NUD_PERMANENT, withNetns } from '../../../shared/netlink/index.js';
import { VxlanControl } from '../../../shared/netlink/vxlan.js';

const ns = `tov-nl-${randomBytes(3).toString('hex')}`;
const nsFile = `/run/netns/${ns}`;
const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const json = <T>(cmd: string, args: string[]): T => JSON.parse(run(cmd, args) || '[]') as T;

interface IpLinkD {
  ifname: string;
  mtu: number;
  address: string;
  linkinfo?: { info_kind: string; info_data?: { id: number; local?: string; link?: string; port: number; learning: boolean; gbp?: boolean } };
}

let nl: Netlink;
let vx: VxlanControl;

beforeAll(() => {
  run('ip', ['netns', 'add', ns]);
  nl = Netlink.open(nsFile);
  vx = withNetns(nsFile, () => VxlanControl.open());
  nl.createVeth({ name: 'tov-u0', peerName: 'tov-u1' });
  const u0 = nl.getLink('tov-u0');
  nl.addAddress(u0, '10.157.0.11/24');
  nl.setLinkUp(u0);
  nl.setLinkUp(nl.getLink('tov-u1'));
});

afterAll(() => {
  vx?.close();
  nl?.close();
  execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
});

describe('vxlan device', () => {
  it('is created with id, local, dev, dstport and learning off, as flanneld creates flannel.1', () => {
    const dev = nl.getLink('tov-u0');
    vx.createVxlan({ name: 'flannel.1', vni: 1, local: '10.157.0.11', devIndex: dev.index, port: 8472, learning: false, mtu: 1450 });
    const [l] = json<IpLinkD[]>('ip', ['-n', ns, '-j', '-d', 'link', 'show', 'flannel.1']);
    expect(l?.linkinfo?.info_kind).toBe('vxlan');
    expect(l?.mtu).toBe(1450);
    expect(l?.linkinfo?.info_data).toMatchObject({ id: 1, local: '10.157.0.11', link: 'tov-u0', port: 8472, learning: false });
    const got = vx.findVxlan('flannel.1');
    expect(got?.vxlan).toMatchObject({ vni: 1, local: '10.157.0.11', devIndex: dev.index, port: 8472, learning: false, gbp: false });
    expect(got?.mac).toBe(l?.address);
  });

  it('findVxlan: undefined for a missing link and for a link of another kind', () => {
    expect(vx.findVxlan('tov-none')).toBeUndefined();
    expect(vx.findVxlan('tov-u0')).toBeUndefined();
  });

  it('a second create with the same name is EEXIST; port 0 means the kernel default 8472', () => {
    expect(() => vx.createVxlan({ name: 'flannel.1', vni: 1 })).toThrow(/EEXIST/);
    vx.createVxlan({ name: 'tov-vx2', vni: 42 });
    const [l] = json<IpLinkD[]>('ip', ['-n', ns, '-j', '-d', 'link', 'show', 'tov-vx2']);
    expect(l?.linkinfo?.info_data?.port).toBe(8472);
    expect(l?.linkinfo?.info_data?.learning).toBe(false);
    nl.deleteLink(nl.getLink('tov-vx2'));
  });

  it('refuses a VNI beyond 24 bits before any I/O', () => {
    expect(() => vx.createVxlan({ name: 'tov-bad', vni: 1 << 24 })).toThrow(TypeError);
  });
});

describe('per remote node: neighbour, FDB, onlink route', () => {
  const remoteMac = '0a:11:22:33:44:55';
  it('adds and removes them as flanneld does for a remote lease', () => {
    const dev = nl.getLink('flannel.1');
    nl.setLinkUp(dev);
    nl.addAddress(dev, '10.156.17.0/32');
    nl.replaceNeighbor({ ifindex: dev.index, ip: '10.156.18.0', mac: remoteMac, state: NUD_PERMANENT });
    vx.replaceFdb({ ifindex: dev.index, mac: remoteMac, dst: '10.157.0.12' });
    nl.replaceRoute({ dst: '10.156.18.0/24', gw: '10.156.18.0', ifindex: dev.index, onlink: true });

    const neigh = json<Array<{ dst: string; lladdr: string; state: string[] }>>('ip', ['-n', ns, '-j', 'neigh', 'show', 'dev', 'flannel.1']);
    expect(neigh).toEqual([expect.objectContaining({ dst: '10.156.18.0', lladdr: remoteMac, state: ['PERMANENT'] })]);
    const fdb = json<Array<{ mac: string; dst?: string; flags: string[]; state: string }>>('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'flannel.1']);
    expect(fdb.filter((e) => e.mac === remoteMac)).toEqual([expect.objectContaining({ mac: remoteMac, dst: '10.157.0.12', flags: ['self'], state: 'permanent' })]);
    const route = json<Array<{ dst: string; gateway: string; dev: string; flags: string[] }>>('ip', ['-n', ns, '-j', 'route', 'show', '10.156.18.0/24']);
    expect(route).toEqual([expect.objectContaining({ dst: '10.156.18.0/24', gateway: '10.156.18.0', dev: 'flannel.1', flags: ['onlink'] })]);
    expect(vx.listFdb(dev.index).filter((e) => e.mac === remoteMac)).toEqual([
      { ifindex: dev.index, mac: remoteMac, dst: '10.157.0.12', state: NUD_PERMANENT, flags: 2 },
    ]);

    // Replacing with a new destination (a node that moved) keeps one entry.
    vx.replaceFdb({ ifindex: dev.index, mac: remoteMac, dst: '10.157.0.13' });
    expect(vx.listFdb(dev.index).filter((e) => e.mac === remoteMac).map((e) => e.dst)).toEqual(['10.157.0.13']);

    nl.deleteRoute({ dst: '10.156.18.0/24', gw: '10.156.18.0', ifindex: dev.index });
    vx.deleteFdb({ ifindex: dev.index, mac: remoteMac, dst: '10.157.0.13' });
    nl.deleteNeighbor(dev, '10.156.18.0');
    expect(json('ip', ['-n', ns, '-j', 'neigh', 'show', 'dev', 'flannel.1'])).toEqual([]);
    expect(json<Array<{ mac: string }>>('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'flannel.1']).filter((e) => e.mac === remoteMac)).toEqual([]);
    expect(json('ip', ['-n', ns, '-j', 'route', 'show', '10.156.18.0/24'])).toEqual([]);
    expect(() => vx.deleteFdb({ ifindex: dev.index, mac: remoteMac, dst: '10.157.0.13' })).toThrow(/ENOENT/);
  });
});
