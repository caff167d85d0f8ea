// Links through the Netlink handle, checked against `ip -j -d link` in throwaway namespaces.
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isErrno, Netlink, NetlinkError, openNetns, readSysctl, setupVeth } from '../../../shared/netlink/index.js';
import { addNetns, deleteNetns, ip, ipJson, nsPath } from './helpers.js';

interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  txqlen?: number;
  ifalias?: string;
  promiscuity?: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
}

const created: string[] = [];
let a: string;
let b: string;
let nl: Netlink;

const oracle = (ns: string, name: string): IpLink => {
  const [l] = ipJson<IpLink[]>(ns, ['link', 'show', 'dev', name], true);
  if (!l) throw new Error(`ip does not show ${name}`);
  return l;
};

beforeEach(() => {
  a = addNetns(created);
  b = addNetns(created);
  nl = Netlink.open(nsPath(a));
});

afterEach(() => {
  nl?.close();
  deleteNetns(created);
});

describe('links', () => {
  it('lists and gets the loopback device', () => {
    const links = nl.listLinks();
    expect(links.map((l) => l.name)).toEqual(['lo']);
    const lo = nl.getLink('lo');
    expect(lo).toMatchObject({ index: 1, name: 'lo', hwType: 772, mtu: 65536, up: false, operstate: 'down' });
    expect(nl.getLinkByIndex(1).name).toBe('lo');
    nl.setLinkUp(lo);
    expect(nl.getLink('lo').up).toBe(true);
    expect(oracle(a, 'lo').flags).toContain('UP');
  });

  it('maps a missing link to ENODEV, and findLink to undefined', () => {
    expect(nl.findLink('nope0')).toBeUndefined();
    expect(nl.findLinkByIndex(9999)).toBeUndefined();
    let err: unknown;
    try {
      nl.getLink('nope0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).code).toBe('ENODEV');
    expect((err as NetlinkError).errno).toBe(19);
    expect((err as NetlinkError).message).toMatch(/^link get nope0: ENODEV \(No such device\)/);
  });

  it('creates a veth pair with the peer directly in another netns', () => {
    nl.createVeth({ name: 'ct0', peerName: 'hostv0', peerNetns: nsPath(b), mtu: 1400, mac: '0a:58:0a:01:02:03', peerMac: '0a:58:0a:01:02:04' });
    const ct = nl.getLink('ct0');
    expect(ct).toMatchObject({ kind: 'veth', mtu: 1400, mac: '0a:58:0a:01:02:03', up: false });
    expect(ct.linkNetnsId).toBeTypeOf('number');
    const o = oracle(a, 'ct0');
    expect(o.ifindex).toBe(ct.index);
    expect(o.linkinfo?.info_kind).toBe('veth');
    expect(o.address).toBe('0a:58:0a:01:02:03');
    expect(o.link_index).toBe(ct.linkIndex);

    const peer = oracle(b, 'hostv0');
    expect(peer.mtu).toBe(1400);
    expect(peer.address).toBe('0a:58:0a:01:02:04');
    expect(peer.ifindex).toBe(ct.linkIndex);
    expect(ipJson<IpLink[]>(a, ['link', 'show']).map((l) => l.ifname)).not.toContain('hostv0');

    const nlB = Netlink.open(nsPath(b));
    try {
      const hv = nlB.getLink('hostv0');
      expect(hv.linkIndex).toBe(ct.index);
      expect(hv.kind).toBe('veth');
    } finally {
      nlB.close();
    }
  });

  it('refuses a duplicate link with a readable EEXIST', () => {
    nl.createVeth({ name: 'dup0', peerName: 'dup1' });
    expect(() => nl.createVeth({ name: 'dup0', peerName: 'dup2' })).toThrowError(
      /^link add dup0 type veth peer dup2: EEXIST \(File exists\)/,
    );
    try {
      nl.createBridge({ name: 'dup0' });
      expect.unreachable();
    } catch (e) {
      expect(isErrno(e, 'EEXIST')).toBe(true);
    }
  });

  it('creates a bridge, enslaves a port, sets hairpin and isolation', () => {
    nl.createBridge({ name: 'br0', mtu: 1450, mac: '02:11:22:33:44:55' });
    const br = nl.getLink('br0');
    expect(br.kind).toBe('bridge');
    expect(br.bridge?.vlanFiltering).toBe(false);
    const bo = oracle(a, 'br0');
    expect(bo.address).toBe('02:11:22:33:44:55');
    expect(bo.mtu).toBe(1450);
    // The default PVID is reported only by kernels built with bridge VLAN filtering.
    expect(br.bridge?.vlanDefaultPvid).toBe(bo.linkinfo?.info_data?.vlan_default_pvid);

    nl.createVeth({ name: 'p0', peerName: 'p0peer' });
    const p0 = nl.getLink('p0');
    nl.setMaster(p0, br);
    let port = nl.getLink('p0');
    expect(port.masterIndex).toBe(br.index);
    expect(port.slaveKind).toBe('bridge');
    expect(port.bridgePort).toMatchObject({ hairpin: false, isolated: false });
    expect(oracle(a, 'p0').master).toBe('br0');

    nl.setHairpin(p0, true);
    nl.setIsolated(p0, true);
    port = nl.getLink('p0');
    expect(port.bridgePort).toMatchObject({ hairpin: true, isolated: true });
    const slave = oracle(a, 'p0').linkinfo?.info_slave_data;
    expect(slave?.hairpin).toBe(true);
    expect(slave?.isolated).toBe(true);

    const viaBridgeDump = nl.listBridgePorts().find((l) => l.name === 'p0');
    expect(viaBridgeDump?.bridgePort).toMatchObject({ hairpin: true, isolated: true });

    nl.setHairpin(p0, false);
    expect(nl.getLink('p0').bridgePort?.hairpin).toBe(false);
    nl.setMaster(p0, 0);
    expect(nl.getLink('p0').masterIndex).toBeUndefined();
    expect(oracle(a, 'p0').master).toBeUndefined();
  });

  it('creates a macvlan over a veth master directly in another netns', () => {
    nl.createVeth({ name: 'mst0', peerName: 'mst0p' });
    const master = nl.getLink('mst0');
    nl.setLinkUp(master);
    nl.createMacvlan({ name: 'mv0', masterIndex: master.index, mode: 'bridge', netns: nsPath(b), mtu: 1300 });
    expect(nl.findLink('mv0')).toBeUndefined();
    const o = oracle(b, 'mv0');
    expect(o.linkinfo?.info_kind).toBe('macvlan');
    expect(o.linkinfo?.info_data?.mode).toBe('bridge');
    expect(o.mtu).toBe(1300);

    const nlB = Netlink.open(nsPath(b));
    try {
      const mv = nlB.getLink('mv0');
      expect(mv.kind).toBe('macvlan');
      expect(mv.macvlanMode).toBe('bridge');
      expect(mv.linkIndex).toBe(master.index);
      expect(mv.linkNetnsId).toBeTypeOf('number');
    } finally {
      nlB.close();
    }
  });

  it('creates macvlans in each mode', () => {
    nl.createVeth({ name: 'mst1', peerName: 'mst1p' });
    const master = nl.getLink('mst1');
    for (const mode of ['private', 'vepa', 'bridge', 'passthru'] as const) {
      nl.createMacvlan({ name: `m-${mode.slice(0, 4)}`, masterIndex: master.index, mode });
      expect(nl.getLink(`m-${mode.slice(0, 4)}`).macvlanMode).toBe(mode);
      expect(oracle(a, `m-${mode.slice(0, 4)}`).linkinfo?.info_data?.mode).toBe(mode);
      nl.deleteLink(nl.getLink(`m-${mode.slice(0, 4)}`));
    }
  });

  it('changes mtu, mac, name, alias, txqueuelen, promisc and up/down', () => {
    nl.createVeth({ name: 'x0', peerName: 'x0p' });
    const x = nl.getLink('x0');
    nl.setMtu(x, 1280);
    nl.setMac(x, '02:aa:bb:cc:dd:ee');
    nl.setAlias(x, 'container side');
    nl.setTxQLen(x, 500);
    nl.setPromisc(x, true);
    nl.setLinkUp(x);
    nl.rename(x, 'x1');
    let got = nl.getLinkByIndex(x.index);
    expect(got).toMatchObject({ name: 'x1', mtu: 1280, mac: '02:aa:bb:cc:dd:ee', alias: 'container side', txQLen: 500, promisc: true, up: true });
    const o = oracle(a, 'x1');
    expect(o).toMatchObject({ mtu: 1280, address: '02:aa:bb:cc:dd:ee', ifalias: 'container side', txqlen: 500 });
    expect(o.flags).toContain('PROMISC');
    nl.setPromisc(x, false);
    nl.setAlias(x, '');
    got = nl.getLinkByIndex(x.index);
    expect(got.promisc).toBe(false);
    expect(got.alias).toBeUndefined();
    nl.setLinkDown(x);
    expect(nl.getLinkByIndex(x.index).up).toBe(false);
  });

  it('moves a link to another netns by path and by handle, and deletes it', () => {
    nl.createVeth({ name: 'mv1', peerName: 'mv1p' });
    nl.moveToNetns(nl.getLink('mv1'), nsPath(b));
    expect(nl.findLink('mv1')).toBeUndefined();
    expect(oracle(b, 'mv1').ifname).toBe('mv1');
    const h = openNetns(nsPath(b));
    try {
      nl.moveToNetns(nl.getLink('mv1p'), h);
    } finally {
      h.close();
    }
    expect(oracle(b, 'mv1p').ifname).toBe('mv1p');
    const nlB = Netlink.open(nsPath(b));
    try {
      nlB.deleteLink(nlB.getLink('mv1'));
      expect(nlB.findLink('mv1p')).toBeUndefined(); // deleting one veth end removes both
      expect(() => nlB.deleteLink(424242)).toThrowError(/ENODEV/);
    } finally {
      nlB.close();
    }
  });

  it('creates a tap device in the handle netns', () => {
    nl.createTuntap({ name: 'tap0', mode: 'tap' });
    const t = nl.getLink('tap0');
    expect(t.kind).toBe('tun');
    expect(oracle(a, 'tap0').linkinfo?.info_data?.type).toBe('tap');
    nl.deleteLink(t);
    expect(nl.findLink('tap0')).toBeUndefined();
  });

  it('carries the kernel extended-ACK text in errors', () => {
    nl.createVeth({ name: 'e0', peerName: 'e0p' });
    let err: NetlinkError | undefined;
    try {
      nl.setMtu(nl.getLink('e0'), 100000);
    } catch (e) {
      err = e as NetlinkError;
    }
    expect(err?.code).toBe('EINVAL');
    expect(err?.extAck).toMatch(/mtu/i);
    expect(err?.message).toBe(`link set index ${nl.getLink('e0').index} mtu 100000: EINVAL (Invalid argument): ${err?.extAck}`);
  });

  // Kinds this test kernel may lack: verify when present, skip naming the missing feature otherwise.
  const missingKind = (e: unknown): boolean => isErrno(e, 'EOPNOTSUPP');

  it('creates a dummy device (needs CONFIG_DUMMY)', (ctx) => {
    try {
      nl.createDummy({ name: 'dm0', mtu: 1234 });
    } catch (e) {
      if (missingKind(e)) return ctx.skip('kernel lacks the dummy link kind (CONFIG_DUMMY)');
      throw e;
    }
    expect(oracle(a, 'dm0')).toMatchObject({ mtu: 1234, linkinfo: { info_kind: 'dummy' } });
  });

  it('creates a VLAN device (needs CONFIG_VLAN_8021Q)', (ctx) => {
    nl.createVeth({ name: 'vm0', peerName: 'vm0p' });
    try {
      nl.createVlan({ name: 'vm0.10', masterIndex: nl.getLink('vm0').index, vlanId: 10 });
    } catch (e) {
      if (missingKind(e)) return ctx.skip('kernel lacks the vlan link kind (CONFIG_VLAN_8021Q)');
      throw e;
    }
    expect(nl.getLink('vm0.10').vlanId).toBe(10);
    expect(oracle(a, 'vm0.10').linkinfo?.info_data?.id).toBe(10);
  });

  it('creates an ipvlan device (needs CONFIG_IPVLAN)', (ctx) => {
    nl.createVeth({ name: 'im0', peerName: 'im0p' });
    try {
      nl.createIpvlan({ name: 'ipv0', masterIndex: nl.getLink('im0').index, mode: 'l3' });
    } catch (e) {
      if (missingKind(e)) return ctx.skip('kernel lacks the ipvlan link kind (CONFIG_IPVLAN)');
      throw e;
    }
    expect(nl.getLink('ipv0').ipvlanMode).toBe('l3');
    expect(oracle(a, 'ipv0').linkinfo?.info_data?.mode).toBe('l3');
  });

  it('creates a VLAN-filtering bridge and port VLANs (needs CONFIG_BRIDGE_VLAN_FILTERING)', (ctx) => {
    try {
      nl.createBridge({ name: 'vbr0', vlanFiltering: true, vlanDefaultPvid: 7 });
    } catch (e) {
      if (missingKind(e)) return ctx.skip('kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)');
      throw e;
    }
    const br = nl.getLink('vbr0');
    expect(br.bridge).toMatchObject({ vlanFiltering: true, vlanDefaultPvid: 7 });
    nl.createVeth({ name: 'vp0', peerName: 'vp0p' });
    nl.setMaster(nl.getLink('vp0'), br);
    nl.addBridgeVlan(nl.getLink('vp0'), 20, { pvid: true, untagged: true });
    const vlans = execFileSync('bridge', ['-n', a, '-j', 'vlan', 'show', 'dev', 'vp0'], { encoding: 'utf8' });
    expect(vlans).toMatch(/"vlan":20/);
    nl.deleteBridgeVlan(nl.getLink('vp0'), 20);
  });

  it('rejects invalid names before talking to the kernel', () => {
    expect(() => nl.createBridge({ name: 'a-name-that-is-too-long' })).toThrowError(TypeError);
    expect(() => nl.createBridge({ name: 'bad/name' })).toThrowError(TypeError);
    expect(ip(a, ['link', 'show'])).not.toMatch(/bad/);
  });
});

describe('setupVeth', () => {
  it('creates the container end here and a random veth name up in the host netns with accept_ra=0', () => {
    const host = Netlink.open(nsPath(b));
    try {
      const { hostVeth, contVeth } = setupVeth({ container: nl, host, ifName: 'eth0', mtu: 1420, mac: '0a:58:0a:09:00:02' });
      expect(hostVeth.name).toMatch(/^veth[0-9a-f]{8}$/);
      expect(hostVeth.up).toBe(true);
      expect(contVeth).toMatchObject({ name: 'eth0', mtu: 1420, mac: '0a:58:0a:09:00:02', linkIndex: hostVeth.index });
      expect(oracle(b, hostVeth.name)).toMatchObject({ mtu: 1420, ifindex: hostVeth.index });
      expect(oracle(b, hostVeth.name).flags).toContain('UP');
      expect(host.inNetns(() => readSysctl(['net', 'ipv6', 'conf', hostVeth.name, 'accept_ra']))).toBe('0');
      expect(() => setupVeth({ container: nl, host, ifName: 'eth0' })).toThrowError(
        /^container veth name \("eth0"\) peer provided \("veth[0-9a-f]{8}"\) already exists$/,
      );
      expect(() => setupVeth({ container: nl, host, ifName: 'eth1', hostVethName: hostVeth.name })).toThrowError(
        `container veth name ("eth1") peer provided ("${hostVeth.name}") already exists`,
      );
      expect(nl.findLink('eth1')).toBeUndefined();
    } finally {
      host.close();
    }
  });
});
