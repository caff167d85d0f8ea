// dhcp IPAM end to end through the real main plugins, as a runtime on a node runs them: a "node"
// netns where dist/bin/bridge and dist/bin/macvlan run (ip netns exec) with
// `"ipam": {"type": "dhcp"}`, our dhcp daemon inside that node netns, and dnsmasq in its own netns
// on an L2 segment the node reaches through veth uplinks (one enslaved to the node's bridge, one
// the macvlan master). Needs root and dnsmasq.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson } from '../../helpers/netns.js';
import { DIST_BIN } from '../../helpers/plugin.js';
import { cleanup, createNode, type Daemon, type DhcpServer, runInNode, startDaemon, startServer, tempDir, uplink, waitFor } from './harness.js';

const haveDnsmasq = spawnSync('dnsmasq', ['--version']).status === 0;
const isRoot = process.getuid?.() === 0;
const d = haveDnsmasq && isRoot ? describe : describe.skip;

interface Iface {
  name: string;
  mac?: string;
  sandbox?: string;
}
interface Res {
  cniVersion: string;
  interfaces: Iface[];
  ips: Array<{ address: string; gateway?: string; interface?: number; version?: string }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: unknown;
}
interface IpLink {
  ifname: string;
  address: string;
  flags: string[];
  master?: string;
  link_type?: string;
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope: string }>;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  protocol?: string;
}

afterEach(cleanup);

const ping = (ns: string, ip: string): number => spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', ip]).status ?? -1;

/** dnsmasq's client id for an attachment: 0x00 + "<cid>/<net>/<if>", colon-separated hex. */
const clientIdHex = (cid: string, net: string, ifName: string): string =>
  Buffer.concat([Buffer.from([0]), Buffer.from(`${cid}/${net}/${ifName}`)])
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1:');

function env(command: string, cid: string, netns: string): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_NETNS: `/run/netns/${netns}`, CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN };
}

const poolIp = (net: number): RegExp => new RegExp(`^10\\.79\\.${net}\\.(5\\d|[6-9]\\d)/24$`);

/** The container's eth0 and routes, read with ip -j. */
function containerState(ns: string): { eth0: IpLink; routes: IpRoute[]; links: string[] } {
  const eth0 = ipJson<IpLink[]>(['-d', 'addr', 'show', 'dev', 'eth0'], ns)[0]!;
  const routes = ipJson<IpRoute[]>(['-4', 'route', 'show'], ns);
  const links = ipJson<IpLink[]>(['link', 'show'], ns).map((l) => l.ifname);
  return { eth0, routes, links };
}

/** After DEL: dnsmasq forgot the lease, the daemon holds nothing, the container has only lo. */
async function expectReleased(srv: DhcpServer, dmn: Daemon, ns: string, ip: string, cid: string, sent: string): Promise<void> {
  await waitFor(`dnsmasq to drop the lease of ${ip}`, () => !srv.leases().has(ip), 3000);
  const line = dmn.stderr().split('\n').find((l) => l.includes(`lease released: container=${cid} `));
  expect(line).toContain(` ip=${ip} `);
  expect(line).toMatch(new RegExp(` sent=${sent}$`));
  expect(srv.log()).toMatch(new RegExp(`DHCPRELEASE\\(br0\\) ${ip.replace(/\./g, '\\.')} `));
  expect(fs.readdirSync(dmn.stateDir)).toEqual([]);
  expect(ipJson<IpLink[]>(['link', 'show'], ns).map((l) => l.ifname)).toEqual(['lo']);
}

