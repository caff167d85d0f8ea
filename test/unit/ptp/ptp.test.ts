// ptp config rules (no kernel).
import { describe, expect, it } from 'vitest';
import { loadConf } from '../../../plugins/ptp/index.js';
import { loadConf as tapConf } from '../../../plugins/tap/index.js';

const cfg = (o: Record<string, unknown>) => ({ stdinData: Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'ptp', ipam: { type: 'host-local' }, ...o })) });

describe('ptp config', () => {
  it('ipMasqBackend: iptables, nftables or absent', () => {
    expect(loadConf(cfg({})).backend).toBeUndefined();
    expect(loadConf(cfg({ ipMasqBackend: 'nftables' })).backend).toBe('nftables');
    expect(() => loadConf(cfg({ ipMasqBackend: 'pf' }))).toThrow(/invalid ipMasqBackend "pf"/);
  });

  it('strict types, case-insensitive keys, negative mtu refused', () => {
    expect(() => loadConf(cfg({ mtu: '1500' }))).toThrow(/mtu/);
    expect(loadConf(cfg({ IPMASQ: true })).conf.ipMasq).toBe(true);
    expect(() => loadConf(cfg({ mtu: -1 }))).toThrow(/invalid MTU -1/);
  });
});

describe('tap config', () => {
  it('selinuxContext is refused as unsupported (code 2); owner/group are uint32', () => {
    const t = (o: Record<string, unknown>) => JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'tap', ...o });
    expect(() => tapConf(t({ selinuxContext: 'x' }))).toThrow(/unsupported field "selinuxContext"/);
    expect(() => tapConf(t({ owner: -1 }))).toThrow(/owner/);
    expect(tapConf(t({ owner: 1000, group: 1000, multiQueue: true })).multiQueue).toBe(true);
  });
});
