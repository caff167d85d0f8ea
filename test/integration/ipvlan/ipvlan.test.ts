// ipvlan end to end; skipped, naming the feature, on kernels without ipvlan.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, removeDir, runIn, tempDir } from '../../helpers/node-rig.js';
import { kernelSupports, MISSING } from '../../helpers/kernel.js';

const supported = kernelSupports('ipvlan');
let host: string;
let dataDir: string;

beforeEach(() => {
  host = createNetns('tscni-iv-h');
  sh(host, 'ip', ['link', 'add', 'ivm0', 'type', 'veth', 'peer', 'name', 'ivm0p']);
  sh(host, 'ip', ['link', 'set', 'ivm0', 'up']);
  dataDir = tempDir('tscni-iv-');
});
afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
});

describe.skipIf(!supported)(supported ? 'ipvlan' : `ipvlan (skipped: ${MISSING.ipvlan})`, () => {
  it.each(['l2', 'l3'])('mode %s: ADD/CHECK/DEL with host-local', (mode) => {
    const c = createNetns('tscni-iv-c');
    const cfg = { cniVersion: '1.0.0', name: 'ivnet', type: 'ipvlan', master: 'ivm0', mode, ipam: { type: 'host-local', subnet: '10.78.60.0/24', dataDir } };
    const r = runIn(host, 'ipvlan', cniEnv('ADD', c), cfg);
    expect(r.status, r.stdout).toBe(0);
    expect(ipJson<{ linkinfo?: { info_kind: string } }[]>(['-d', 'link', 'show', 'eth0'], c)[0]?.linkinfo?.info_kind).toBe('ipvlan');
    expect(runIn(host, 'ipvlan', cniEnv('CHECK', c), { ...cfg, prevResult: r.json }).status).toBe(0);
    expect(runIn(host, 'ipvlan', cniEnv('DEL', c), cfg).status).toBe(0);
  });
});

describe('ipvlan without kernel support', () => {
  it.skipIf(supported)('reports the kernel refusal and leaves nothing behind', () => {
    const c = createNetns('tscni-iv-c');
    const cfg = { cniVersion: '1.0.0', name: 'ivnet', type: 'ipvlan', master: 'ivm0', ipam: { type: 'host-local', subnet: '10.78.60.0/24', dataDir } };
    const r = runIn(host, 'ipvlan', cniEnv('ADD', c), cfg);
    expect(r.status).toBe(1);
    expect((r.json as { msg: string }).msg).toMatch(/^failed to create ipvlan/);
    expect(runIn(host, 'ipvlan', cniEnv('DEL', c), cfg).status).toBe(0);
  });
});
