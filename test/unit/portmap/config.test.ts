// portmap config decoding: the reference's defaults and validation messages (code 7 naming the key
// and value), backend conflicts, and the choice of container addresses from prevResult.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../shared/cni/errors.js';
import type { Result } from '../../../shared/cni/types.js';
import { formatCIDR } from '../../../shared/ip/index.js';
import { backendOfConditions, checkBackendOptions, containerIPs, loadConf, requireChained } from '../../../plugins/portmap/config.js';

const base = { cniVersion: '1.0.0', name: 'test', type: 'portmap' };
const load = (extra: Record<string, unknown>) => loadConf(JSON.stringify({ ...base, ...extra }));
const mappings = (...pm: unknown[]) => ({ runtimeConfig: { portMappings: pm } });
function errorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('loadConf', () => {
  it('applies the reference defaults', () => {
    const c = load({});
    expect(c).toMatchObject({ name: 'test', backend: undefined, snat: true, masqAll: false, markMasqBit: 13, mappings: [] });
    expect(c.externalSetMarkChain).toBeUndefined();
  });

  it('reads every key, matching key names case-insensitively as Go does', () => {
    const c = load({
      Backend: 'iptables', SNAT: false, masqall: true, markMasqBit: 5, conditionsV4: ['-a', 'b'], conditionsV6: ['-c', 'd'],
      ...mappings({ hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '192.168.0.2' }, { HostPort: 53, containerPort: 53, protocol: 'udp' }),
    });
    expect(c.backend).toBe('iptables');
    expect(c.snat).toBe(false);
    expect(c.masqAll).toBe(true);
    expect(c.markMasqBit).toBe(5);
    expect(c.conditionsV4).toEqual(['-a', 'b']);
    expect(c.mappings).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '192.168.0.2' },
      { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '' },
    ]);
  });

  it.each([
    [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }, 'Invalid host port number: 0', 'runtimeConfig.portMappings[0].hostPort: 0'],
    [{ hostPort: 8080, containerPort: 0, protocol: 'tcp' }, 'Invalid container port number: 0', 'runtimeConfig.portMappings[0].containerPort: 0'],
    [{ hostPort: -1, containerPort: -5, protocol: 'tcp' }, 'Invalid container port number: -5', 'runtimeConfig.portMappings[0].containerPort: -5'],
    [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }, 'Invalid host port number: 70000', 'runtimeConfig.portMappings[0].hostPort: 70000'],
    [{ containerPort: 80, protocol: 'tcp' }, 'Invalid host port number: 0', 'runtimeConfig.portMappings[0].hostPort: 0'],
    [{ hostPort: 1, containerPort: 80, protocol: 'icmp' }, 'Invalid protocol "icmp": must be "tcp", "udp" or "sctp"', 'runtimeConfig.portMappings[0].protocol: "icmp"'],
    [{ hostPort: 1, containerPort: 80, protocol: 'tcp', hostIP: 'nope' }, 'Invalid host IP "nope"', 'runtimeConfig.portMappings[0].hostIP: "nope"'],
  ])('rejects the mapping %j', (pm, msg, details) => {
    const e = errorOf(() => load(mappings(pm)));
    expect(e.code).toBe(7);
    expect(e.msg).toBe(msg);
    expect(e.details).toBe(details);
  });

  it('rejects a wrongly typed mapping field as Go decoding does', () => {
    const e = errorOf(() => load(mappings({ hostPort: '80', containerPort: 80, protocol: 'tcp' })));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('runtimeConfig.portMappings[0].hostPort');
  });

  it('rejects markMasqBit outside 0..31 and together with externalSetMarkChain', () => {
    for (const bit of [-1, 32]) {
      const e = errorOf(() => load({ markMasqBit: bit }));
      expect([e.code, e.msg, e.details]).toEqual([7, 'MasqMarkBit must be between 0 and 31', `markMasqBit: ${bit}`]);
    }
    expect(load({ markMasqBit: 0 }).markMasqBit).toBe(0);
    expect(load({ markMasqBit: 31 }).markMasqBit).toBe(31);
    const e = errorOf(() => load({ markMasqBit: 5, externalSetMarkChain: 'KUBE-MARK-MASQ' }));
    expect([e.code, e.msg]).toEqual([7, 'Cannot specify externalSetMarkChain and markMasqBit']);
    expect(e.details).toContain('KUBE-MARK-MASQ');
  });

  it('rejects an unknown backend', () => {
    const e = errorOf(() => load({ backend: 'ebtables' }));
    expect([e.code, e.msg]).toEqual([7, 'unrecognized backend "ebtables"']);
  });

  it("reports the reference's backend conflict messages", () => {
    let e = errorOf(() => load({ backend: 'iptables', conditionsV4: ['aaa', 'bbbb'], conditionsV6: ['ccc'] }));
    expect([e.code, e.msg]).toEqual([7, 'iptables backend was requested but configuration contains nftables-specific options [conditionsV4 conditionsV6]']);
    e = errorOf(() => load({ backend: 'nftables', externalSetMarkChain: 'KUBE-MARK-MASQ', conditionsV4: ['-a', 'b'], conditionsV6: ['-c', 'd'] }));
    expect([e.code, e.msg]).toEqual([7, 'nftables backend was requested but configuration contains iptables-specific options [externalSetMarkChain conditionsV4 conditionsV6]']);
    // Accepted combinations.
    expect(load({ backend: 'nftables', conditionsV4: ['aaa', 'bbbb'], conditionsV6: ['ccc'] }).conditionsV6).toEqual(['ccc']);
    expect(load({ backend: 'iptables', conditionsV4: ['-a', 'b'] }).conditionsV4).toEqual(['-a', 'b']);
  });

  it('checks the conflict against a default backend too (unset backend resolved to iptables)', () => {
    const conf = load({ conditionsV4: ['ip', 'saddr', '1.2.3.4'] });
    const e = errorOf(() => checkBackendOptions(conf, 'iptables'));
    expect(e.msg).toBe('iptables backend was requested but configuration contains nftables-specific options [conditionsV4]');
    expect(() => checkBackendOptions(conf, 'nftables')).not.toThrow();
  });

  it('refuses nft conditions that would leave the rule', () => {
    const e = errorOf(() => load({ backend: 'nftables', conditionsV4: ['ip saddr 1.2.3.4; flush ruleset'] }));
    expect(e.code).toBe(7);
    expect(e.details).toContain('conditionsV4[0]');
  });
});

