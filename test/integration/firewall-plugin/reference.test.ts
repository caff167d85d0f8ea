// Side by side with the Go reference (Debian's 1.1.1 in /usr/lib/cni/firewall): the same chained
// config gives the same result and the same filter tables; rules written by one are removed by the
// other's DEL and pass the other's CHECK. Both run with a D-Bus address that leads nowhere, so
// neither ever talks to the host's system bus.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, netnsPath, removeAllNetns, execInNetns } from '../../helpers/netns.js';
import { runIn, tempDir, removeDir, type Impl } from '../../helpers/node-rig.js';
import { firewallConf, prevResult, skipReason } from './common.js';

const skip = skipReason() ?? (existsSync('/usr/lib/cni/firewall') ? undefined : 'the Go reference /usr/lib/cni/firewall is not installed');

/** iptables-save -t filter without the comment/counter noise: chain declarations and rules. */
function filterDump(ns: string, family: 4 | 6): string[] {
  const r = execInNetns(ns, family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'filter']);
  return r.stdout.split('\n').filter((l) => l.startsWith(':') || l.startsWith('-A ')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

describe.skipIf(skip)(`firewall plugin vs the Go reference 1.1.1${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let ctr = '';
  let state = '';
  let nobus = '';
  beforeAll(() => {
    ctr = createNetns('fw-ref-ctr');
    state = tempDir('fw-state-');
    nobus = `unix:path=${state}/no-bus`;
  });
  afterAll(() => {
    removeAllNetns();
    removeDir(state);
  });

  const env = (command: string, id = 'c1') => ({
    CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netnsPath(ctr), CNI_IFNAME: 'eth0', DBUS_SYSTEM_BUS_ADDRESS: nobus, TSCNI_STATE_DIR: state,
  });
  const prev = () => prevResult({ v4: '10.32.20.2/24', v6: 'fd32:20::2/64', sandbox: netnsPath(ctr) });
  const run = (impl: Impl, node: string, command: string, conf: unknown, id = 'c1') => runIn(node, 'firewall', env(command, id), conf, impl);

  const configs: [string, Record<string, unknown>, string][] = [
    ['default keys (iptables: no firewalld on the bus)', {}, '1.0.0'],
    ['backend iptables, custom admin chain, same-bridge', { backend: 'iptables', iptablesAdminChainName: 'FW-ADMIN-TEST', ingressPolicy: 'same-bridge' }, '1.0.0'],
    ['podman\'s "backend": "" at 0.4.0', { backend: '' }, '0.4.0'],
  ];
  for (const [what, extra, version] of configs) {
    it(`same result and same filter tables: ${what}`, () => {
      const goNode = createNetns('fw-ref-go');
      const tsNode = createNetns('fw-ref-ts');
      const conf = firewallConf(extra, prev(), version);
      const go = run('ref', goNode, 'ADD', conf);
      const ts = run('ours', tsNode, 'ADD', conf);
      expect(go.status, go.stdout + go.stderr).toBe(0);
      expect(ts.status, ts.stdout + ts.stderr).toBe(0);
      // An empty "dns": {} is printed differently by 1.1.1 and the latest library (shared result
      // conversion, see the top-level README): compare everything else.
      const noEmptyDns = (r: unknown): Record<string, unknown> => {
        const { dns, ...rest } = r as Record<string, unknown>;
        return dns === undefined || JSON.stringify(dns) === '{}' ? rest : { ...rest, dns };
      };
      expect(noEmptyDns(ts.json)).toEqual(noEmptyDns(go.json));
      for (const family of [4, 6] as const) {
        expect(filterDump(tsNode, family)).toEqual(filterDump(goNode, family));
        expect(filterDump(tsNode, family).some((l) => l.includes('fd32:20::2/128') || l.includes('10.32.20.2/32'))).toBe(true);
      }
      // Each CHECKs the other's rules (the nodes swapped).
      expect(run('ref', tsNode, 'CHECK', conf).status).toBe(0);
      expect(run('ours', goNode, 'CHECK', conf).status).toBe(0);
      // A second ADD of each changes nothing.
      run('ref', goNode, 'ADD', conf);
      run('ours', tsNode, 'ADD', conf);
      expect(filterDump(tsNode, 4)).toEqual(filterDump(goNode, 4));
    });
  }

  it("our rules are removed by Go's DEL, and Go's by ours", () => {
    const conf = firewallConf({ backend: 'iptables' }, prev());
    for (const [adder, deleter] of [['ours', 'ref'], ['ref', 'ours']] as [Impl, Impl][]) {
      const node = createNetns('fw-ref-x');
      expect(run(adder, node, 'ADD', conf, 'x1').status).toBe(0);
      expect(run(adder, node, 'ADD', firewallConf({ backend: 'iptables' }, prevResult({ v4: '10.32.20.3/24', sandbox: netnsPath(ctr) })), 'x2').status).toBe(0);
      const del = run(deleter, node, 'DEL', conf, 'x1');
      expect(del.status, del.stdout).toBe(0);
      for (const family of [4, 6] as const) {
        const rules = filterDump(node, family);
        expect(rules.filter((l) => l.includes('10.32.20.2/32') || l.includes('fd32:20::2/128'))).toEqual([]);
        expect(rules).toContain('-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD');
      }
      expect(filterDump(node, 4)).toContain('-A CNI-FORWARD -s 10.32.20.3/32 -j ACCEPT');
      const check = run('ours', node, 'CHECK', conf, 'x1');
      expect((check.json as { code: number }).code).toBe(101);
    }
  });
});
