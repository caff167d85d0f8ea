import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../plugins/firewall/config.js';
import { CniError } from '../../../shared/cni/errors.js';

const conf = (extra: Record<string, unknown>): Buffer =>
  Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'firewall', ...extra }));

function failure(extra: Record<string, unknown>): CniError {
  try {
    loadConfig(conf(extra));
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected an error');
}

describe('firewall config', () => {
  it('has the reference defaults', () => {
    expect(loadConfig(conf({}))).toEqual({ network: 'net1', backend: undefined, adminChain: 'CNI-ADMIN', zone: 'trusted', ingressPolicy: 'open' });
  });
  it('treats "" like an absent key (podman writes "backend": "")', () => {
    expect(loadConfig(conf({ backend: '', firewalldZone: '', iptablesAdminChainName: '', ingressPolicy: '' }))).toEqual(loadConfig(conf({})));
  });
  it('reads every key', () => {
    expect(loadConfig(conf({ backend: 'nftables', firewalldZone: 'public', iptablesAdminChainName: 'MY-ADMIN', ingressPolicy: 'isolated' }))).toEqual({
      network: 'net1', backend: 'nftables', adminChain: 'MY-ADMIN', zone: 'public', ingressPolicy: 'isolated',
    });
    expect(loadConfig(conf({ backend: 'firewalld', ingressPolicy: 'same-bridge' })).backend).toBe('firewalld');
  });
  it('keys match case-insensitively, as Go decodes them', () => {
    expect(loadConfig(conf({ IngressPolicy: 'same-bridge' })).ingressPolicy).toBe('same-bridge');
  });
  it('rejects an unknown ingress policy with the reference message, code 7', () => {
    const e = failure({ ingressPolicy: 'closed' });
    expect(e.code).toBe(7);
    expect(e.msg).toBe('unknown ingress policy: "closed"');
  });
  it('rejects an unknown backend naming it, code 7', () => {
    const e = failure({ backend: 'ufw' });
    expect(e.code).toBe(7);
    expect(e.msg).toContain('"ufw"');
  });
  it('rejects admin chain names iptables cannot hold', () => {
    for (const name of ['X'.repeat(29), 'has space', '-A', 'ACCEPT', 'CNI-FORWARD', 'q"uote']) {
      const e = failure({ iptablesAdminChainName: name });
      expect(e.code, name).toBe(7);
      expect(e.msg).toContain('iptablesAdminChainName');
    }
    expect(loadConfig(conf({ iptablesAdminChainName: 'X'.repeat(28) })).adminChain).toBe('X'.repeat(28));
  });
  it('rejects a zone a D-Bus string cannot carry', () => {
    const e = failure({ firewalldZone: 'a\u0000b' });
    expect(e.code).toBe(7);
    expect(e.msg).toContain('firewalldZone');
  });
  it('rejects wrongly typed keys', () => {
    for (const key of ['backend', 'ingressPolicy', 'firewalldZone', 'iptablesAdminChainName']) {
      expect(failure({ [key]: 1 }).code, key).toBe(7);
    }
  });
});
