// vlan end to end; skipped, naming the feature, on kernels without 802.1Q.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, removeDir, runIn, tempDir } from '../../helpers/node-rig.js';
import { kernelSupports, MISSING } from '../../helpers/kernel.js';

const supported = kernelSupports('vlan');
let host: string;
let dataDir: string;

beforeEach(() => {
  host = createNetns('tscni-vl-h');
  sh(host, 'ip', ['link', 'add', 'vlm0', 'mtu', '1200', 'type', 'veth', 'peer', 'name', 'vlm0p']);
  sh(host, 'ip', ['link', 'set', 'vlm0', 'up']);
  dataDir = tempDir('tscni-vl-');
});
afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
});

const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0', name: 'vlnet', type: 'vlan', master: 'vlm0', vlanId: 5, ipam: { type: 'host-local', subnet: '10.78.70.0/24', dataDir }, ...extra,
});

describe.skipIf(!supported)(supported ? 'vlan' : `vlan (skipped: ${MISSING.vlan})`, () => {
  it('ADD/CHECK/DEL; mtu unset inherits the master MTU', () => {
    const c = createNetns('tscni-vl-c');
    const r = runIn(host, 'vlan', cniEnv('ADD', c), conf());
    expect(r.status, r.stdout).toBe(0);
    const l = ipJson<{ mtu: number; linkinfo?: { info_kind: string; info_data?: { id: number } } }[]>(['-d', 'link', 'show', 'eth0'], c)[0];
    expect(l?.linkinfo?.info_kind).toBe('vlan');
    expect(l?.linkinfo?.info_data?.id).toBe(5);
    expect(l?.mtu).toBe(1200);
    expect(runIn(host, 'vlan', cniEnv('CHECK', c), { ...conf(), prevResult: r.json }).status).toBe(0);
    expect(runIn(host, 'vlan', cniEnv('DEL', c), conf()).status).toBe(0);
  });
});

describe('vlan checks that need no 802.1Q support', () => {
  it('mtu above the master MTU is refused with the reference message', () => {
    const c = createNetns('tscni-vl-c');
    const r = runIn(host, 'vlan', cniEnv('ADD', c), conf({ mtu: 1600 }));
    expect((r.json as { msg: string }).msg).toBe('invalid MTU 1600, must be [0, master MTU(1200)]');
  });
  it('DEL succeeds when the master is gone (the reference fails here)', () => {
    const c = createNetns('tscni-vl-c');
    expect(runIn(host, 'vlan', cniEnv('DEL', c), conf({ master: 'gone0' })).status).toBe(0);
  });
  it.skipIf(supported)('reports the kernel refusal', () => {
    const c = createNetns('tscni-vl-c');
    const r = runIn(host, 'vlan', cniEnv('ADD', c), conf());
    expect((r.json as { msg: string }).msg).toMatch(/^failed to create vlan/);
  });
});
