// The firewalld backend against a stub firewalld on a private, test-owned D-Bus daemon: the calls
// it receives (zone, source), the default-backend choice, STATUS and GC. The host's system bus and
// firewall are never used: DBUS_SYSTEM_BUS_ADDRESS always points at the private bus (or nowhere).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, removeAllNetns, netnsPath } from '../../helpers/netns.js';
import { runIn, tempDir, removeDir } from '../../helpers/node-rig.js';
import { PrivateBus } from './bus.js';
import { filterRules, firewallConf, prevResult, skipReason } from './common.js';

const skip = skipReason();

describe.skipIf(skip)(`firewall plugin, firewalld backend (private bus)${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  const bus = new PrivateBus();
  let node = '';
  let ctr = '';
  let state = '';
  const prev = (): Record<string, unknown> => prevResult({ v4: '10.32.9.2/24', v6: 'fd32:9::2/64', sandbox: netnsPath(ctr) });
  const env = (command: string, id = 'c1', extra: Record<string, string> = {}) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: netnsPath(ctr),
    CNI_IFNAME: 'eth0',
    DBUS_SYSTEM_BUS_ADDRESS: bus.address,
    TSCNI_STATE_DIR: state,
    ...extra,
  });

  beforeAll(async () => {
    node = createNetns('fw-fwd-node');
    ctr = createNetns('fw-fwd-ctr');
    state = tempDir('fw-state-');
    await bus.start();
    await bus.startStub();
  });
  afterAll(() => {
    try {
      bus.stop();
    } finally {
      removeAllNetns();
      removeDir(state);
    }
  });
  beforeEach(() => bus.clearCalls());

  const member = (m: string) => bus.calls().filter((c) => c.member === m).map((c) => [c.zone, c.source]);

  it('ADD adds each address to the zone, passes prevResult through; CHECK queries; DEL removes; twice is fine', () => {
    const conf = firewallConf({ backend: 'firewalld' }, prev());
    const add = runIn(node, 'firewall', env('ADD'), conf);
    expect(add.status, add.stdout + add.stderr).toBe(0);
    expect(add.json).toEqual({ ...prev(), cniVersion: '1.0.0' });
    expect(member('addSource')).toEqual([['trusted', '10.32.9.2/32'], ['trusted', 'fd32:9::2/128']]);
    expect(bus.calls().every((c) => c.interface === 'org.fedoraproject.FirewallD1.zone' && c.path === '/org/fedoraproject/FirewallD1')).toBe(true);
    // A repeated ADD meets ZONE_ALREADY_SET and succeeds, as the reference.
    expect(runIn(node, 'firewall', env('ADD'), conf).status).toBe(0);
    const check = runIn(node, 'firewall', env('CHECK'), conf);
    expect(check.status, check.stdout).toBe(0);
    expect(member('querySource')).toEqual([['trusted', '10.32.9.2/32'], ['trusted', 'fd32:9::2/128']]);
    bus.clearCalls();
    expect(runIn(node, 'firewall', env('DEL'), conf).status).toBe(0);
    expect(member('removeSource')).toEqual([['trusted', '10.32.9.2/32'], ['trusted', 'fd32:9::2/128']]);
    // The second DEL meets UNKNOWN_SOURCE, which is ignored.
    expect(runIn(node, 'firewall', env('DEL'), conf).status).toBe(0);
    const after = runIn(node, 'firewall', env('CHECK'), conf);
    expect(after.status).not.toBe(0);
    expect((after.json as { code: number }).code).toBe(101);
    // Nothing went to iptables.
    expect(filterRules(node).filter((r) => r.includes('CNI'))).toEqual([]);
  });

  it('firewalldZone picks the zone; DEL without prevResult uses the ADD record', () => {
    const conf = firewallConf({ backend: 'firewalld', firewalldZone: 'public' }, prev(), '1.1.0');
    expect(runIn(node, 'firewall', env('ADD', 'c2'), conf).status).toBe(0);
    expect(member('addSource')).toEqual([['public', '10.32.9.2/32'], ['public', 'fd32:9::2/128']]);
    bus.clearCalls();
    const { prevResult: _omit, ...bare } = conf;
    expect(runIn(node, 'firewall', env('DEL', 'c2'), bare).status).toBe(0);
    expect(member('removeSource')).toEqual([['public', '10.32.9.2/32'], ['public', 'fd32:9::2/128']]);
  });

  it('the default backend is firewalld when the stub owns the name ("backend" absent or "")', () => {
    for (const extra of [{}, { backend: '' }]) {
      bus.clearCalls();
      const conf = firewallConf(extra, prev());
      expect(runIn(node, 'firewall', env('ADD', 'c3'), conf).status).toBe(0);
      expect(member('addSource')).toEqual([['trusted', '10.32.9.2/32'], ['trusted', 'fd32:9::2/128']]);
      expect(runIn(node, 'firewall', env('DEL', 'c3'), conf).status).toBe(0);
      expect(member('removeSource').length).toBe(2);
    }
    expect(filterRules(node).filter((r) => r.includes('10.32.9.2'))).toEqual([]);
  });

  it('ingressPolicy with firewalld still writes the isolation chains with iptables (as the reference)', () => {
    const conf = firewallConf({ backend: 'firewalld', ingressPolicy: 'same-bridge' }, prev());
    expect(runIn(node, 'firewall', env('ADD', 'c4'), conf).status).toBe(0);
    expect(member('addSource').length).toBe(2);
    expect(filterRules(node)).toContain('-A CNI-ISOLATION-STAGE-2 -o fw-br0 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP');
    expect(runIn(node, 'firewall', env('DEL', 'c4'), conf).status).toBe(0);
  });

  it('GC removes the sources of attachments not in cni.dev/valid-attachments', () => {
    const conf = (id: string) => firewallConf({ backend: 'firewalld' }, prevResult({ v4: `10.32.9.${id === 'g1' ? 11 : 12}/24`, sandbox: netnsPath(ctr) }), '1.1.0');
    expect(runIn(node, 'firewall', env('ADD', 'g1'), conf('g1')).status).toBe(0);
    expect(runIn(node, 'firewall', env('ADD', 'g2'), conf('g2')).status).toBe(0);
    bus.clearCalls();
    const gc = { cniVersion: '1.1.0', name: 'fw-net', type: 'firewall', backend: 'firewalld', 'cni.dev/valid-attachments': [{ containerID: 'g1', ifname: 'eth0' }] };
    const r = runIn(node, 'firewall', { CNI_COMMAND: 'GC', DBUS_SYSTEM_BUS_ADDRESS: bus.address, TSCNI_STATE_DIR: state }, gc);
    expect(r.status, r.stdout).toBe(0);
    expect(member('removeSource')).toEqual([['trusted', '10.32.9.12/32']]);
    expect(runIn(node, 'firewall', env('DEL', 'g1'), conf('g1')).status).toBe(0);
  });

  it('STATUS: ready with the stub, code 50 when the name has no owner or there is no bus', async () => {
    const conf = { cniVersion: '1.1.0', name: 'fw-net', type: 'firewall', backend: 'firewalld' };
    const status = (address: string) => runIn(node, 'firewall', { CNI_COMMAND: 'STATUS', DBUS_SYSTEM_BUS_ADDRESS: address, TSCNI_STATE_DIR: state }, conf);
    expect(status(bus.address).status).toBe(0);
    const nobus = status(`unix:path=${state}/no-such-bus`);
    expect((nobus.json as { code: number }).code).toBe(50);
    bus.stopStub();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const unowned = status(bus.address);
      expect((unowned.json as { code: number; details: string }).code).toBe(50);
      expect((unowned.json as { details: string }).details).toContain('has no owner');
      // Default backend without firewalld on the bus: iptables (rules in the node netns, no calls).
      bus.clearCalls();
      const c = firewallConf({}, prev());
      expect(runIn(node, 'firewall', env('ADD', 'c5'), c).status).toBe(0);
      expect(filterRules(node)).toContain('-A CNI-FORWARD -s 10.32.9.2/32 -j ACCEPT');
      expect(filterRules(node, 6)).toContain('-A CNI-FORWARD -s fd32:9::2/128 -j ACCEPT');
      expect(runIn(node, 'firewall', env('DEL', 'c5'), c).status).toBe(0);
      expect(filterRules(node).filter((r) => r.includes('10.32.9.2'))).toEqual([]);
      // No bus at all: iptables too.
      const t0 = Date.now();
      expect(runIn(node, 'firewall', env('ADD', 'c6', { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${state}/no-such-bus` }), c).status).toBe(0);
      expect(Date.now() - t0).toBeLessThan(2500);
      expect(filterRules(node)).toContain('-A CNI-FORWARD -s 10.32.9.2/32 -j ACCEPT');
      expect(runIn(node, 'firewall', env('DEL', 'c6', { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${state}/no-such-bus` }), c).status).toBe(0);
      expect(bus.calls()).toEqual([]);
    } finally {
      await bus.startStub();
    }
  });
});
