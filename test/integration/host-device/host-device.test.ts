// host-device through the built binary: a veth end in a test "node" netns stands in for the host
// device (selectors by name and by hwaddr; kernelpath/pciBusID/deviceID need real devices and are
// unit-tested against a fake sysfs in test/unit/host-device).
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, removeDir, runIn, tempDir, VERSIONS } from '../../helpers/node-rig.js';

interface IpLink { ifname: string; address: string; operstate: string; ifalias?: string; flags: string[] }

let host: string;
let dataDir: string;

const links = (ns: string): IpLink[] => ipJson<IpLink[]>(['link'], ns);
const find = (ns: string, name: string): IpLink | undefined => links(ns).find((l) => l.ifname === name);
const msg = (r: { json: unknown }): string => (r.json as { msg?: string } | undefined)?.msg ?? '';

function conf(extra: Record<string, unknown> = {}, version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: 'hdnet', type: 'host-device', device: 'hd0', ...extra };
}

beforeEach(() => {
  host = createNetns('tscni-hd-h');
  sh(host, 'ip', ['link', 'add', 'hd0', 'type', 'veth', 'peer', 'name', 'hd0p']);
  dataDir = tempDir('tscni-hd-');
});

afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
});

describe('host-device', () => {
  it.each(VERSIONS.filter((v) => v >= '0.3.0'))('cniVersion %s: moves the device in by name, keeps its MAC, and back on DEL', (version) => {
    const c = createNetns('tscni-hd-c');
    const mac = find(host, 'hd0')?.address;
    const cfg = conf({}, version);
    const r = runIn(host, 'host-device', cniEnv('ADD', c), cfg);
    expect(r.status, r.stdout).toBe(0);
    expect(find(host, 'hd0')).toBeUndefined();
    const inC = find(c, 'eth0');
    expect(inC?.address).toBe(mac);
    expect(inC?.flags).toContain('UP');
    expect(inC?.ifalias).toBe('hd0');
    expect((r.json as { interfaces: unknown[] }).interfaces).toEqual([{ name: 'eth0', mac, sandbox: `/run/netns/${c}` }]);
    const chk = runIn(host, 'host-device', cniEnv('CHECK', c), { ...cfg, prevResult: r.json });
    if (version >= '0.4.0') expect(chk.status, chk.stdout).toBe(0);
    expect(runIn(host, 'host-device', cniEnv('DEL', c), cfg).status).toBe(0);
    expect(find(c, 'eth0')).toBeUndefined();
    const back = find(host, 'hd0');
    expect(back?.address).toBe(mac);
    expect(back?.flags).not.toContain('UP');
    expect(back?.ifalias ?? '').toBe('');
    // Idempotent DEL (the reference fails here: its DEL is not idempotent).
    expect(runIn(host, 'host-device', cniEnv('DEL', c), cfg).status).toBe(0);
  });

  it('selects by hwaddr, with IPAM', () => {
    const c = createNetns('tscni-hd-c');
    const mac = find(host, 'hd0')?.address ?? '';
    const cfg = { cniVersion: '1.0.0', name: 'hdnet', type: 'host-device', hwaddr: mac.toUpperCase(), ipam: { type: 'host-local', subnet: '10.78.30.0/24', dataDir } };
    const r = runIn(host, 'host-device', cniEnv('ADD', c), cfg);
    expect(r.status, r.stdout).toBe(0);
    expect(ipJson<{ addr_info: { local: string }[] }[]>(['-4', 'addr', 'show', 'eth0'], c)[0]?.addr_info[0]?.local).toBe('10.78.30.2');
    expect(runIn(host, 'host-device', cniEnv('CHECK', c), { ...cfg, prevResult: r.json }).status).toBe(0);
    expect(runIn(host, 'host-device', cniEnv('DEL', c), cfg).status).toBe(0);
    expect(find(host, 'hd0')).toBeDefined();
    expect(existsSync(`${dataDir}/hdnet/10.78.30.2`)).toBe(false);
  });

  it('needs a selector; a missing device is an error naming it', () => {
    const c = createNetns('tscni-hd-c');
    const none = runIn(host, 'host-device', cniEnv('ADD', c), { cniVersion: '1.0.0', name: 'hdnet', type: 'host-device' });
    expect(msg(none)).toBe('specify either "device", "hwaddr", "kernelpath" or "pciBusID"');
    const missing = runIn(host, 'host-device', cniEnv('ADD', c), conf({ device: 'nope0' }));
    expect(msg(missing)).toContain('"nope0"');
    const badPath = runIn(host, 'host-device', cniEnv('ADD', c), { cniVersion: '1.0.0', name: 'hdnet', type: 'host-device', kernelpath: 'relative/x' });
    expect(msg(badPath)).toContain('must be absolute and begin with /sys/devices/');
  });

  it('moves host "eth0" in as net1 while the container has its own eth0', () => {
    sh(host, 'ip', ['link', 'set', 'hd0', 'name', 'eth0']);
    const c = createNetns('tscni-hd-c');
    sh(c, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other']);
    const own = find(c, 'eth0')?.address;
    const cfg = conf({ device: 'eth0' });
    const r = runIn(host, 'host-device', cniEnv('ADD', c, 'ctr1', 'net1'), cfg);
    expect(r.status, r.stdout).toBe(0);
    expect(find(c, 'net1')?.ifalias).toBe('eth0');
    expect(find(c, 'eth0')?.address).toBe(own);
    expect(runIn(host, 'host-device', cniEnv('DEL', c, 'ctr1', 'net1'), cfg).status).toBe(0);
    expect(find(host, 'eth0')).toBeDefined();
    expect(find(c, 'eth0')?.address).toBe(own);
  });

  it('DEL with a name conflict on the node fails and leaves the device in the container, UP; then succeeds', () => {
    const c = createNetns('tscni-hd-c');
    expect(runIn(host, 'host-device', cniEnv('ADD', c), conf()).status).toBe(0);
    sh(host, 'ip', ['link', 'add', 'hd0', 'type', 'veth', 'peer', 'name', 'hd0q']);
    const del = runIn(host, 'host-device', cniEnv('DEL', c), conf());
    expect(del.status).toBe(1);
    expect(msg(del)).toContain('already exists in the host netns');
    expect(find(c, 'eth0')?.flags).toContain('UP');
    sh(host, 'ip', ['link', 'del', 'hd0']);
    expect(runIn(host, 'host-device', cniEnv('DEL', c), conf()).status).toBe(0);
    expect(find(host, 'hd0')).toBeDefined();
  });

  it('a failed ADD (IPAM route error) returns the device to the node', () => {
    const c = createNetns('tscni-hd-c');
    const cfg = conf({ ipam: { type: 'host-local', subnet: '10.78.31.0/24', dataDir, routes: [{ dst: '10.99.0.0/16', gw: '10.200.0.1' }] } });
    const r = runIn(host, 'host-device', cniEnv('ADD', c), cfg);
    expect(r.status).toBe(1);
    expect(find(c, 'eth0')).toBeUndefined();
    expect(find(host, 'hd0')).toBeDefined();
    expect(existsSync(`${dataDir}/hdnet/10.78.31.2`)).toBe(false);
  });

  it('DEL succeeds without a netns', () => {
    const env = cniEnv('DEL', 'tscni-hd-gone');
    expect(runIn(host, 'host-device', env, conf()).status).toBe(0);
    expect(runIn(host, 'host-device', { ...env, CNI_NETNS: '' }, conf()).status).toBe(0);
  });
});