describe('backendOfConditions', () => {
  it('follows the reference: a leading "-" is iptables, anything else nftables, empty is none', () => {
    expect(backendOfConditions(undefined)).toBeUndefined();
    expect(backendOfConditions([])).toBeUndefined();
    expect(backendOfConditions([''])).toBeUndefined();
    expect(backendOfConditions(['-d', '1.2.3.4'])).toBe('iptables');
    expect(backendOfConditions(['--sport', '3'])).toBe('iptables');
    expect(backendOfConditions(['ip', 'saddr'])).toBe('nftables');
  });
});

describe('containerIPs', () => {
  const pick = (prev: Result, ifName = 'eth0'): string[] => {
    const ips = containerIPs(prev, ifName);
    return [ips.v4, ips.v6].filter((x) => x !== undefined).map(formatCIDR);
  };

  it('takes the first address of each family on <if> with a sandbox', () => {
    const prev: Result = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'cni0' }, { name: 'vethx' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [
        { interface: 0, address: '10.0.0.1/24' },
        { interface: 2, address: '10.0.0.2/24' },
        { interface: 2, address: '10.0.0.3/24' },
        { interface: 2, address: 'fd31::2/64' },
      ],
    };
    expect(pick(prev)).toEqual(['10.0.0.2/24', 'fd31::2/64']);
    expect(pick(prev, 'eth1')).toEqual([]);
  });

  it('skips <if> without sandbox and accepts addresses without (or with an out of range) interface index', () => {
    expect(pick({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ interface: 0, address: '10.0.0.2/24' }] })).toEqual([]);
    expect(pick({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }, { address: 'fd31::5/64' }] })).toEqual(['10.0.0.2/24', 'fd31::5/64']);
    expect(pick({ cniVersion: '1.0.0', interfaces: [], ips: [{ interface: 3, address: '10.0.0.9/24' }] })).toEqual(['10.0.0.9/24']);
  });

  it('requires prevResult on ADD with the reference message', () => {
    const e = errorOf(() => requireChained(undefined));
    expect([e.code, e.msg]).toEqual([7, 'must be called as chained plugin']);
  });
});
