import { describe, expect, it } from 'vitest';
import { formatResult, fromJSON, parsePrevResult, toVersion } from '../../../shared/cni/convert.js';
import { CniError } from '../../../shared/cni/errors.js';
import type { Result } from '../../../shared/cni/types.js';
import { SUPPORTED_VERSIONS, resultFamily, type ResultFamily } from '../../../shared/cni/versions.js';

type Json = Record<string, unknown>;

/**
 * One conversion case: the result as each family writes it natively (`native`), and, for sources
 * that lose information, what a result read from that family looks like in each target family
 * (`via[source][target]`). Missing via entries mean "same as native[target]"; null = error.
 */
interface Case {
  name: string;
  native: Record<ResultFamily, Json | null>;
  via?: Partial<Record<ResultFamily, Partial<Record<ResultFamily, Json | null>>>>;
}

const dns = { nameservers: ['10.0.0.53'], domain: 'example.com', search: ['a.example.com'], options: ['ndots:2'] };

const rich: Case = {
  name: 'dual-stack with interfaces, 2 v4 + 1 v6, extended routes, dns',
  native: {
    '1.x': {
      interfaces: [
        { name: 'cni0', mac: '0a:58:0a:01:02:01' },
        { name: 'eth0', mac: '0a:58:0a:01:02:03', mtu: 1400, sandbox: '/run/netns/x', socketPath: '/run/s.sock', pciID: '0000:00:1f.6' },
      ],
      ips: [
        { interface: 1, address: '10.1.2.3/24', gateway: '10.1.2.1' },
        { interface: 1, address: '2001:db8::3/64', gateway: '2001:db8::1' },
        { interface: 1, address: '10.9.9.9/16' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.1.2.1', mtu: 1300, advmss: 1200, priority: 5, table: 0, scope: 253 },
        { dst: '::/0', gw: '2001:db8::1' },
        { dst: '192.168.0.0/16' },
      ],
      dns,
    },
    '0.4': {
      interfaces: [
        { name: 'cni0', mac: '0a:58:0a:01:02:01' },
        { name: 'eth0', mac: '0a:58:0a:01:02:03', sandbox: '/run/netns/x' },
      ],
      ips: [
        { version: '4', interface: 1, address: '10.1.2.3/24', gateway: '10.1.2.1' },
        { version: '6', interface: 1, address: '2001:db8::3/64', gateway: '2001:db8::1' },
        { version: '4', interface: 1, address: '10.9.9.9/16' },
      ],
      // Routes are copied whole into 0.4, extended fields included.
      routes: [
        { dst: '0.0.0.0/0', gw: '10.1.2.1', mtu: 1300, advmss: 1200, priority: 5, table: 0, scope: 253 },
        { dst: '::/0', gw: '2001:db8::1' },
        { dst: '192.168.0.0/16' },
      ],
      dns,
    },
    '0.2': {
      ip4: {
        ip: '10.1.2.3/24',
        gateway: '10.1.2.1',
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '192.168.0.0/16' }],
      },
      ip6: { ip: '2001:db8::3/64', gateway: '2001:db8::1', routes: [{ dst: '::/0', gw: '2001:db8::1' }] },
      dns,
    },
  },
  via: {
    '0.4': {
      '1.x': {
        interfaces: [
          { name: 'cni0', mac: '0a:58:0a:01:02:01' },
          { name: 'eth0', mac: '0a:58:0a:01:02:03', sandbox: '/run/netns/x' },
        ],
        ips: [
          { interface: 1, address: '10.1.2.3/24', gateway: '10.1.2.1' },
          { interface: 1, address: '2001:db8::3/64', gateway: '2001:db8::1' },
          { interface: 1, address: '10.9.9.9/16' },
        ],
        routes: [
          { dst: '0.0.0.0/0', gw: '10.1.2.1', mtu: 1300, advmss: 1200, priority: 5, table: 0, scope: 253 },
          { dst: '::/0', gw: '2001:db8::1' },
          { dst: '192.168.0.0/16' },
        ],
        dns,
      },
    },
    '0.2': {
      '1.x': {
        ips: [
          { address: '10.1.2.3/24', gateway: '10.1.2.1' },
          { address: '2001:db8::3/64', gateway: '2001:db8::1' },
        ],
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '192.168.0.0/16' }, { dst: '::/0', gw: '2001:db8::1' }],
        dns,
      },
      '0.4': {
        ips: [
          { version: '4', address: '10.1.2.3/24', gateway: '10.1.2.1' },
          { version: '6', address: '2001:db8::3/64', gateway: '2001:db8::1' },
        ],
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '192.168.0.0/16' }, { dst: '::/0', gw: '2001:db8::1' }],
        dns,
      },
    },
  },
};

