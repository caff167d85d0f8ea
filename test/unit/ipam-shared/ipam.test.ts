// shared/ipam helpers: the DNS rule, the <0.3.0 address rule, interface assignment, rollback order.
import { describe, expect, it } from 'vitest';
import { assignInterface, checkAddressesFitVersion, chooseDns, confDnsIsSet, hasIpam, ipamType, Rollback } from '../../../shared/ipam/index.js';

describe('shared/ipam', () => {
  it('conf dns wins when any field is non-nil (an empty list counts, an empty domain does not)', () => {
    const ipam = { nameservers: ['10.0.0.53'] };
    expect(chooseDns(undefined, ipam)).toBe(ipam);
    expect(chooseDns({}, ipam)).toBe(ipam);
    expect(chooseDns({ domain: '' }, ipam)).toBe(ipam);
    expect(chooseDns({ nameservers: [] }, ipam)).toEqual({ nameservers: [] });
    expect(chooseDns({ search: ['a'] }, ipam)).toEqual({ search: ['a'] });
    expect(chooseDns({ domain: 'x' }, undefined)).toEqual({ domain: 'x' });
    expect(confDnsIsSet({ options: [] })).toBe(true);
  });

  it('below 0.3.0 at most one address per family', () => {
    const two4 = [{ address: '10.0.0.2/24' }, { address: '10.0.1.2/24' }];
    expect(() => checkAddressesFitVersion('0.2.0', two4)).toThrow('CNI version 0.2.0 does not support more than 1 address per family');
    expect(() => checkAddressesFitVersion('', two4)).toThrow('CNI version 0.1.0 does not support');
    expect(() => checkAddressesFitVersion('0.3.0', two4)).not.toThrow();
    expect(() => checkAddressesFitVersion('0.2.0', [{ address: '10.0.0.2/24' }, { address: '2001:db8::2/64' }])).not.toThrow();
  });

  it('ipam type and interface assignment', () => {
    expect(ipamType({})).toBe('');
    expect(ipamType({ ipam: {} })).toBe('');
    expect(hasIpam({ ipam: { type: 'host-local' } })).toBe(true);
    const ips = [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }];
    expect(assignInterface(ips, 2)).toEqual([{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 2 }]);
    expect(ips[0]).not.toHaveProperty('interface');
  });

  it('Rollback undoes in reverse order, survives failing steps and rethrows the original error', async () => {
    const done: string[] = [];
    const r = new Rollback();
    r.add(() => done.push('a'));
    r.add(() => {
      throw new Error('undo b failed');
    });
    r.add(() => done.push('c'));
    await expect(r.guard(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(done).toEqual(['c', 'a']);
    const ok = new Rollback();
    ok.add(() => done.push('never'));
    await expect(ok.guard(async () => 5)).resolves.toBe(5);
    expect(done).not.toContain('never');
  });
});
