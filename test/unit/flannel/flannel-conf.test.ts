// flannel's pure parts: subnet.env parsing and the delegate config (REFERENCE-flannel.md §1).
import { describe, expect, it } from 'vitest';
import { buildDelegate, sortKeysDeep } from '../../../plugins/flannel/delegate-conf.js';
import { parseSubnetEnv, SubnetEnvSyntaxError } from '../../../plugins/flannel/subnet-env.js';
import { savedPath } from '../../../plugins/flannel/saved.js';
import { goJSONCompact } from '../../../shared/cni/json-out.js';
import { CniError } from '../../../shared/cni/errors.js';

const V4 = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';

describe('subnet.env', () => {
  it('parses the four IPv4 variables, normalising the subnet to its network', () => {
    expect(parseSubnetEnv(V4, 'f')).toEqual({ networks4: ['10.1.0.0/16'], networks6: [], subnet4: '10.1.17.0/24', mtu: 1472, ipMasq: true });
  });

  it('dual stack; comma lists deduplicated; CRLF lines, unknown keys and lines without = ignored', () => {
    const text =
      'FLANNEL_NETWORK=10.1.0.0/16,10.2.0.0/16,10.1.0.0/16\r\nFLANNEL_IPV6_NETWORK=fd56::/48\nFLANNEL_SUBNET=10.1.17.1/24\n' +
      'FLANNEL_IPV6_SUBNET=fd56:0:0:11::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=TRUE\nOTHER=x\n# comment\n';
    expect(parseSubnetEnv(text, 'f')).toEqual({
      networks4: ['10.1.0.0/16', '10.2.0.0/16'], networks6: ['fd56::/48'], subnet4: '10.1.17.0/24', subnet6: 'fd56:0:0:11::/64', mtu: 1450, ipMasq: false,
    });
  });

  it('names every missing variable, pairs by both members (the reference\'s list)', () => {
    expect(() => parseSubnetEnv('', '/run/flannel/subnet.env')).toThrow(
      '/run/flannel/subnet.env is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ',
    );
    expect(() => parseSubnetEnv('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.1.1/24\nFLANNEL_IPMASQ=false\n', 'f')).toThrow('f is missing FLANNEL_MTU');
  });

  it('refuses malformed values with Go\'s wording', () => {
    expect(() => parseSubnetEnv(V4.replace('10.1.17.1/24', '10.1.17.1'), 'f')).toThrow('invalid CIDR address: 10.1.17.1');
    expect(() => parseSubnetEnv(V4.replace('1472', '-1'), 'f')).toThrow('strconv.ParseUint: parsing "-1": invalid syntax');
    expect(() => parseSubnetEnv(V4.replace('1472', '4294967296'), 'f')).toThrow(/value out of range/);
    expect(() => parseSubnetEnv('FLANNEL_MTU\n', 'f')).toThrow(SubnetEnvSyntaxError);
  });
});

describe('the delegate config', () => {
  const env = parseSubnetEnv(V4, 'f');

  it("is the reference test's IPv4 example; serialised with sorted keys, as Go marshals a map", () => {
    const d = buildDelegate({ name: 'cni-flannel', cniVersion: '' }, env);
    const reference = '{"ipMasq":false,"ipam":{"routes":[{"dst":"10.1.0.0/16"}],"ranges":[[{"subnet":"10.1.17.0/24"}]],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}';
    expect(d).toEqual(JSON.parse(reference));
    expect(goJSONCompact(sortKeysDeep(d))).toBe(
      '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}',
    );
  });

  it('keys given in delegate win; isGateway only for bridge; cniVersion from the conf overwrites', () => {
    const d = buildDelegate({ name: 'n', cniVersion: '1.0.0', delegate: { type: 'ptp', ipMasq: true, mtu: 1400, cniVersion: '0.3.1' } }, env);
    expect(d).toEqual({
      type: 'ptp', ipMasq: true, mtu: 1400, cniVersion: '1.0.0', name: 'n',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.17.0/24' }]], routes: [{ dst: '10.1.0.0/16' }] },
    });
    expect(buildDelegate({ name: 'n', cniVersion: '', delegate: { isGateway: false } }, env)['isGateway']).toBe(false);
    expect(buildDelegate({ name: 'n', cniVersion: '', delegate: { cniVersion: '0.4.0' } }, env)['cniVersion']).toBe('0.4.0');
  });

  it('ipam: the input map is the base, ranges always replaced, routes re-parsed then the networks appended', () => {
    const dual = parseSubnetEnv(V4 + 'FLANNEL_IPV6_NETWORK=fd56::/48\nFLANNEL_IPV6_SUBNET=fd56:0:0:11::1/64\n', 'f');
    const d = buildDelegate(
      { name: 'n', cniVersion: '', ipam: { type: 'static-ish', dataDir: '/x', ranges: [[{ subnet: '1.2.3.0/24' }]], routes: [{ dst: '10.9.0.1/16', gw: '10.1.17.1', junk: 1 }] } },
      dual,
    );
    expect(d['ipam']).toEqual({
      type: 'static-ish', dataDir: '/x',
      ranges: [[{ subnet: '10.1.17.0/24' }], [{ subnet: 'fd56:0:0:11::/64' }]],
      routes: [{ dst: '10.9.0.1/16', gw: '10.1.17.1' }, { dst: '10.1.0.0/16' }, { dst: 'fd56::/48' }],
    });
    expect(() => buildDelegate({ name: 'n', cniVersion: '', ipam: { routes: [{ dst: 'nope' }] } }, env)).toThrow(CniError);
    expect(() => buildDelegate({ name: 'n', cniVersion: '', ipam: { routes: [{ dst: 'nope' }] } }, env)).toThrow(/failed to read IPAM routes: failed to parse ipam.routes/);
  });

  it('runtimeConfig of the conf replaces the delegate\'s', () => {
    const d = buildDelegate({ name: 'n', cniVersion: '', delegate: { runtimeConfig: { a: 1 } }, runtimeConfig: { portMappings: [] } }, env);
    expect(d['runtimeConfig']).toEqual({ portMappings: [] });
  });
});

describe('the saved file name', () => {
  it('is dataDir/<containerID>; IDs that would leave the directory are refused', () => {
    expect(savedPath('/var/lib/cni/flannel', 'abc-1')).toBe('/var/lib/cni/flannel/abc-1');
    for (const bad of ['', '.', '..', 'a/b', 'a\0b']) expect(() => savedPath('/d', bad)).toThrow(CniError);
  });
});