const l2only: Case = {
  name: 'L2 only (interfaces, no IPs, no dns)',
  native: {
    '1.x': { interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:02:03', sandbox: '/run/netns/x' }] },
    '0.4': { interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:02:03', sandbox: '/run/netns/x' }], dns: {} },
    '0.2': null,
  },
};

const v6only: Case = {
  name: 'IPv6 only with a v4 route (dropped in 0.2: no v4 block)',
  native: {
    '1.x': { ips: [{ address: '2001:db8::5/64' }], routes: [{ dst: '10.0.0.0/8' }, { dst: '::/0', gw: '2001:db8::1' }] },
    '0.4': {
      ips: [{ version: '6', address: '2001:db8::5/64' }],
      routes: [{ dst: '10.0.0.0/8' }, { dst: '::/0', gw: '2001:db8::1' }],
      dns: {},
    },
    '0.2': { ip6: { ip: '2001:db8::5/64', routes: [{ dst: '::/0', gw: '2001:db8::1' }] }, dns: {} },
  },
  via: {
    '0.2': {
      '1.x': { ips: [{ address: '2001:db8::5/64' }], routes: [{ dst: '::/0', gw: '2001:db8::1' }] },
      '0.4': { ips: [{ version: '6', address: '2001:db8::5/64' }], routes: [{ dst: '::/0', gw: '2001:db8::1' }], dns: {} },
    },
  },
};

const withVersion = (json: Json, version: string): Json => ({ cniVersion: version, ...json });

describe('result conversion across every pair of versions', () => {
  for (const c of [rich, l2only, v6only]) {
    for (const from of SUPPORTED_VERSIONS) {
      for (const to of SUPPORTED_VERSIONS) {
        const fromFamily = resultFamily(from) as ResultFamily;
        const toFamily = resultFamily(to) as ResultFamily;
        const source = c.native[fromFamily];
        if (source === null) continue; // cannot exist in that version
        it(`${c.name}: ${from} -> ${to}`, () => {
          const internal = fromJSON(withVersion(source, from), from);
          const via = c.via?.[fromFamily];
          const expected = via && toFamily in via ? via[toFamily] : c.native[toFamily];
          if (expected === null || expected === undefined) {
            expect(() => toVersion(internal, to)).toThrow('cannot convert: no valid IP addresses');
            return;
          }
          expect(toVersion(internal, to)).toStrictEqual(withVersion(expected, to));
        });
      }
    }
  }
});

describe('toVersion details', () => {
  it('0.1/0.2 take the first v4 and the first v6 only, and fail with code 1 without IPs', () => {
    const r: Result = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }, { address: '10.0.0.3/24' }] };
    expect(toVersion(r, '0.2.0')).toStrictEqual({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' }, dns: {} });
    const err = (() => {
      try {
        toVersion({ cniVersion: '1.1.0' }, '0.1.0');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(1);
  });

  it("'' means 0.1.0 and unknown versions are rejected", () => {
    expect(toVersion({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }, '')).toMatchObject({ cniVersion: '0.1.0' });
    expect(() => toVersion({ cniVersion: '1.1.0' }, '2.0.0')).toThrow('unsupported CNI result version "2.0.0"');
  });

  it('1.x omits an empty dns object; 0.4 prints "dns": {}', () => {
    expect(formatResult({ cniVersion: '1.1.0', dns: { nameservers: [] } }, '1.1.0')).toBe('{\n    "cniVersion": "1.1.0"\n}');
    expect(formatResult({ cniVersion: '1.1.0' }, '0.4.0')).toBe('{\n    "cniVersion": "0.4.0",\n    "dns": {}\n}');
  });

  it('prints table/scope 0 (pointers in Go) but omits mtu/advmss/priority 0', () => {
    const r: Result = { cniVersion: '1.1.0', routes: [{ dst: '0.0.0.0/0', mtu: 0, advmss: 0, priority: 0, table: 0, scope: 0 }] };
    expect(toVersion(r, '1.0.0')).toStrictEqual({ cniVersion: '1.0.0', routes: [{ dst: '0.0.0.0/0', table: 0, scope: 0 }] });
  });

  it('escapes <, > and & like Go', () => {
    const r: Result = { cniVersion: '1.1.0', interfaces: [{ name: 'a<b>&c' }] };
    expect(formatResult(r, '1.1.0')).toContain('"name": "a\\u003cb\\u003e\\u0026c"');
  });
});

describe('fromJSON / parsePrevResult', () => {
  it('canonicalises addresses like Go net.IP (host bits kept)', () => {
    const r = fromJSON(
      {
        cniVersion: '1.0.0',
        ips: [
          { address: '3ffe:ffff:0:01ff::1/64', gateway: '3FFE:FFFF:0::1' },
          { address: '::ffff:10.1.2.3/120' },
          { address: '::ffff:10.1.2.3/64' },
          { address: '10.1.2.3/0024' },
        ],
        routes: [{ dst: '2001:0db8:0000:0000:0000:0000:0000:0000/32' }],
      },
      '1.0.0',
    );
    expect(r.ips).toStrictEqual([
      { address: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1' },
      // libcni (types/100 on Go 1.19) prints a mapped address by its IPv4 part and the mask's last 32 bits.
      { address: '10.1.2.3/24' },
      { address: '10.1.2.3/0' },
      { address: '10.1.2.3/24' },
    ]);
    expect(r.routes).toStrictEqual([{ dst: '2001:db8::/32' }]);
  });

  it('rejects a result outside the config version family with the reference message', () => {
    expect(() => fromJSON({ cniVersion: '0.4.0' }, '1.0.0')).toThrow(
      'result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"',
    );
    expect(() => fromJSON({ cniVersion: '1.0.0' }, '0.2.0')).toThrow(
      'result type supports [ 0.1.0 0.2.0] but unmarshalled CNIVersion is "1.0.0"',
    );
    expect(() => fromJSON({}, '0.4.0')).toThrow('unmarshalled CNIVersion is ""');
  });

  it('prevResult without cniVersion takes the config version; a mismatched one fails', () => {
    expect(parsePrevResult({ ips: [{ address: '10.0.0.2/24' }] }, '1.1.0')).toStrictEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '10.0.0.2/24' }],
    });
    expect(() => parsePrevResult({ cniVersion: '0.4.0', ips: [] }, '1.0.0')).toThrow('unmarshalled CNIVersion is "0.4.0"');
  });

  it('matches keys case-insensitively, tolerates extra fields, treats null as absent', () => {
    const r = fromJSON(
      { CNIVERSION: '1.0.0', IPs: [{ Address: '10.0.0.2/24', version: '4', gateway: null }], DNS: null, extra: 1 },
      '1.0.0',
    );
    expect(r).toStrictEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
  });

  it('reports type errors and bad addresses with code 6 and the field path', () => {
    const codeOf = (f: () => unknown): number | undefined => {
      try {
        f();
      } catch (e) {
        return (e as CniError).code;
      }
      return undefined;
    };
    expect(() => fromJSON({ cniVersion: '1.0.0', ips: [{ address: 'nope' }] }, '1.0.0')).toThrow(
      'ips[0].address: invalid CIDR address: nope',
    );
    expect(() => fromJSON({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/24', interface: '0' }] }, '1.0.0')).toThrow(
      'ips[0].interface: cannot unmarshal string "0" into int',
    );
    expect(() => fromJSON({ cniVersion: '1.0.0', routes: [{ dst: '0.0.0.0/0', gw: '1.2.3' }] }, '1.0.0')).toThrow(
      'routes[0].gw: invalid IP address: 1.2.3',
    );
    expect(codeOf(() => fromJSON({ cniVersion: '1.0.0', ips: 3 }, '1.0.0'))).toBe(6);
  });
});

describe('formatResult matches the Go reference output byte for byte', () => {
  // Captured from Debian's containernetworking-plugins 1.1.1 `static` IPAM (ADD, cniVersion 0.4.0).
  const reference040 = `{
    "cniVersion": "0.4.0",
    "ips": [
        {
            "version": "4",
            "address": "10.10.0.1/24",
            "gateway": "10.10.0.254"
        },
        {
            "version": "6",
            "address": "3ffe:ffff:0:1ff::1/64",
            "gateway": "3ffe:ffff::1"
        },
        {
            "version": "4",
            "address": "10.20.0.1/24"
        }
    ],
    "routes": [
        {
            "dst": "0.0.0.0/0"
        },
        {
            "dst": "192.168.0.0/16",
            "gw": "10.10.5.1"
        },
        {
            "dst": "3ffe:ffff:0:1ff::1/64"
        }
    ],
    "dns": {
        "nameservers": [
            "8.8.8.8"
        ],
        "domain": "example.com",
        "search": [
            "example.com"
        ]
    }
}`;
  it('0.4.0', () => {
    const prev = fromJSON(
      {
        cniVersion: '0.4.0',
        ips: [
          { version: '4', address: '10.10.0.1/24', gateway: '10.10.0.254' },
          { version: '6', address: '3ffe:ffff:0:01ff::1/64', gateway: '3ffe:ffff:0::1' },
          { version: '4', address: '10.20.0.1/24' },
        ],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.10.5.1' }, { dst: '3ffe:ffff:0:01ff::1/64' }],
        dns: { nameservers: ['8.8.8.8'], domain: 'example.com', search: ['example.com'] },
      },
      '0.4.0',
    );
    expect(formatResult(prev, '0.4.0')).toBe(reference040);
  });
});
