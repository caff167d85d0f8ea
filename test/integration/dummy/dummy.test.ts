// dummy end to end; skipped, naming the feature, on kernels without dummy links.
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, removeDir, runIn, tempDir } from '../../helpers/node-rig.js';
import { kernelSupports, MISSING } from '../../helpers/kernel.js';

const supported = kernelSupports('dummy');
let host: string;
let dataDir: string;

beforeEach(() => {
  host = createNetns('tscni-dm-h');
  dataDir = tempDir('tscni-dm-');
});
afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
});

describe.skipIf(!supported)(supported ? 'dummy' : `dummy (skipped: ${MISSING.dummy})`, () => {
  it('ADD/CHECK/DEL with host-local, even when the node has a link of the same name', () => {
    sh(host, 'ip', ['link', 'add', 'foobar0', 'type', 'dummy']);
    const c = createNetns('tscni-dm-c');
    const cfg = { cniVersion: '1.0.0', name: 'dmnet', type: 'dummy', ipam: { type: 'host-local', subnet: '10.78.50.0/24', dataDir } };
    const r = runIn(host, 'dummy', cniEnv('ADD', c, 'ctr1', 'foobar0'), cfg);
    expect(r.status, r.stdout).toBe(0);
    const l = ipJson<{ ifname: string; linkinfo?: { info_kind: string } }[]>(['-d', 'link', 'show', 'foobar0'], c)[0];
    expect(l?.linkinfo?.info_kind).toBe('dummy');
    expect(runIn(host, 'dummy', cniEnv('CHECK', c, 'ctr1', 'foobar0'), { ...cfg, prevResult: r.json }).status).toBe(0);
    expect(runIn(host, 'dummy', cniEnv('DEL', c, 'ctr1', 'foobar0'), cfg).status).toBe(0);
    expect(existsSync(`${dataDir}/dmnet/10.78.50.2`)).toBe(false);
  });
});

describe('dummy without kernel support', () => {
  it('refuses a config without ipam before touching the kernel', () => {
    const c = createNetns('tscni-dm-c');
    const r = runIn(host, 'dummy', cniEnv('ADD', c), { cniVersion: '1.0.0', name: 'dmnet', type: 'dummy' });
    expect((r.json as { msg: string }).msg).toBe('dummy interface requires an IPAM configuration');
  });
  it.skipIf(supported)('reports the kernel refusal and releases the address', () => {
    const c = createNetns('tscni-dm-c');
    const cfg = { cniVersion: '1.0.0', name: 'dmnet', type: 'dummy', ipam: { type: 'host-local', subnet: '10.78.50.0/24', dataDir } };
    const r = runIn(host, 'dummy', cniEnv('ADD', c), cfg);
    expect(r.status).toBe(1);
    expect((r.json as { msg: string }).msg).toMatch(/^failed to create dummy interface/);
    expect(existsSync(`${dataDir}/dmnet/10.78.50.2`)).toBe(false);
  });
});
