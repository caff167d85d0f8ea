// static run as a runtime runs it: the built binary, env + stdin, printed result checked.
import { describe, expect, it } from 'vitest';
import { ALL_VERSIONS, ourBin, run } from './helpers.js';

const bin = () => ourBin('static');
const conf = (version: string, ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  cniVersion: version,
  name: 'mynet',
  type: 'bridge',
  ipam: { type: 'static', ...ipam },
  ...extra,
});
const full = {
  addresses: [
    { address: '10.10.0.1/24', gateway: '10.10.0.254' },
    { address: '3ffe:ffff:0:01ff::1/64', gateway: '3ffe:ffff:0::1' },
  ],
  routes: [{ dst: '0.0.0.0/0' }, { dst: '10.20.0.0/16', gw: '10.10.0.254' }, { dst: '3ffe:ffff:0:01ff::1/64' }],
  dns: { nameservers: ['8.8.8.8'], domain: 'example.com', search: ['example.com'] },
};

describe('static ADD/CHECK/DEL in every spec version', () => {
  it.each(ALL_VERSIONS)('%s', (version) => {
    const c = conf(version, full);
    const add = run(bin(), c, { command: 'ADD' });
    expect(add.code, add.stdout).toBe(0);
    expect(add.stderr).toBe('');
    const r = add.json!;
    if (version === '0.1.0' || version === '0.2.0') {
      expect(r).toEqual({
        cniVersion: version,
        ip4: { ip: '10.10.0.1/24', gateway: '10.10.0.254', routes: [{ dst: '0.0.0.0/0' }, { dst: '10.20.0.0/16', gw: '10.10.0.254' }] },
        ip6: { ip: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1', routes: [{ dst: '3ffe:ffff:0:1ff::1/64' }] },
        dns: full.dns,
      });
    } else {
      const v = version.startsWith('0.');
      expect(r['ips']).toEqual([
        { ...(v ? { version: '4' } : {}), address: '10.10.0.1/24', gateway: '10.10.0.254' },
        { ...(v ? { version: '6' } : {}), address: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1' },
      ]);
      expect(r['routes']).toEqual([{ dst: '0.0.0.0/0' }, { dst: '10.20.0.0/16', gw: '10.10.0.254' }, { dst: '3ffe:ffff:0:1ff::1/64' }]);
      expect(r['dns']).toEqual(full.dns);
    }
    if (version >= '0.4.0') {
      const ok = run(bin(), { ...c, prevResult: { cniVersion: version, ...(version.startsWith('1') ? { ips: [{ address: '10.10.0.1/24', gateway: '10.10.0.254' }] } : { ips: [{ version: '4', address: '10.10.0.1/24', gateway: '10.10.0.254' }] }) } }, { command: 'CHECK' });
      expect(ok.code, ok.stdout).toBe(0);
      const bad = run(bin(), { ...c, prevResult: { cniVersion: version, ips: [{ ...(version.startsWith('1') ? {} : { version: '4' }), address: '10.10.0.1/24', gateway: '10.10.0.9' }] } }, { command: 'CHECK' });
      expect(bad.json?.['msg']).toBe('static: Failed to match addr 10.10.0.1 on interface eth0');
    }
    const del = run(bin(), c, { command: 'DEL', containerID: 'unknown-id' });
    expect(del.code).toBe(0);
    expect(del.stdout).toBe('');
  });
});

describe('static precedence and errors', () => {
  const ipsOf = (o: ReturnType<typeof run>) => o.json?.['ips'];

  it('keeps ECMP routes and host bits verbatim', () => {
    const o = run(bin(), conf('1.0.0', { addresses: [{ address: '10.10.0.1/24' }], routes: [{ dst: '0.0.0.0/0', gw: '10.10.0.1' }, { dst: '0.0.0.0/0', gw: '10.10.0.2' }] }), { command: 'ADD' });
    expect(o.json?.['routes']).toEqual([{ dst: '0.0.0.0/0', gw: '10.10.0.1' }, { dst: '0.0.0.0/0', gw: '10.10.0.2' }]);
  });

  it('appends CNI_ARGS IP= and matches GATEWAY= to its subnet', () => {
    const o = run(bin(), conf('1.0.0', { addresses: [{ address: '10.30.0.5/24' }] }), {
      command: 'ADD',
      cniArgs: 'IP=10.10.0.1/24,2001:db8::5/64;GATEWAY=10.10.0.254,2001:db8::1',
    });
    expect(ipsOf(o)).toEqual([
      { address: '10.30.0.5/24' },
      { address: '10.10.0.1/24', gateway: '10.10.0.254' },
      { address: '2001:db8::5/64', gateway: '2001:db8::1' },
    ]);
  });

  it('args.cni.ips replaces the addresses, runtimeConfig.ips replaces them again', () => {
    const ipam = { addresses: [{ address: '10.30.0.5/24', gateway: '10.30.0.1' }] };
    const args = { args: { cni: { ips: ['10.40.0.5/24'] } } };
    expect(ipsOf(run(bin(), conf('1.0.0', ipam, args), { command: 'ADD', cniArgs: 'IP=10.10.0.1/24;GATEWAY=10.10.0.254' }))).toEqual([
      { address: '10.40.0.5/24' },
    ]);
    expect(ipsOf(run(bin(), conf('1.0.0', ipam, { ...args, runtimeConfig: { ips: ['10.50.0.5/24', '2001:db8::9/64'] } }), { command: 'ADD' }))).toEqual([
      { address: '10.50.0.5/24' },
      { address: '2001:db8::9/64' },
    ]);
    // Go-style key matching: "RuntimeConfig" works too.
    expect(ipsOf(run(bin(), conf('1.0.0', ipam, { RuntimeConfig: { ips: ['10.60.0.5/24'] } }), { command: 'ADD' }))).toEqual([
      { address: '10.60.0.5/24' },
    ]);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['missing ipam', { cniVersion: '1.0.0', name: 'mynet', type: 'bridge' }, '', "IPAM config missing 'ipam' key"],
    ['address without prefix', conf('1.0.0', { addresses: [{ address: '10.10.0.1' }] }), '', "the 'address' field is expected to be in CIDR notation, got: '10.10.0.1'"],
    ['CNI_ARGS ip without prefix', conf('1.0.0', {}), 'IP=10.10.0.1', "the 'ip' field is expected to be in CIDR notation, got: '10.10.0.1'"],
    ['bad gateway', conf('1.0.0', {}), 'IP=10.10.0.1/24;GATEWAY=nope', 'invalid gateway address: nope'],
    ['ips without prefix', conf('1.0.0', {}, { runtimeConfig: { ips: ['10.10.0.1'] } }), '', "an entry in the 'ips' field is NOT in CIDR notation, got: '10.10.0.1'"],
    ['two v4 at 0.2.0', conf('0.2.0', { addresses: [{ address: '10.10.0.1/24' }, { address: '10.20.0.1/24' }] }), '', 'CNI version 0.2.0 does not support more than 1 address per family'],
  ])('%s', (_n, c, cniArgs, msg) => {
    const o = run(bin(), c, { command: 'ADD', cniArgs });
    expect(o.code).toBe(1);
    expect(o.json).toMatchObject({ code: 7, msg });
  });
});
