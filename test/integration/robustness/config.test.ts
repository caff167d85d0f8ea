// Per-plugin config abuse: wrong JSON types for each plugin's main keys, names that become paths
// (bridge, master, device), an IPAM type that is not in CNI_PATH, dhcp without its daemon. Each
// fails with the spec code, naming the field and the value, and leaves nothing behind.
import { afterEach, describe, expect, it } from 'vitest';
import { type BadRow, canCreate, haveTun, type PluginSpec, removeAllRigs, setPath, spec, sweep } from './harness.js';

afterEach(removeAllRigs);

/** `key` set to `value` must be code 7 naming the key's path and the value. */
const typeRow = (key: string, value: unknown, shown: string, when?: (p: PluginSpec) => boolean): BadRow => ({
  label: `${key}: ${JSON.stringify(value)}`,
  stdin: (c) => setPath(c, key, value),
  code: 7,
  mentions: [key, shown],
  ...(when ? { when } : {}),
});
const only = (...names: string[]) => (p: PluginSpec): boolean => names.includes(p.name);
const MAIN = ['bridge', 'ptp', 'macvlan', 'ipvlan', 'vlan', 'host-device', 'tap', 'dummy'];
/** Rows that fail after the plugin created its link (the reference's order): need the link type. */
const linked = (...names: string[]) => (p: PluginSpec): boolean => names.includes(p.name) && canCreate(p.name);

