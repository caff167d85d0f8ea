// vrf through the built binary, chained after our bridge plugin. This kernel may lack VRF devices
// (CONFIG_NET_VRF): then the end-to-end scenarios are skipped, naming the feature, and the tests
// that run check that the kernel's refusal is a clean spec error that leaves the container as it was.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, removeDir, runIn, tempDir, type Impl } from '../../helpers/node-rig.js';
import type { PluginRun } from '../../helpers/plugin.js';
import { allRoutes, attach, NET0, NET1, type Net } from '../sbr/rig.js';

function vrfSupported(): boolean {
  const ns = `sb-probe-${randomBytes(4).toString('hex')}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return false;
  try {
    return spawnSync('ip', ['-n', ns, 'link', 'add', 'sbvrf', 'type', 'vrf', 'table', '10']).status === 0;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
const supported = vrfSupported();
const MISSING = 'kernel lacks VRF devices (CONFIG_NET_VRF / vrf.ko)';

let host: string;
let dataDir: string;
beforeEach(() => {
  host = createNetns('sb-n');
  sh(host, 'ip', ['link', 'set', 'lo', 'up']);
  dataDir = tempDir('sb-');
});
afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
});

const vrfConf = (prev: unknown, extra: Record<string, unknown> = {}, version = '1.0.0'): Record<string, unknown> => ({
  cniVersion: version, name: 'sbvrf', type: 'vrf', vrfname: 'sb-vrf', ...extra, ...(prev ? { prevResult: prev } : {}),
});
const vrf = (c: string, command: string, cfg: Record<string, unknown>, ifName = 'eth0', impl: Impl = 'ours'): PluginRun =>
  runIn(host, 'vrf', cniEnv(command, c, c, ifName), cfg, impl);
const msg = (r: { json: unknown }): string => (r.json as { msg?: string } | undefined)?.msg ?? '';
const codeOf = (r: { json: unknown }): number | undefined => (r.json as { code?: number } | undefined)?.code;

interface DLink { ifname: string; master?: string; linkinfo?: { info_kind?: string; info_data?: { table?: number } } }
const dlinks = (c: string): DLink[] => ipJson<DLink[]>(['-d', 'link', 'show'], c);
const snapshot = (c: string): unknown => ({
  links: dlinks(c).map((l) => `${l.ifname} ${l.linkinfo?.info_kind ?? ''} ${l.master ?? ''}`),
  addrs: ipJson<{ ifname: string; addr_info: { local: string; prefixlen: number }[] }[]>(['addr', 'show'], c)
    .map((a) => `${a.ifname}: ${a.addr_info.map((i) => `${i.local}/${i.prefixlen}`).join(' ')}`),
  routes: allRoutes(c),
});

function container(net: Net = NET0): { c: string; prev: Record<string, unknown> } {
  const c = createNetns('sb-c');
  return { c, prev: attach(host, c, 'eth0', net, dataDir) };
}

describe('vrf config and prevResult', () => {
  it('prevResult is required for ADD and CHECK (code 7, the reference message)', () => {
    const { c } = container();
    for (const cmd of ['ADD', 'CHECK']) {
      const r = vrf(c, cmd, vrfConf(undefined));
      expect(r.status).toBe(1);
      expect(codeOf(r)).toBe(7);
      expect(msg(r)).toBe('missing prevResult from earlier plugin');
    }
  });
  it('vrfname is required; versions before 0.3.1 are refused', () => {
    const { c, prev } = container();
    const r = vrf(c, 'ADD', { ...vrfConf(prev), vrfname: '' });
    expect(codeOf(r)).toBe(7);
    expect(msg(r)).toBe('configuration is expected to have a valid vrf name');
    const old = vrf(c, 'ADD', vrfConf(undefined, {}, '0.3.0'));
    expect(codeOf(old)).toBe(1);
  });
});

describe.skipIf(supported)(`vrf without kernel support (${MISSING})`, () => {
  it('ADD fails with code 100 naming the operation, the container is unchanged; DEL succeeds; CHECK says the VRF is missing', () => {
    const { c, prev } = container();
    const before = snapshot(c);
    for (const extra of [{}, { table: 42 }]) {
      const r = vrf(c, 'ADD', vrfConf(prev, extra));
      expect(r.status).toBe(1);
      expect(codeOf(r)).toBe(100);
      const table = 'table' in extra ? 42 : 1;
      expect(msg(r)).toMatch(new RegExp(`^could not add VRF sb-vrf: link add sb-vrf type vrf table ${table}: EOPNOTSUPP`));
      expect(snapshot(c)).toEqual(before);
    }
    expect(vrf(c, 'DEL', vrfConf(prev)).status).toBe(0);
    const chk = vrf(c, 'CHECK', vrfConf(prev));
    expect(codeOf(chk)).toBe(101);
    expect(msg(chk)).toBe('VRF sb-vrf not found');
    expect(snapshot(c)).toEqual(before);
  });
  it('the Go reference fails the same way (code 999 there)', () => {
    const { c, prev } = container();
    const r = vrf(c, 'ADD', vrfConf(prev), 'eth0', 'ref');
    expect(r.status).toBe(1);
    expect(msg(r)).toMatch(/could not add VRF sb-vrf: operation not supported/);
  });
});

describe.skipIf(!supported)(supported ? 'vrf' : `vrf (skipped: ${MISSING})`, () => {
  const vrfLink = (c: string, name = 'sb-vrf'): DLink | undefined => dlinks(c).find((l) => l.ifname === name);

  it('creates the VRF (first free table), enslaves eth0, passes prevResult through; CHECK; DEL removes the VRF', () => {
    const { c, prev } = container();
    const r = vrf(c, 'ADD', vrfConf(prev));
    expect(r.status, r.stdout).toBe(0);
    expect(r.json).toEqual(prev);
    expect(vrfLink(c)?.linkinfo?.info_kind).toBe('vrf');
    expect(vrfLink(c)?.linkinfo?.info_data?.table).toBe(1);
    expect(dlinks(c).find((l) => l.ifname === 'eth0')?.master).toBe('sb-vrf');
    expect(allRoutes(c).some((l) => l.startsWith('table 1 ') && l.includes('10.35.1.0/24'))).toBe(true);
    expect(vrf(c, 'CHECK', vrfConf(prev)).status).toBe(0);
    expect(vrf(c, 'DEL', vrfConf(prev)).status).toBe(0);
    expect(vrfLink(c)).toBeUndefined();
    expect(vrf(c, 'DEL', vrfConf(prev)).status).toBe(0);
  });

  it('custom table; already-mastered interface refused', () => {
    const { c, prev } = container();
    expect(vrf(c, 'ADD', vrfConf(prev, { table: 42 })).status).toBe(0);
    expect(vrfLink(c)?.linkinfo?.info_data?.table).toBe(42);
    const again = vrf(c, 'ADD', vrfConf(prev, { vrfname: 'sb-vrf2' }));
    expect(again.status).toBe(1);
    expect(msg(again)).toBe('interface eth0 has already a master set: sb-vrf');
  });

  it('two interfaces in one VRF: the VRF goes with the last; same VRF with another table refused; another VRF on the same table allowed', () => {
    const c = createNetns('sb-c');
    const p0 = attach(host, c, 'eth0', NET0, dataDir);
    const p1 = attach(host, c, 'net1', NET1, dataDir);
    expect(vrf(c, 'ADD', vrfConf(p0, { table: 7 })).status).toBe(0);
    const conflict = vrf(c, 'ADD', vrfConf(p1, { table: 8 }), 'net1');
    expect(msg(conflict)).toBe('VRF sb-vrf already exist with different routing table 7');
    expect(vrf(c, 'ADD', vrfConf(p1, { table: 7 }), 'net1').status).toBe(0);
    expect(vrf(c, 'DEL', vrfConf(p0)).status).toBe(0);
    expect(vrfLink(c)).toBeDefined();
    expect(vrf(c, 'DEL', vrfConf(p1), 'net1').status).toBe(0);
    expect(vrfLink(c)).toBeUndefined();
    expect(vrf(c, 'ADD', vrfConf(p0, { table: 7 })).status).toBe(0);
    expect(vrf(c, 'ADD', vrfConf(p1, { vrfname: 'sb-vrf2', table: 7 }), 'net1').status).toBe(0);
  });
});
