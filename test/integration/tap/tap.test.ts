// tap through the built binary against real namespaces.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, ipJson, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, removeDir, runIn, tempDir, VERSIONS } from '../../helpers/node-rig.js';

interface IpLink { ifname: string; address: string; mtu: number; master?: string; flags: string[]; linkinfo?: { info_kind: string } }

let host: string;
let dataDir: string;
const link = (ns: string, name = 'eth0'): IpLink | undefined => ipJson<IpLink[]>(['-d', 'link'], ns).find((l) => l.ifname === name);
const msg = (r: { json: unknown }): string => (r.json as { msg?: string } | undefined)?.msg ?? '';
/** tun_flags from sysfs inside the container netns (IFF_* bits as hex). */
const tunFlags = (ns: string, name = 'eth0'): number => Number.parseInt(execInNetns(ns, 'cat', [`/sys/class/net/${name}/tun_flags`]).stdout.trim(), 16);
const owner = (ns: string, name = 'eth0'): string => execInNetns(ns, 'cat', [`/sys/class/net/${name}/owner`]).stdout.trim();

function conf(extra: Record<string, unknown> = {}, version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: 'tapnet', type: 'tap', ipam: { type: 'host-local', subnet: '10.78.40.0/24', dataDir }, ...extra };
}

beforeEach(() => {
  host = createNetns('tscni-tp-h');
  dataDir = tempDir('tscni-tp-');
});

afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
});

describe('tap', () => {
  it.each(VERSIONS)('cniVersion %s: owner 0, group 0 and host-local: a tap named <if> with the result MAC and one address', (version) => {
    const c = createNetns('tscni-tp-c');
    const cfg = conf({ owner: 0, group: 0 }, version);
    const r = runIn(host, 'tap', cniEnv('ADD', c), cfg);
    expect(r.status, r.stdout).toBe(0);
    const l = link(c);
    expect(l?.linkinfo?.info_kind).toBe('tun');
    expect(l?.flags).toContain('UP');
    expect(tunFlags(c) & 0x0002).toBe(0x0002); // IFF_TAP
    expect(tunFlags(c) & 0x4000).toBe(0x4000); // IFF_VNET_HDR on the owner+group path
    expect(owner(c)).toBe('0');
    expect(ipJson<{ addr_info: { local: string }[] }[]>(['-4', 'addr', 'show', 'eth0'], c)[0]?.addr_info.map((a) => a.local)).toEqual(['10.78.40.2']);
    if (version >= '0.3.0') expect((r.json as { interfaces: { mac: string }[] }).interfaces[0]?.mac).toBe(l?.address);
    if (version >= '0.4.0') expect(runIn(host, 'tap', cniEnv('CHECK', c), { ...cfg, prevResult: r.json }).status).toBe(0);
    expect(runIn(host, 'tap', cniEnv('DEL', c), cfg).status).toBe(0);
    expect(link(c)).toBeUndefined();
    expect(runIn(host, 'tap', cniEnv('DEL', c), cfg).status).toBe(0);
  });

  it('multiQueue, mtu, mac (runtimeConfig beats CNI_ARGS beats conf), L2 without ipam', () => {
    const c = createNetns('tscni-tp-c');
    const cfg = { cniVersion: '1.0.0', name: 'tapnet', type: 'tap', multiQueue: true, mtu: 1280, mac: 'c2:11:22:33:44:01', runtimeConfig: { mac: 'c2:11:22:33:44:03' } };
    const r = runIn(host, 'tap', cniEnv('ADD', c, 'ctr1', 'eth0', { CNI_ARGS: 'IgnoreUnknown=1;MAC=c2:11:22:33:44:02' }), cfg);
    expect(r.status, r.stdout).toBe(0);
    const l = link(c);
    expect(l?.mtu).toBe(1280);
    expect(l?.address).toBe('c2:11:22:33:44:03');
    expect(tunFlags(c) & 0x0100).toBe(0x0100); // IFF_MULTI_QUEUE
    expect(tunFlags(c) & 0x4000).toBe(0); // no vnet header without owner+group, like `ip tuntap`
    expect((r.json as { ips?: unknown[] }).ips ?? []).toEqual([]);
    const c2 = createNetns('tscni-tp-c');
    const args = runIn(host, 'tap', cniEnv('ADD', c2, 'ctr2', 'eth0', { CNI_ARGS: 'MAC=c2:11:22:33:44:02' }), { ...cfg, runtimeConfig: undefined });
    expect(args.status, args.stdout).toBe(0);
    expect(link(c2)?.address).toBe('c2:11:22:33:44:02');
  });

  it('bridge: the tap is enslaved to a bridge inside the container netns', () => {
    const c = createNetns('tscni-tp-c');
    sh(c, 'ip', ['link', 'add', 'br1', 'type', 'bridge']);
    const r = runIn(host, 'tap', cniEnv('ADD', c), conf({ bridge: 'br1' }));
    expect(r.status, r.stdout).toBe(0);
    expect(link(c)?.master).toBe('br1');
    const bad = runIn(host, 'tap', cniEnv('ADD', c, 'ctr2', 'eth1'), conf({ bridge: 'nobr' }));
    expect(msg(bad)).toBe('failed to find bridge "nobr" in the container netns');
    expect(link(c, 'eth1')).toBeUndefined();
  });

  it('selinuxContext is refused as unsupported; owner is honoured', () => {
    const c = createNetns('tscni-tp-c');
    const se = runIn(host, 'tap', cniEnv('ADD', c), conf({ selinuxContext: 'system_u:system_r:container_t:s0' }));
    expect(se.status).toBe(1);
    expect((se.json as { code: number }).code).toBe(2);
    expect(msg(se)).toContain('unsupported field "selinuxContext"');
    const r = runIn(host, 'tap', cniEnv('ADD', c), conf({ owner: 1234 }));
    expect(r.status, r.stdout).toBe(0);
    expect(owner(c)).toBe('1234');
  });
});