d('dhcp IPAM through the bridge and macvlan plugins (node netns, dnsmasq on the node L2 segment)', () => {
  it('bridge (isGateway:false, L2 bridge with the server on it): ADD leases from dnsmasq, kernel state matches, ping, CHECK 1.1.0, DEL releases, second DEL ok', async () => {
    const srv = await startServer({ net: 31 });
    const node = createNode();
    uplink(srv, node, 'dhup', 'cni-dh');
    const dmn = await startDaemon(tempDir(), [], node);
    const ctr = createNetns('tscni-dh-c');
    const conf = {
      cniVersion: '1.1.0', name: 'dhbr', type: 'bridge', bridge: 'cni-dh', isGateway: false,
      ipam: { type: 'dhcp', daemonSocketPath: dmn.socket },
    };

    const add = await runInNode(node, 'bridge', env('ADD', 'ctr-br', ctr), conf);
    expect(add.status, add.stdout + add.stderr).toBe(0);
    const res = add.json as Res;
    expect(res.cniVersion).toBe('1.1.0');
    expect(res.ips).toHaveLength(1);
    const addr = res.ips[0]!.address;
    expect(addr).toMatch(poolIp(31));
    expect(res.ips[0]).toEqual({ address: addr, gateway: '10.79.31.1', interface: 2 });
    expect(res.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.79.31.1' }]);
    expect(res.interfaces.map((i) => i.name)).toEqual(['cni-dh', expect.stringMatching(/^veth/), 'eth0']);
    expect(res.interfaces[2]!.sandbox).toBe(`/run/netns/${ctr}`);
    const ip = addr.split('/')[0]!;
    const mac = res.interfaces[2]!.mac!;

    // dnsmasq leased that address to this attachment's client id and MAC.
    const lease = srv.leases().get(ip);
    expect(lease).toMatchObject({ mac, clientId: clientIdHex('ctr-br', 'dhbr', 'eth0') });
    expect(srv.log()).toMatch(new RegExp(`DHCPACK\\(br0\\) ${ip.replace(/\./g, '\\.')} ${mac}`));
    expect(dmn.stderr()).toMatch(new RegExp(`lease acquired: container=ctr-br net=dhbr if=eth0 ip=${ip.replace(/\./g, '\\.')}/24 .* uplink=cni-dh\n`));

    // Kernel state: container eth0 has the address, the MAC of the result, a default route via
    // dnsmasq's router; the host veth is a port of the node bridge; the bridge has no address.
    const st = containerState(ctr);
    expect(st.eth0.flags).toContain('UP');
    expect(st.eth0.address).toBe(mac);
    expect(st.eth0.linkinfo?.info_kind).toBe('veth');
    expect(st.eth0.addr_info?.filter((a) => a.family === 'inet')).toEqual([expect.objectContaining({ local: ip, prefixlen: 24 })]);
    expect(st.routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.79.31.1', dev: 'eth0' }));
    expect(st.routes).toContainEqual(expect.objectContaining({ dst: '10.79.31.0/24', dev: 'eth0' }));
    const ports = ipJson<IpLink[]>(['link', 'show', 'master', 'cni-dh'], node).map((l) => l.ifname).sort();
    expect(ports).toEqual([res.interfaces[1]!.name, 'dhup'].sort());
    const br = ipJson<IpLink[]>(['addr', 'show', 'dev', 'cni-dh'], node)[0]!;
    expect(br.addr_info?.filter((a) => a.family === 'inet')).toEqual([]);

    // The container reaches the DHCP server across the node bridge.
    expect(ping(ctr, srv.gateway)).toBe(0);

    // CHECK with the ADD result as prevResult passes; with a route missing in the container it fails.
    const check = await runInNode(node, 'bridge', env('CHECK', 'ctr-br', ctr), { ...conf, prevResult: res });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    spawnSync('ip', ['-n', ctr, 'route', 'del', 'default']);
    const bad = await runInNode(node, 'bridge', env('CHECK', 'ctr-br', ctr), { ...conf, prevResult: res });
    expect(bad.status).toBe(1);
    expect(bad.json).toEqual({ code: 101, msg: 'Expected Route 0.0.0.0/0 via 10.79.31.1 not found in routing table' });

    const del = await runInNode(node, 'bridge', env('DEL', 'ctr-br', ctr), conf);
    expect(del.status, del.stdout + del.stderr).toBe(0);
    // bridge deletes the container veth before IPAM DEL (as the reference): the daemon sends the
    // DHCPRELEASE on the node bridge the veth was a port of.
    await expectReleased(srv, dmn, ctr, ip, 'ctr-br', '"DHCPRELEASE via cni-dh"');
    expect(ipJson<IpLink[]>(['link', 'show', 'master', 'cni-dh'], node).map((l) => l.ifname)).toEqual(['dhup']);

    const del2 = await runInNode(node, 'bridge', env('DEL', 'ctr-br', ctr), conf);
    expect(del2.status, del2.stdout + del2.stderr).toBe(0);
    expect(dmn.stderr()).toMatch(/release: no lease held: container=ctr-br/);
    expect(fs.readdirSync(dmn.stateDir)).toEqual([]);
  });

  it('macvlan (master = node veth uplink to the server segment): ADD leases with option-121 routes, kernel state matches, ping, CHECK 1.0.0, DEL releases, second DEL ok', async () => {
    const srv = await startServer({
      net: 32,
      extra: ['--dhcp-option=121,10.79.232.0/24,10.79.32.1,0.0.0.0/0,10.79.32.1'],
    });
    const node = createNode();
    uplink(srv, node, 'mvup');
    const dmn = await startDaemon(tempDir(), [], node);
    const ctr = createNetns('tscni-dh-c');
    const conf = {
      cniVersion: '1.0.0', name: 'dhmv', type: 'macvlan', master: 'mvup', mode: 'bridge',
      ipam: { type: 'dhcp', daemonSocketPath: dmn.socket, request: [{ option: '121' }] },
    };

    const add = await runInNode(node, 'macvlan', env('ADD', 'ctr-mv', ctr), conf);
    expect(add.status, add.stdout + add.stderr).toBe(0);
    const res = add.json as Res;
    expect(res.cniVersion).toBe('1.0.0');
    const addr = res.ips[0]!.address;
    expect(addr).toMatch(poolIp(32));
    expect(res.ips).toEqual([{ address: addr, gateway: '10.79.32.1', interface: 0 }]);
    // Option 121 present: its routes alone, in the server's order.
    expect(res.routes).toEqual([
      { dst: '10.79.232.0/24', gw: '10.79.32.1' },
      { dst: '0.0.0.0/0', gw: '10.79.32.1' },
    ]);
    expect(res.interfaces).toEqual([{ name: 'eth0', mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), sandbox: `/run/netns/${ctr}` }]);
    const ip = addr.split('/')[0]!;
    const mac = res.interfaces[0]!.mac!;
    expect(srv.leases().get(ip)).toMatchObject({ mac, clientId: clientIdHex('ctr-mv', 'dhmv', 'eth0') });
    expect(dmn.stderr()).toMatch(/lease acquired: container=ctr-mv .* uplink=mvup\n/);

    const st = containerState(ctr);
    expect(st.eth0.linkinfo?.info_kind).toBe('macvlan');
    expect(st.eth0.linkinfo?.info_data?.mode).toBe('bridge');
    expect(st.eth0.address).toBe(mac);
    expect(st.eth0.flags).toContain('UP');
    expect(st.eth0.addr_info?.filter((a) => a.family === 'inet')).toEqual([expect.objectContaining({ local: ip, prefixlen: 24 })]);
    expect(st.routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.79.32.1', dev: 'eth0' }));
    expect(st.routes).toContainEqual(expect.objectContaining({ dst: '10.79.232.0/24', gateway: '10.79.32.1', dev: 'eth0' }));

    expect(ping(ctr, srv.gateway)).toBe(0);

    const check = await runInNode(node, 'macvlan', env('CHECK', 'ctr-mv', ctr), { ...conf, prevResult: res });
    expect(check.status, check.stdout + check.stderr).toBe(0);

    const del = await runInNode(node, 'macvlan', env('DEL', 'ctr-mv', ctr), conf);
    expect(del.status, del.stdout + del.stderr).toBe(0);
    // macvlan calls IPAM DEL before deleting its link: the release leaves from eth0 itself.
    await expectReleased(srv, dmn, ctr, ip, 'ctr-mv', 'DHCPRELEASE');
    const del2 = await runInNode(node, 'macvlan', env('DEL', 'ctr-mv', ctr), conf);
    expect(del2.status, del2.stdout + del2.stderr).toBe(0);
    // The master is untouched.
    expect(ipJson<IpLink[]>(['link', 'show', 'dev', 'mvup'], node)[0]!.flags).toContain('UP');
  });

  it('conflist at cniVersion 0.4.0: bridge ADD with dhcp converts the result (ips version "4", interface index), CHECK and DEL run from the cached result', async () => {
    const srv = await startServer({ net: 33 });
    const node = createNode();
    uplink(srv, node, 'dhup', 'cni-dh4');
    const dir = tempDir();
    const dmn = await startDaemon(dir, [], node);
    const ctr = createNetns('tscni-dh-c');
    const conflist = {
      cniVersion: '0.4.0',
      name: 'dh040',
      plugins: [{ type: 'bridge', bridge: 'cni-dh4', isGateway: false, ipam: { type: 'dhcp', daemonSocketPath: dmn.socket } }],
    };
    // What libcni derives for each plugin of the list: name and cniVersion of the list added.
    const derive = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      ...conflist.plugins[0], name: conflist.name, cniVersion: conflist.cniVersion, ...extra,
    });

    const add = await runInNode(node, 'bridge', env('ADD', 'ctr-040', ctr), derive());
    expect(add.status, add.stdout + add.stderr).toBe(0);
    const res = add.json as Res;
    expect(res.cniVersion).toBe('0.4.0');
    const addr = res.ips[0]!.address;
    expect(addr).toMatch(poolIp(33));
    expect(res.ips).toEqual([{ version: '4', address: addr, gateway: '10.79.33.1', interface: 2 }]);
    expect(res.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.79.33.1' }]);
    expect(res.dns).toEqual({}); // a 0.4.0 result always carries dns (Go's struct field)
    expect(res.interfaces).toHaveLength(3);
    expect(res.interfaces[2]).toMatchObject({ name: 'eth0', sandbox: `/run/netns/${ctr}` });
    const ip = addr.split('/')[0]!;
    expect(srv.leases().get(ip)?.clientId).toBe(clientIdHex('ctr-040', 'dh040', 'eth0'));
    expect(containerState(ctr).eth0.addr_info?.map((a) => `${a.local}/${a.prefixlen}`)).toContain(addr);
    expect(ping(ctr, srv.gateway)).toBe(0);

    // CHECK (0.4.0 is the first version with CHECK) with the cached result as prevResult.
    const check = await runInNode(node, 'bridge', env('CHECK', 'ctr-040', ctr), derive({ prevResult: res }));
    expect(check.status, check.stdout + check.stderr).toBe(0);

    // The daemon is restarted (an upgrade) before DEL: the lease, uplink included, comes back from
    // -statedir, and the release still reaches dnsmasq although bridge deleted eth0 first.
    expect(await dmn.stop('SIGTERM')).toBe(0);
    const dmn2 = await startDaemon(dir, [], node);
    expect(dmn2.stderr()).toMatch(/lease resumed: container=ctr-040 net=dh040 if=eth0 ip=/);
    const del = await runInNode(node, 'bridge', env('DEL', 'ctr-040', ctr), derive({ prevResult: res }));
    expect(del.status, del.stdout + del.stderr).toBe(0);
    await expectReleased(srv, dmn2, ctr, ip, 'ctr-040', '"DHCPRELEASE via cni-dh4"');
    const del2 = await runInNode(node, 'bridge', env('DEL', 'ctr-040', ctr), derive({ prevResult: res }));
    expect(del2.status, del2.stdout + del2.stderr).toBe(0);
  });
});
