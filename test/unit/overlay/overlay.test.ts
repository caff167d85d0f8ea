// `tscni overlay`'s pure parts: flags, the network config, the lease codec and allocation,
// subnet.env text and the masquerade rule sets.
import { describe, expect, it } from 'vitest';
import { defaultFlags, FlagError, parseFlags } from '../../../cmd/tscni/overlay/flags.js';
import { ConfigError, parseNetworkConfig } from '../../../cmd/tscni/overlay/network-config.js';
import {
  decodeLeaseAttrs, encodeLeaseAttrs, isCompatible, parseSubnetKeyName, pickFreeSubnet, subnetKey, subnetText,
} from '../../../cmd/tscni/overlay/lease.js';
import { subnetEnvText } from '../../../cmd/tscni/overlay/subnet-file.js';
import { iptablesMasqLines, nftMasqScript } from '../../../cmd/tscni/overlay/masq.js';

describe('flags (Go flag package rules, flanneld names)', () => {
  it('defaults are flanneld\'s', () => {
    const { flags } = parseFlags([]);
    expect(flags.etcdEndpoints).toEqual(['http://127.0.0.1:4001', 'http://127.0.0.1:2379']);
    expect(flags.etcdPrefix).toBe('/coreos.com/network');
    expect(flags.subnetFile).toBe('/run/flannel/subnet.env');
    expect(flags.ipMasq).toBe(false);
    expect(flags.subnetLeaseTTL).toBe(86400);
  });

  it('accepts -f v, -f=v, --f v, --f=v; booleans without a value; -iface repeated', () => {
    const { flags, rest } = parseFlags(['-etcd-endpoints', 'http://a:1,http://b:2', '--etcd-prefix=/p', '-iface=eth0', '--iface', '10.0.0.1', '-ip-masq', '--release-on-exit=false', 'extra']);
    expect(flags.etcdEndpoints).toEqual(['http://a:1', 'http://b:2']);
    expect(flags.etcdPrefix).toBe('/p');
    expect(flags.iface).toEqual(['eth0', '10.0.0.1']);
    expect(flags.ipMasq).toBe(true);
    expect(flags.releaseOnExit).toBe(false);
    expect(rest).toEqual(['extra']);
  });

  it('FLANNELD_* environment variables are defaults the command line overrides', () => {
    const env = { FLANNELD_ETCD_PREFIX: '/env', FLANNELD_IP_MASQ: 'true', FLANNELD_IFACE: 'eth1,eth2' };
    expect(parseFlags([], env).flags).toMatchObject({ etcdPrefix: '/env', ipMasq: true, iface: ['eth1', 'eth2'] });
    expect(parseFlags(['-etcd-prefix=/cli', '-iface=eth9'], env).flags).toMatchObject({ etcdPrefix: '/cli', iface: ['eth9'] });
  });

  it('refuses unknown flags, missing values and bad booleans as Go words them', () => {
    expect(() => parseFlags(['-nope'])).toThrow(new FlagError('flag provided but not defined: -nope'));
    expect(() => parseFlags(['-subnet-file'])).toThrow('flag needs an argument: -subnet-file');
    expect(() => parseFlags(['-ip-masq=maybe'])).toThrow('invalid boolean value "maybe" for -ip-masq: parse error');
    expect(() => parseFlags(['-subnet-lease-renew-margin=0'])).toThrow(/1\.\.1439/);
    expect(parseFlags(['-h']).flags.help).toBe(true);
    expect(defaultFlags().help).toBe(false);
  });
});

describe('network config', () => {
  it('defaults: SubnetLen 24, SubnetMin skips the first subnet, SubnetMax is the last; vxlan VNI 1, port 0', () => {
    const c = parseNetworkConfig('{"Network":"10.156.0.0/16"}');
    expect(c.network).toBe('10.156.0.0/16');
    expect(c.subnetLen).toBe(24);
    expect(subnetText({ base: c.subnetMin, len: 24 })).toBe('10.156.1.0/24');
    expect(subnetText({ base: c.subnetMax, len: 24 })).toBe('10.156.255.0/24');
    expect(c.backend).toEqual({ type: 'vxlan', vni: 1, port: 0, learning: false, gbp: false, directRouting: false, mtu: 0 });
  });

  it('keys are case-insensitive; small networks get prefix+2; the checks of flanneld', () => {
    const c = parseNetworkConfig('{"network":"10.9.8.0/24","backend":{"type":"vxlan","vni":7,"port":4789}}');
    expect(c.subnetLen).toBe(26);
    expect(c.backend).toMatchObject({ vni: 7, port: 4789 });
    expect(() => parseNetworkConfig('{}')).toThrow(ConfigError);
    expect(() => parseNetworkConfig('{"Network":"10.0.0.0/29"}')).toThrow(/Minimum useful network prefix is \/28/);
    expect(() => parseNetworkConfig('{"Network":"10.0.0.0/16","SubnetLen":31}')).toThrow(/less than \/31/);
    expect(() => parseNetworkConfig('{"Network":"10.0.0.0/16","SubnetLen":17}')).toThrow(/at least four subnets/);
    expect(() => parseNetworkConfig('{"Network":"10.0.0.0/16","SubnetMin":"10.0.0.5"}')).toThrow(/boundary/);
    expect(() => parseNetworkConfig('{"Network":"10.0.0.0/16","SubnetMax":"10.1.0.0"}')).toThrow(/not within Network/);
    expect(() => parseNetworkConfig('{"Network":"10.0.0.0/16","Backend":{"Type":"udp"}}')).toThrow(/"udp" is not supported/);
    expect(() => parseNetworkConfig('{"Network":"10.0.0.0/16","EnableIPv6":true}')).toThrow(/IPv6/);
  });
});

