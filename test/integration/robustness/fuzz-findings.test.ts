// Regression tests for what `npm run fuzz` and `npm run crash` found (issue 12), each through the
// built binaries with the kernel read back by `ip`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetns, removeNetns } from '../../helpers/netns.js';
import { runPlugin, runPluginInNetns, DIST_BIN } from '../../helpers/plugin.js';

const made: string[] = [];
afterAll(() => {
  for (const n of made) removeNetns(n);
});
const ip = (ns: string, ...args: string[]): string => {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

describe('fuzz findings', () => {
  it('sbr: DEL removes the rule of a prevResult address that was not on the link (ADD made one)', () => {
    const node = createNetns('trb-fn');
    const ctr = createNetns('trb-fc');
    made.push(node, ctr);
    ip(node, 'link', 'add', 'trbhv0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ctr);
    ip(ctr, 'link', 'set', 'eth0', 'up');
    ip(ctr, 'addr', 'add', '10.153.150.2/24', 'dev', 'eth0');
    const conf = {
      cniVersion: '1.0.0', name: 'trbsbr', type: 'sbr',
      prevResult: {
        cniVersion: '1.0.0',
        interfaces: [{ name: 'eth0', sandbox: `/run/netns/${ctr}` }],
        // The second address lies: it is not on eth0.
        ips: [{ address: '10.153.150.2/24', interface: 0 }, { address: '10.153.151.9/32', interface: 0 }],
      },
    };
    const env = { CNI_CONTAINERID: 'trbsbr1', CNI_NETNS: `/run/netns/${ctr}`, CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN };
    const add = runPluginInNetns(node, 'sbr', { ...env, CNI_COMMAND: 'ADD' }, conf);
    expect(add.status, add.stdout).toBe(0);
    const rules = (): string[] => (JSON.parse(ip(ctr, '-4', '-j', 'rule', 'show')) as { src?: string; table: string }[]).filter((r) => r.src && r.src !== 'all').map((r) => `${r.src} ${r.table}`);
    expect(rules().sort()).toEqual(['10.153.150.2 100', '10.153.151.9 101'].sort());
    const del = runPluginInNetns(node, 'sbr', { ...env, CNI_COMMAND: 'DEL' }, conf);
    expect(del.status, del.stdout).toBe(0);
    expect(rules()).toEqual([]);

    // A prevResult IP without an address (decoded as Go's zero IPNet, "<nil>") was code 999.
    const noAddress = { ...conf, prevResult: { ...conf.prevResult, ips: [{ interface: 0, gateway: '10.153.150.1' }] } };
    const bad = runPluginInNetns(node, 'sbr', { ...env, CNI_COMMAND: 'ADD' }, noAddress);
    expect(bad.status, bad.stdout).toBe(1);
    expect(bad.json).toMatchObject({ code: 7 });
    expect(JSON.stringify(bad.json)).toContain('prevResult.ips[0].address');
    expect(rules()).toEqual([]);
    expect(runPluginInNetns(node, 'sbr', { ...env, CNI_COMMAND: 'DEL' }, noAddress).status).toBe(0);
  });

  it('host-local and static: runtimeConfig.ips / args.cni.ips / runtimeConfig.ipRanges of the wrong type are code 7 naming the field (were code 999)', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'trb-ff-'));
    try {
      const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'trbff1', CNI_NETNS: '/run/netns/trb-none', CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN };
      const hl = { cniVersion: '1.0.0', name: 'trbff', type: 'bridge', ipam: { type: 'host-local', subnet: '10.153.152.0/24', dataDir } };
      const st = { cniVersion: '1.0.0', name: 'trbff', type: 'bridge', ipam: { type: 'static', addresses: [{ address: '10.153.153.2/24' }] } };
      const cases: [string, Record<string, unknown>, string][] = [
        ['host-local', { ...hl, runtimeConfig: { ips: '10.153.152.5' } }, 'runtimeConfig.ips'],
        ['host-local', { ...hl, args: { cni: { ips: 5 } } }, 'args.cni.ips'],
        ['host-local', { ...hl, runtimeConfig: { ipRanges: 'x' } }, 'runtimeConfig.ipRanges'],
        ['host-local', { ...hl, runtimeConfig: { ips: [7] } }, 'runtimeConfig.ips[0]'],
        ['static', { ...st, runtimeConfig: { ips: '10.153.153.5/24' } }, 'runtimeConfig.ips'],
        ['static', { ...st, args: { cni: { ips: {} } } }, 'args.cni.ips'],
      ];
      for (const [plugin, conf, field] of cases) {
        const r = runPlugin(plugin, env, conf);
        expect(r.status, `${plugin} ${field}: ${r.stdout}`).toBe(1);
        expect(r.json, `${plugin} ${field}`).toMatchObject({ code: 7 });
        expect(JSON.stringify(r.json), plugin).toContain(field);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('bandwidth: GC removes the ifb of an ADD killed before the ifb got its alias (found by npm run crash)', () => {
    const node = createNetns('trb-fb');
    const ctr = createNetns('trb-fbc');
    made.push(node, ctr);
    ip(node, 'link', 'set', 'lo', 'up');
    const dir = mkdtempSync(path.join(tmpdir(), 'trb-fb-'));
    try {
      const env = { CNI_CONTAINERID: 'trbbw1', CNI_NETNS: `/run/netns/${ctr}`, CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN, TSCNI_STATE_DIR: path.join(dir, 'state') };
      const net = { cniVersion: '1.1.0', name: 'trbbw' };
      const br = runPluginInNetns(node, 'bridge', { ...env, CNI_COMMAND: 'ADD' }, {
        ...net, type: 'bridge', bridge: 'trbbw0', ipam: { type: 'host-local', subnet: '10.153.154.0/24', dataDir: path.join(dir, 'ipam') },
      });
      expect(br.status, br.stdout).toBe(0);
      const bw = runPluginInNetns(node, 'bandwidth', { ...env, CNI_COMMAND: 'ADD' }, {
        ...net, type: 'bandwidth', egressRate: 8_000_000, egressBurst: 80_000, prevResult: br.json,
      });
      expect(bw.status, bw.stdout).toBe(0);
      const ifbs = (): string[] => (JSON.parse(ip(node, '-d', '-j', 'link', 'show', 'type', 'ifb')) as { ifname: string }[]).map((l) => l.ifname);
      const [ifb] = ifbs();
      expect(ifb).toBeDefined();
      // What a kill between the ifb's creation and its alias leaves: an ifb without alias. Then the
      // sandbox goes away without DEL, and GC runs with a list that does not hold the attachment.
      ip(node, 'link', 'set', 'dev', ifb!, 'alias', '');
      removeNetns(ctr);
      const gc = runPluginInNetns(node, 'bandwidth', { CNI_COMMAND: 'GC', CNI_PATH: DIST_BIN, TSCNI_STATE_DIR: env.TSCNI_STATE_DIR }, {
        ...net, type: 'bandwidth', 'cni.dev/valid-attachments': [],
      });
      expect(gc.status, gc.stdout).toBe(0);
      expect(ifbs()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
