// sbr through the built binary: containers get eth0 and net1 from our bridge plugin inside a
// test-owned node netns, then sbr runs chained on net1 with the bridge's real result; rules and
// routes are read back with `ip -j` inside the container. Side by side with the Go reference
// (Debian's 1.1.1 in /usr/lib/cni: no `table`, `gateways` or `addSourceHints`).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, netnsPath, removeAllNetns, sh } from '../../helpers/netns.js';
import { normalize, removeDir, runIn, tempDir, type Impl } from '../../helpers/node-rig.js';
import type { PluginRun } from '../../helpers/plugin.js';
import {
  allRoutes, container, NET0, NET0_NO_DEFAULT, NET1, NET1_DEFAULT, NET1_DUAL, NET1_TWO, routesOfTable, rules, sbr, sbrConf,
} from './rig.js';

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

const msg = (r: { json: unknown }): string => (r.json as { msg?: string } | undefined)?.msg ?? '';
const codeOf = (r: { json: unknown }): number | undefined => (r.json as { code?: number } | undefined)?.code;
const mainOf = (routes: string[], dev: string): string[] => routes.filter((l) => l.startsWith('table main ') && l.includes(` dev ${dev}`));

describe('sbr ADD', () => {
  it('one address (0.3.0): rule to table 100 with a default route and net1\'s routes; eth0 untouched; DEL removes the rule', () => {
    const { c, net1 } = container(host, dataDir, NET1, '0.3.0');
    const before = allRoutes(c);
    const cfg = sbrConf(net1, {}, '0.3.0');
    const r = sbr(host, c, 'ADD', cfg);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // prevResult passed through unchanged, in the config's version.
    expect(r.json).toEqual(net1);
    expect(rules(c)).toEqual(['32765: from 10.35.2.2 lookup 100']);
    const after = allRoutes(c);
    expect(routesOfTable(c, '100')).toEqual([
      'table 100 10.35.2.0/24 dev net1 proto kernel scope link src 10.35.2.2',
      'table 100 10.35.200.0/24 via 10.35.2.1 dev net1',
      'table 100 default via 10.35.2.1 dev net1',
      'table 100 fe80::/64 dev net1 proto kernel metric 256',
    ]);
    // net1's routes left main; eth0's (the default route included) stayed.
    expect(mainOf(after, 'net1')).toEqual([]);
    expect(mainOf(after, 'eth0')).toEqual(mainOf(before, 'eth0'));
    expect(mainOf(after, 'eth0')).toContain('table main default via 10.35.1.1 dev eth0');

    const d = sbr(host, c, 'DEL', cfg);
    expect(d.status, d.stdout).toBe(0);
    expect(rules(c)).toEqual([]);
    expect(routesOfTable(c, '100')).toEqual([]);
    expect(sbr(host, c, 'DEL', cfg).status).toBe(0);
  });

  it('existing default route through net1: it moves into table 100 (the added one replaced), none left in main', () => {
    const { c, net1 } = container(host, dataDir, NET1_DEFAULT, '1.0.0', NET0_NO_DEFAULT);
    expect(allRoutes(c)).toContain('table main default via 10.35.2.1 dev net1');
    const r = sbr(host, c, 'ADD', sbrConf(net1));
    expect(r.status, r.stdout).toBe(0);
    expect(routesOfTable(c, '100')).toEqual([
      'table 100 10.35.2.0/24 dev net1 proto kernel scope link src 10.35.2.2',
      'table 100 default via 10.35.2.1 dev net1',
      'table 100 fe80::/64 dev net1 proto kernel metric 256',
    ]);
    expect(allRoutes(c).filter((l) => l.startsWith('table main ') && l.includes('default'))).toEqual([]);
  });

  it('two addresses: tables 100 and 101, rules listed 101 then 100', () => {
    const { c, net1 } = container(host, dataDir, NET1_TWO);
    const r = sbr(host, c, 'ADD', sbrConf(net1));
    expect(r.status, r.stdout).toBe(0);
    expect(rules(c)).toEqual(['32764: from 10.35.3.2 lookup 101', '32765: from 10.35.2.2 lookup 100']);
    expect(routesOfTable(c, '100')).toEqual([
      'table 100 10.35.2.0/24 dev net1 proto kernel scope link src 10.35.2.2',
      'table 100 default via 10.35.2.1 dev net1',
      'table 100 fe80::/64 dev net1 proto kernel metric 256',
    ]);
    expect(routesOfTable(c, '101')).toEqual([
      'table 101 10.35.3.0/24 dev net1 proto kernel scope link src 10.35.3.2',
      'table 101 default via 10.35.3.1 dev net1',
      'table 101 fe80::/64 dev net1 proto kernel metric 256',
    ]);
    expect(mainOf(allRoutes(c), 'net1')).toEqual([]);
    expect(sbr(host, c, 'DEL', sbrConf(net1)).status).toBe(0);
    expect(rules(c)).toEqual([]);
  });

  it('a table in use by a rule is skipped', () => {
    const { c, net1 } = container(host, dataDir);
    sh(c, 'ip', ['rule', 'add', 'from', '10.35.99.9', 'lookup', '100']);
    expect(sbr(host, c, 'ADD', sbrConf(net1)).status).toBe(0);
    expect(rules(c)).toContain('32764: from 10.35.2.2 lookup 101');
    expect(routesOfTable(c, '101')).toContain('table 101 default via 10.35.2.1 dev net1');
  });

  it('table 5000: only the rule, routes untouched; DEL filtered by that table', () => {
    const { c, net1 } = container(host, dataDir);
    sh(c, 'ip', ['rule', 'add', 'from', '10.35.2.2', 'lookup', '7']);
    const before = allRoutes(c);
    const cfg = sbrConf(net1, { table: 5000 });
    const r = sbr(host, c, 'ADD', cfg);
    expect(r.status, r.stdout).toBe(0);
    expect(rules(c)).toEqual(['32764: from 10.35.2.2 lookup 5000', '32765: from 10.35.2.2 lookup 7']);
    expect(allRoutes(c)).toEqual(before);
    expect(sbr(host, c, 'CHECK', cfg).status).toBe(0);
    expect(sbr(host, c, 'DEL', cfg).status).toBe(0);
    // The rule to another table stays: DEL only looks at table 5000.
    expect(rules(c)).toEqual(['32765: from 10.35.2.2 lookup 7']);
    expect(allRoutes(c)).toEqual(before);
  });

  it.each([[['10.35.2.254']], [['fd35:2::fe']], [['10.35.2.254', 'fd35:2::fe']]])('static gateways %j replace prevResult\'s gateways in the default routes', (gateways) => {
    const { c, net1 } = container(host, dataDir, NET1_DUAL);
    const r = sbr(host, c, 'ADD', sbrConf(net1, { gateways }));
    expect(r.status, r.stdout).toBe(0);
    expect(rules(c)).toEqual(['32765: from 10.35.2.2 lookup 100', '32765: from fd35:2::2 lookup 101']);
    const v4gw = gateways.includes('10.35.2.254') ? '10.35.2.254' : '10.35.2.1';
    const v6gw = gateways.includes('fd35:2::fe') ? 'fd35:2::fe' : 'fd35:2::1';
    expect(routesOfTable(c, '100')).toContain(`table 100 default via ${v4gw} dev net1`);
    expect(routesOfTable(c, '101')).toContain(`table 101 default via ${v6gw} dev net1 metric 1024`);
    expect(routesOfTable(c, '101')).toContain('table 101 fd35:2::/64 dev net1 proto kernel metric 256');
  });

  it('gateways: two IPv4 addresses or three entries are refused (code 7), nothing changes', () => {
    const { c, net1 } = container(host, dataDir);
    const before = allRoutes(c);
    const two = sbr(host, c, 'ADD', sbrConf(net1, { gateways: ['10.35.2.254', '10.35.2.253'] }));
    expect(two.status).toBe(1);
    expect(codeOf(two)).toBe(7);
    expect(msg(two)).toBe('gateways list contains multiple IPv4 addresses: 10.35.2.254 and 10.35.2.253');
    const three = sbr(host, c, 'ADD', sbrConf(net1, { gateways: ['10.35.2.254', 'fd35::1', '10.35.2.9'] }));
    expect(msg(three)).toBe('gateways list cannot contain more than 2 entries (one IPv4, one IPv6)');
    expect(rules(c)).toEqual([]);
    expect(allRoutes(c)).toEqual(before);
  });

  it('addSourceHints: the subnet route stays in main with src, other routes of net1 leave main', () => {
    const { c, net1 } = container(host, dataDir);
    const r = sbr(host, c, 'ADD', sbrConf(net1, { addSourceHints: true }));
    expect(r.status, r.stdout).toBe(0);
    expect(rules(c)).toEqual(['32765: from 10.35.2.2 lookup 100']);
    expect(mainOf(allRoutes(c), 'net1')).toEqual(['table main 10.35.2.0/24 dev net1 scope link src 10.35.2.2']);
    expect(routesOfTable(c, '100')).toContain('table 100 10.35.200.0/24 via 10.35.2.1 dev net1');
  });

  it('a failed ADD (unreachable static gateway) undoes its rule and keeps main\'s routes', () => {
    const { c, net1 } = container(host, dataDir);
    const before = allRoutes(c);
    const r = sbr(host, c, 'ADD', sbrConf(net1, { gateways: ['10.77.0.1'] }));
    expect(r.status).toBe(1);
    expect(codeOf(r)).toBe(100);
    expect(msg(r)).toMatch(/^Failed to add default route to 10\.77\.0\.1: route add 0\.0\.0\.0\/0 via 10\.77\.0\.1/);
    expect(rules(c)).toEqual([]);
    expect(allRoutes(c)).toEqual(before);
  });

  it('a failure at the second address undoes the first address\'s table too', () => {
    const { c, net1 } = container(host, dataDir, NET1_DUAL);
    const before = allRoutes(c);
    const r = sbr(host, c, 'ADD', sbrConf(net1, { gateways: ['fd35:99::1'] }));
    expect(r.status).toBe(1);
    expect(msg(r)).toMatch(/^Failed to add default route to fd35:99::1: /);
    expect(rules(c)).toEqual([]);
    expect(allRoutes(c)).toEqual(before);
  });

  it('without prevResult: "This plugin must be called as chained plugin" (code 7), for 0.2.0 and 1.0.0', () => {
    const { c } = container(host, dataDir);
    for (const version of ['0.2.0', '1.0.0']) {
      const r = sbr(host, c, 'ADD', sbrConf(undefined, {}, version));
      expect(r.status).toBe(1);
      expect(codeOf(r)).toBe(7);
      expect(msg(r)).toBe('This plugin must be called as chained plugin');
    }
    expect(rules(c)).toEqual([]);
  });

  it('ADD waits for the flock another process holds on the netns file', async () => {
    const { c, net1 } = container(host, dataDir);
    const holder = spawn('flock', ['-x', netnsPath(c), 'sleep', '1.5'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const t0 = Date.now();
      const r = sbr(host, c, 'ADD', sbrConf(net1));
      expect(r.status, r.stdout).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    } finally {
      holder.kill();
    }
  });
});

describe('sbr DEL and CHECK', () => {
  it('DEL without netns, with a missing netns, without prevResult, without net1, twice: success', () => {
    const { c, net1 } = container(host, dataDir);
    expect(sbr(host, c, 'ADD', sbrConf(net1)).status).toBe(0);
    expect(sbr(host, c, 'DEL', sbrConf(undefined)).status).toBe(0);
    expect(rules(c)).toEqual([]);
    expect(sbr(host, c, 'DEL', sbrConf(undefined)).status).toBe(0);
    sh(c, 'ip', ['link', 'del', 'net1']);
    expect(sbr(host, c, 'DEL', sbrConf(net1)).status).toBe(0);
    const noNs = delWithNetns(host, sbrConf(net1), '');
    expect(noNs.status, noNs.stdout).toBe(0);
    const missing = delWithNetns(host, sbrConf(net1), '/run/netns/sb-gone-0000');
    expect(missing.status, missing.stdout).toBe(0);
    // The flock must not have created the missing netns path.
    expect(existsSync('/run/netns/sb-gone-0000')).toBe(false);
  });

  it('CHECK passes after ADD and fails (code 101) when a rule was removed', () => {
    const { c, net1 } = container(host, dataDir, NET1_TWO);
    const cfg = sbrConf(net1);
    expect(sbr(host, c, 'ADD', cfg).status).toBe(0);
    expect(sbr(host, c, 'CHECK', cfg).status).toBe(0);
    sh(c, 'ip', ['rule', 'del', 'from', '10.35.3.2', 'lookup', '101']);
    const r = sbr(host, c, 'CHECK', cfg);
    expect(r.status).toBe(1);
    expect(codeOf(r)).toBe(101);
    expect(msg(r)).toContain('from 10.35.3.2/32');
  });
});

/** DEL with CNI_NETNS as given ('' = unset). */
function delWithNetns(hostNs: string, cfg: Record<string, unknown>, netns: string): PluginRun {
  return runIn(hostNs, 'sbr', { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'x', CNI_NETNS: netns, CNI_IFNAME: 'net1' }, cfg);
}

describe('sbr side by side with the Go reference', () => {
  const scenarios = [
    ['one address', NET1, NET0],
    ['existing default route', NET1_DEFAULT, NET0_NO_DEFAULT],
    ['two addresses', NET1_TWO, NET0],
    ['dual-stack', NET1_DUAL, NET0],
  ] as const;
  it.each(scenarios)('%s: same result, same rules and routes', (_name, net, net0) => {
    const seen: Record<Impl, { result: unknown; rules: string[]; routes: string[] }> = {} as never;
    for (const impl of ['ours', 'ref'] as Impl[]) {
      // One node per implementation, so both containers get the same addresses.
      const node = createNetns('sb-n');
      const dir = tempDir('sb-');
      try {
        const { c, net1 } = container(node, dir, net, '1.0.0', net0);
        const r = sbr(node, c, 'ADD', sbrConf(net1), 'net1', impl);
        expect(r.status, `${impl}: ${r.stdout}`).toBe(0);
        // Debian's 1.1.1 prints an empty "dns": {} (the latest reference omits it); names and MACs are random.
        const result = normalize(r.json) as Record<string, unknown>;
        if (JSON.stringify(result['dns']) === '{}') delete result['dns'];
        seen[impl] = { result, rules: rules(c), routes: allRoutes(c).map((l) => l.replace(/fe80::[0-9a-f:]+/g, 'fe80::X')) };
      } finally {
        removeDir(dir);
      }
    }
    expect(seen.ours.result).toEqual(seen.ref.result);
    expect(seen.ours.rules).toEqual(seen.ref.rules);
    expect(seen.ours.routes).toEqual(seen.ref.routes);
  });

  it('the Go DEL removes our rules, and ours removes the Go rules', () => {
    for (const [adder, deleter] of [['ours', 'ref'], ['ref', 'ours']] as [Impl, Impl][]) {
      const { c, net1 } = container(host, dataDir, NET1_TWO);
      expect(sbr(host, c, 'ADD', sbrConf(net1), 'net1', adder).status).toBe(0);
      expect(rules(c)).toHaveLength(2);
      const d = sbr(host, c, 'DEL', sbrConf(net1), 'net1', deleter);
      expect(d.status, d.stdout).toBe(0);
      expect(rules(c)).toEqual([]);
    }
  });
});