describe('leases', () => {
  const cfg = parseNetworkConfig('{"Network":"10.156.0.0/16","SubnetMin":"10.156.10.0","SubnetMax":"10.156.12.0"}');

  it('keys and values in flanneld\'s layout', () => {
    const s = parseSubnetKeyName('10.156.11.0-24')!;
    expect(subnetKey('/coreos.com/network', s)).toBe('/coreos.com/network/subnets/10.156.11.0-24');
    expect(parseSubnetKeyName('10.156.11.1-24')).toBeUndefined();
    expect(parseSubnetKeyName('10.12.13.0-24&fd00:12:13::-56')).toBeUndefined();
    const v = encodeLeaseAttrs({ publicIP: '10.157.0.11', backendType: 'vxlan', vni: 1, vtepMAC: 'c6:d2:32:6f:8f:44' });
    expect(v).toBe('{"PublicIP":"10.157.0.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}');
    expect(decodeLeaseAttrs(v)).toEqual({ publicIP: '10.157.0.11', backendType: 'vxlan', vni: 1, vtepMAC: 'c6:d2:32:6f:8f:44' });
    expect(decodeLeaseAttrs('{"publicip":"10.0.0.1","backendtype":"udp"}')).toEqual({ publicIP: '10.0.0.1', backendType: 'udp' });
    expect(decodeLeaseAttrs('not json')).toBeUndefined();
  });

  it('allocation picks a free subnet within SubnetMin..SubnetMax; none left is undefined', () => {
    const taken = [parseSubnetKeyName('10.156.10.0-24')!, parseSubnetKeyName('10.156.12.0-24')!];
    expect(subnetText(pickFreeSubnet(cfg, taken)!)).toBe('10.156.11.0/24');
    expect(pickFreeSubnet(cfg, [...taken, parseSubnetKeyName('10.156.8.0-22')!])).toBeUndefined();
    expect(isCompatible(cfg, parseSubnetKeyName('10.156.11.0-24')!)).toBe(true);
    expect(isCompatible(cfg, parseSubnetKeyName('10.156.13.0-24')!)).toBe(false);
    expect(isCompatible(cfg, parseSubnetKeyName('10.156.10.0-25')!)).toBe(false);
  });

  it('subnet.env: the subnet as its first usable address, as flanneld writes it', () => {
    expect(subnetEnvText('10.156.0.0/16', parseSubnetKeyName('10.156.11.0-24')!, 1450, true)).toBe(
      'FLANNEL_NETWORK=10.156.0.0/16\nFLANNEL_SUBNET=10.156.11.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
  });
});

describe('-ip-masq rules', () => {
  it('iptables: one chain with flanneld\'s six rules, a jump from POSTROUTING added once, the chain flushed when it exists', () => {
    const fresh = iptablesMasqLines({ chains: new Set(), rules: [] }, '10.156.0.0/16', '10.156.11.0/24');
    expect(fresh[0]).toBe(':FLANNEL-POSTRTG - [0:0]');
    expect(fresh.filter((l) => l.startsWith('-A FLANNEL-POSTRTG'))).toHaveLength(6);
    expect(fresh.at(-1)).toBe('-I POSTROUTING 1 -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
    const again = iptablesMasqLines(
      { chains: new Set(['FLANNEL-POSTRTG']), rules: [{ chain: 'POSTROUTING', args: ['-m', 'comment', '--comment', 'flanneld masq', '-j', 'FLANNEL-POSTRTG'] }] },
      '10.156.0.0/16',
      '10.156.12.0/24',
    );
    expect(again[0]).toBe('-F FLANNEL-POSTRTG');
    expect(again.some((l) => l.includes('POSTROUTING'))).toBe(false);
    expect(again).toContain('-A FLANNEL-POSTRTG ! -s 10.156.0.0/16 -d 10.156.12.0/24 -m comment --comment "flanneld masq" -j RETURN');
  });

  it('nftables: one script replacing our table', () => {
    const s = nftMasqScript('10.156.0.0/16', '10.156.11.0/24');
    expect(s.split('\n').slice(0, 2)).toEqual(['add table ip tscni-overlay', 'delete table ip tscni-overlay']);
    expect(s).toContain('type nat hook postrouting priority srcnat; policy accept;');
    expect(s).toContain('ip saddr 10.156.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random comment "flanneld masq"');
  });
});