const ROWS: BadRow[] = [
  // common keys
  typeRow('ipam', 'host-local', '"host-local"', only(...MAIN)),
  typeRow('ipam.type', 5, '5', only(...MAIN)),
  typeRow('dns', '8.8.8.8', '"8.8.8.8"', only(...MAIN)),
  typeRow('dns.nameservers', '8.8.8.8', '"8.8.8.8"', only(...MAIN)),
  typeRow('type', 5, '5', only(...MAIN, 'loopback')),
  // per plugin
  typeRow('mtu', '1500', '"1500"', only('bridge', 'ptp', 'macvlan', 'ipvlan', 'vlan', 'tap')),
  typeRow('mtu', 1500.5, '1500.5', only('bridge', 'ptp')),
  typeRow('ipMasq', 'yes', '"yes"', only('bridge', 'ptp')),
  typeRow('bridge', 5, '5', only('bridge', 'tap')),
  typeRow('isGateway', 'true', '"true"', only('bridge')),
  typeRow('vlan', '1', '"1"', only('bridge')),
  typeRow('vlanTrunk', {}, '{}', only('bridge')),
  typeRow('hairpinMode', 1, '1', only('bridge')),
  typeRow('master', 5, '5', only('macvlan', 'ipvlan', 'vlan')),
  typeRow('mode', 1, '1', only('macvlan', 'ipvlan')),
  typeRow('vlanId', '42', '"42"', only('vlan')),
  typeRow('bcqueuelen', -1, '-1', only('macvlan')),
  typeRow('device', 1, '1', only('host-device')),
  typeRow('hwaddr', [], '[]', only('host-device')),
  typeRow('owner', -1, '-1', only('tap')),
  typeRow('multiQueue', 'yes', '"yes"', only('tap')),
  typeRow('ipam.ranges', {}, '{}', only('host-local')),
  typeRow('ipam.ranges', [{ subnet: '10.123.9.0/24' }], '10.123.9.0/24', only('host-local')),
  typeRow('ipam.subnet', 5, '5', only('host-local')),
  typeRow('ipam.routes', {}, '{}', only('host-local', 'static')),
  typeRow('ipam.dataDir', 1, '1', only('host-local')),
  typeRow('ipam.addresses', {}, '{}', only('static')),
  typeRow('ipam.addresses', ['10.123.8.2/24'], '"10.123.8.2/24"', only('static')),
  typeRow('ipam.daemonSocketPath', 1, '1', only('dhcp')),
  typeRow('ipam.request', {}, '{}', only('dhcp')),
  typeRow('ipam.priority', '1', '"1"', only('dhcp')),
  // values
  { label: 'macvlan mode bogus', stdin: (c) => setPath(c, 'mode', 'bogus'), code: 7, mentions: ['mode', 'bogus'], when: only('macvlan', 'ipvlan') },
  { label: 'vlanId 5000', stdin: (c) => setPath(c, 'vlanId', 5000), code: 7, mentions: ['5000'], when: only('vlan') },
  { label: 'bridge vlan 5000', stdin: (c) => setPath(c, 'vlan', 5000), code: 7, mentions: ['VLAN', '5000'], when: only('bridge') },
  { label: 'ipMasqBackend bogus', stdin: (c) => setPath(c, 'ipMasqBackend', 'bogus'), code: 7, mentions: ['bogus'], when: only('bridge', 'ptp') },
  { label: 'mtu -1', stdin: (c) => setPath(c, 'mtu', -1), code: 7, mentions: ['-1'], when: only('bridge', 'ptp', 'macvlan', 'ipvlan', 'vlan', 'tap') },
  { label: 'subnet not a CIDR', stdin: (c) => setPath(c, 'ipam.subnet', 'nope'), code: 7, mentions: ['nope'], when: linked(...MAIN.filter((n) => n !== 'loopback'), 'host-local') },
  { label: 'static address not a CIDR', stdin: (c) => setPath(c, 'ipam.addresses', [{ address: '10.123.8.2' }]), code: 7, mentions: ['10.123.8.2'], when: only('static') },
  // names that become paths or link names
  { label: 'bridge name with /', stdin: (c) => setPath(c, 'bridge', 'br/../x'), code: 7, mentions: ['bridge', 'br/../x'], when: only('bridge') },
  { label: 'bridge name too long', stdin: (c) => setPath(c, 'bridge', 'rbbridge0123456789'), code: 7, mentions: ['bridge', 'rbbridge0123456789'], when: only('bridge') },
  { label: 'bridge name ..', stdin: (c) => setPath(c, 'bridge', '..'), code: 7, mentions: ['bridge', '..'], when: only('bridge') },
  { label: 'master ../lo', stdin: (c) => setPath(c, 'master', '../lo'), code: 7, mentions: ['master', '../lo'], when: only('macvlan', 'ipvlan', 'vlan') },
  { label: 'master missing', stdin: (c) => setPath(c, 'master', 'rbnope0'), code: 7, mentions: ['rbnope0'], when: only('macvlan', 'ipvlan', 'vlan') },
  { label: 'device ../../x', stdin: (c) => setPath(c, 'device', '../../x'), code: 7, mentions: ['../../x'], when: only('host-device') },
  { label: 'device missing', stdin: (c) => setPath(c, 'device', 'rbnope0'), code: 7, mentions: ['rbnope0'], when: only('host-device') },
  // IPAM delegation
  { label: 'IPAM type not in CNI_PATH', stdin: (c) => setPath(c, 'ipam.type', 'rb-no-such-ipam'), code: 7, mentions: ['rb-no-such-ipam'], when: linked(...MAIN) },
  { label: 'IPAM type with /', stdin: (c) => setPath(c, 'ipam.type', '../host-local'), code: 7, mentions: ['../host-local'], when: linked(...MAIN) },
  { label: 'empty CNI_PATH dirs', env: () => ({ CNI_PATH: '/nonexistent-rb' }), code: 7, mentions: ['host-local', '/nonexistent-rb'], when: linked(...MAIN) },
  { label: 'DEL with IPAM type not in CNI_PATH', command: 'DEL', stdin: (c) => setPath(c, 'ipam.type', 'rb-no-such-ipam'), code: 7, mentions: ['rb-no-such-ipam'], when: only(...MAIN) },
  // dhcp without its daemon
  { label: 'ADD without a daemon', code: 11, mentions: ['no-daemon.sock'], when: only('dhcp') },
];

describe('robustness: config abuse', () => {
  for (const name of ['bridge', 'ptp', 'macvlan', 'ipvlan', 'vlan', 'host-device', 'tap', 'dummy', 'loopback', 'host-local', 'static', 'dhcp']) {
    it.skipIf(name === 'tap' && !haveTun)(name, () => {
      expect(sweep(spec(name), ROWS)).toBeGreaterThan(0);
    });
  }
});
