// The firewall plugin's contract around the rules: config errors, prevResult, versions, DEL without
// anything, a failed ADD leaving nothing, GC of stale attachments (iptables via the ADD records,
// nftables via rule comments), STATUS. The plugin runs in a test-owned node netns; iptables-save and
// nft -j read the kernel back.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, netnsPath, removeAllNetns } from '../../helpers/netns.js';
import { runIn, tempDir, removeDir } from '../../helpers/node-rig.js';
import { DIST_BIN } from '../../helpers/plugin.js';
import { filterRules, firewallConf, nftFirewallRules, prevResult, skipReason } from './common.js';

const skip = skipReason();

describe.skipIf(skip)(`firewall plugin lifecycle${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let ctr = '';
  let state = '';
  let nobus = '';
  let fakebin = '';
  beforeAll(() => {
    ctr = createNetns('fw-lc-ctr');
    state = tempDir('fw-state-');
    fakebin = tempDir('fw-fakebin-');
    nobus = `unix:path=${state}/no-bus`;
  });
  afterAll(() => {
    removeAllNetns();
    removeDir(state);
    removeDir(fakebin);
  });
  const env = (command: string, id = 'c1', extra: Record<string, string> = {}) => ({
    CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netnsPath(ctr), CNI_IFNAME: 'eth0', DBUS_SYSTEM_BUS_ADDRESS: nobus, TSCNI_STATE_DIR: state, ...extra,
  });
  const prev = (v4 = '10.32.30.2/24', v6?: string) => prevResult({ v4, ...(v6 ? { v6 } : {}), sandbox: netnsPath(ctr) });
  const error = (r: { json: unknown }) => r.json as { code: number; msg: string; details?: string };
  /** A directory that shadows one tool with a script failing like a broken one. */
  const failing = (tool: string): string => {
    const dir = join(fakebin, tool);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, tool), `#!/bin/sh\necho "${tool}: simulated failure" >&2\nexit 1\n`);
    chmodSync(join(dir, tool), 0o755);
    return `${dir}:${process.env.PATH}`;
  };

  it('config errors are code 7 naming the key and value; prevResult is required', () => {
    const node = createNetns('fw-lc-node');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ingressPolicy: 'foo' }, /^unknown ingress policy: "foo"$/],
      [{ backend: 'ufw' }, /invalid backend "ufw"/],
      [{ iptablesAdminChainName: 'A'.repeat(29) }, /invalid iptablesAdminChainName "A{29}"/],
      [{ ingressPolicy: 7 }, /ingressPolicy/],
    ];
    for (const [extra, msg] of cases) {
      const r = runIn(node, 'firewall', env('ADD'), firewallConf(extra, prev()));
      expect(error(r).code, r.stdout).toBe(7);
      expect(error(r).msg).toMatch(msg);
    }
    for (const command of ['ADD', 'CHECK']) {
      const r = runIn(node, 'firewall', env(command), firewallConf({ backend: 'iptables' }));
      expect(error(r)).toMatchObject({ code: 7, msg: 'missing prevResult from earlier plugin' });
    }
    const noIf = runIn(node, 'firewall', env('ADD'), firewallConf({ ingressPolicy: 'same-bridge' }, { cniVersion: '1.0.0', ips: [{ address: '10.32.30.2/24' }] }));
    expect(error(noIf).code).toBe(7);
    expect(error(noIf).msg).toContain('interface needs to be set for ingress policy "same-bridge"');
    // Versions: 0.4.0 and later only, as the reference.
    const old = runIn(node, 'firewall', env('ADD'), firewallConf({}, prev('10.32.30.2/24'), '0.3.1'));
    expect(error(old).code).toBe(1);
    const version = runIn(node, 'firewall', { CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' });
    expect((version.json as { supportedVersions: string[] }).supportedVersions).toEqual(['0.4.0', '1.0.0', '1.1.0']);
    expect(filterRules(node)).toEqual([]);
  });

  it('ADD passes a 1.1.0 prevResult through unchanged (routes, dns, every interface field)', () => {
    const node = createNetns('fw-lc-node');
    const rich = {
      ...prev('10.32.30.20/24', 'fd32:30::20/64'),
      cniVersion: '1.1.0',
      routes: [{ dst: '0.0.0.0/0', gw: '10.32.30.1' }, { dst: '10.99.0.0/16', gw: '10.32.30.1', mtu: 1400, priority: 5, table: 100, scope: 0 }],
      dns: { nameservers: ['10.32.30.1'], domain: 'example.test', search: ['a.test'], options: ['ndots:2'] },
    };
    const conf = firewallConf({ backend: 'nftables' }, rich, '1.1.0');
    const r = runIn(node, 'firewall', env('ADD', 'pt'), conf);
    expect(r.status, r.stdout).toBe(0);
    expect(r.json).toEqual(rich);
    expect(runIn(node, 'firewall', env('CHECK', 'pt'), conf).status).toBe(0);
    expect(runIn(node, 'firewall', env('DEL', 'pt'), conf).status).toBe(0);
  });

  it('DEL with no netns, no prevResult and no record succeeds and changes nothing', () => {
    const node = createNetns('fw-lc-node');
    for (const backend of ['iptables', 'nftables', '']) {
      const r = runIn(node, 'firewall', env('DEL', 'none', { CNI_NETNS: '' }), firewallConf({ backend }));
      expect(r.status, r.stdout).toBe(0);
    }
    expect(filterRules(node)).toEqual([]);
  });

  it('a failed ADD (ip6tables-restore fails after IPv4 was written) leaves no rule and no record', () => {
    const node = createNetns('fw-lc-node');
    const r = runIn(node, 'firewall', env('ADD', 'f1', { PATH: failing('ip6tables-restore') }), firewallConf({ backend: 'iptables' }, prev('10.32.30.7/24', 'fd32:30::7/64')));
    expect(error(r).code, r.stdout).toBe(5);
    expect(error(r).details).toContain('simulated failure');
    expect(filterRules(node).filter((l) => l.includes('10.32.30.7'))).toEqual([]);
    expect(existsSync(join(state, 'firewall/fw-net/f1_eth0.json'))).toBe(false);
  });

  for (const backend of ['iptables', 'nftables']) {
    it(`GC (${backend}) removes the rules of this network's attachments not in valid-attachments`, () => {
      const node = createNetns('fw-lc-node');
      const add = (id: string, ip: string, network = 'fw-net') => {
        const conf = { ...firewallConf({ backend }, prev(ip, ip.replace('10.32.30.', 'fd32:30::').replace('/24', '/64')), '1.1.0'), name: network };
        const r = runIn(node, 'firewall', env('ADD', id), conf);
        expect(r.status, r.stdout).toBe(0);
      };
      add('g1', '10.32.30.11/24');
      add('g2', '10.32.30.12/24');
      add('g3', '10.32.30.13/24', 'fw-other');
      if (backend === 'nftables') {
        // A lost record: nftables rules are still found by their comment.
        rmSync(join(state, 'firewall/fw-net/g2_eth0.json'));
      }
      const gc = { cniVersion: '1.1.0', name: 'fw-net', type: 'firewall', backend, 'cni.dev/valid-attachments': [{ containerID: 'g1', ifname: 'eth0' }] };
      const r = runIn(node, 'firewall', { CNI_COMMAND: 'GC', DBUS_SYSTEM_BUS_ADDRESS: nobus, TSCNI_STATE_DIR: state }, gc);
      expect(r.status, r.stdout).toBe(0);
      if (backend === 'iptables') {
        const v4 = filterRules(node).join('\n');
        const v6 = filterRules(node, 6).join('\n');
        expect(v4).not.toContain('10.32.30.12/32');
        expect(v6).not.toContain('fd32:30::12/128');
        expect(v4).toContain('-A CNI-FORWARD -s 10.32.30.11/32 -j ACCEPT');
        expect(v4).toContain('-A CNI-FORWARD -s 10.32.30.13/32 -j ACCEPT');
      } else {
        const ids = nftFirewallRules(node)!.map((x) => /id: (\w+)$/.exec(x.comment ?? '')?.[1]).filter(Boolean);
        expect(ids.sort()).toEqual(['g1', 'g1', 'g1', 'g1', 'g3', 'g3', 'g3', 'g3']);
      }
      expect(readdirSync(join(state, 'firewall/fw-net')).filter((f) => f.startsWith('g'))).toEqual(['g1_eth0.json']);
      for (const [id, net] of [['g1', 'fw-net'], ['g3', 'fw-other']]) {
        runIn(node, 'firewall', env('DEL', id!), { ...firewallConf({ backend }, undefined, '1.1.0'), name: net });
      }
    });
  }

  it('STATUS: 0 when the backend works (nftables: also without a working nft program), 50 when it cannot be used', () => {
    const node = createNetns('fw-lc-node');
    const status = (backend: string, extra: Record<string, string> = {}) =>
      runIn(node, 'firewall', { CNI_COMMAND: 'STATUS', DBUS_SYSTEM_BUS_ADDRESS: nobus, TSCNI_STATE_DIR: state, ...extra }, { cniVersion: '1.1.0', name: 'fw-net', type: 'firewall', backend });
    for (const backend of ['iptables', 'nftables', '']) expect(status(backend).status, backend).toBe(0);
    // The nftables backend speaks netlink: a broken nft tool does not matter, a kernel refusal does.
    expect(status('nftables', { PATH: failing('nft') }).status).toBe(0);
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'fw-net', type: 'firewall', backend: 'nftables' });
    const noAdmin = spawnSync('ip', ['netns', 'exec', node, 'setpriv', '--bounding-set', '-net_admin', '--inh-caps', '-net_admin', join(DIST_BIN, 'firewall')], {
      env: { PATH: process.env.PATH, CNI_COMMAND: 'STATUS', CNI_PATH: DIST_BIN, DBUS_SYSTEM_BUS_ADDRESS: nobus, TSCNI_STATE_DIR: state }, input: conf, encoding: 'utf8',
    });
    expect(JSON.parse(noAdmin.stdout)).toMatchObject({ code: 50, msg: 'the firewall backend nftables cannot be used', details: expect.stringContaining('EPERM') });
    const ipt = status('iptables', { PATH: failing('iptables-restore') });
    expect(error(ipt).code).toBe(50);
    expect(error(ipt).details).toContain('simulated failure');
  });
});
