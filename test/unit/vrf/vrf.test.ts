// vrf without a kernel: config rules, the free-table search and the VRF link request bytes.
import { describe, expect, it } from 'vitest';
import { firstFreeVrfTable, loadConf } from '../../../plugins/vrf/config.js';
import { CniError } from '../../../shared/cni/errors.js';
import { buildVrf, IFLA_VRF_TABLE } from '../../../shared/netlink/link-build.js';
import { parseLink } from '../../../shared/netlink/link-parse.js';
import type { Link } from '../../../shared/netlink/link-types.js';
import * as C from '../../../shared/netlink/constants.js';
import { attrString, attrU32 } from '../../../shared/netlink/message.js';
import { linkRequest } from '../../helpers/link-request.js';

const conf = (o: Record<string, unknown>): string => JSON.stringify({ cniVersion: '0.4.0', name: 'n', type: 'vrf', ...o });
const code = (fn: () => unknown): number | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
  return undefined;
};
const link = (o: Partial<Link>): Link => ({
  index: 1, name: 'x', hwType: 1, mtu: 1500, up: true, flags: 0, operstate: 'up', txQLen: 1000, promisc: false, promiscuity: 0, ...o,
});

describe('vrf config', () => {
  it('vrfname is required (the reference message), and must be a link name', () => {
    expect(() => loadConf(conf({}))).toThrow('configuration is expected to have a valid vrf name');
    expect(code(() => loadConf(conf({ vrfname: '' })))).toBe(7);
    expect(() => loadConf(conf({ vrfname: 'a/b' }))).toThrow(/vrfname: .*"a\/b"/);
    expect(() => loadConf(conf({ vrfname: 'x'.repeat(16) }))).toThrow(/vrfname/);
    expect(loadConf(conf({ VRFName: 'blue' })).vrfname).toBe('blue');
  });
  it('table is a uint32 (0 = pick one)', () => {
    expect(loadConf(conf({ vrfname: 'blue' })).table).toBeUndefined();
    expect(loadConf(conf({ vrfname: 'blue', table: 0 })).table).toBe(0);
    expect(loadConf(conf({ vrfname: 'blue', table: 4294967295 })).table).toBe(4294967295);
    expect(code(() => loadConf(conf({ vrfname: 'blue', table: -1 })))).toBe(7);
    expect(code(() => loadConf(conf({ vrfname: 'blue', table: 4294967296 })))).toBe(7);
    expect(() => loadConf(conf({ vrfname: 'blue', table: '10' }))).toThrow(/table/);
  });
});

describe('vrf free table', () => {
  it('first id from 1 not used by another VRF; other links ignored', () => {
    expect(firstFreeVrfTable([])).toBe(1);
    expect(firstFreeVrfTable([link({ kind: 'vrf', vrfTable: 1 }), link({ kind: 'vrf', vrfTable: 3 })])).toBe(2);
    expect(firstFreeVrfTable([link({ kind: 'veth', vrfTable: 1 }), link({ kind: 'bridge' })])).toBe(1);
  });
  it('999 VRFs on tables 1..999 -> 1000', () => {
    const links = Array.from({ length: 999 }, (_, i) => link({ kind: 'vrf', vrfTable: i + 1, index: i + 2 }));
    expect(firstFreeVrfTable(links)).toBe(1000);
  });
});

describe('vrf link request', () => {
  // `strace -e trace=sendmsg -e write=3 ip link add x type vrf table 10` (the kernel here refuses it):
  // 64 bytes; ifinfomsg zero; IFLA_IFNAME "x"; IFLA_LINKINFO { IFLA_INFO_KIND "vrf", IFLA_INFO_DATA { IFLA_VRF_TABLE 10 } }.
  const REFERENCE = '00000000000000000000000000000000' + '0600030078000000' + '18001200' + '0700010076726600' + '0c000200' + '080001000a000000';
  it('ip link add x type vrf table 10: the same bytes, but for the kind\'s NUL terminator', () => {
    const m = buildVrf({ name: 'x', table: 10 }).finish(1);
    expect(m.readUInt32LE(0)).toBe(64);
    const { a, info, data } = linkRequest(m);
    expect(attrString(a.get(C.IFLA_IFNAME))).toBe('x');
    expect(attrString(info.get(C.IFLA_INFO_KIND))).toBe('vrf');
    expect(attrU32(data?.get(IFLA_VRF_TABLE))).toBe(10);
    // iproute2 sends IFLA_INFO_KIND as "vrf" (nla_len 7), we as "vrf\0" (nla_len 8), as for every kind
    // we build; the padding byte is 0 either way, so only that length byte differs.
    const ours = m.subarray(16).toString('hex');
    expect(ours).toBe(REFERENCE.replace('0700010076726600', '0800010076726600'));
  });
  it('table 0 and non-integers are refused before any I/O', () => {
    expect(() => buildVrf({ name: 'x', table: 0 })).toThrow(/invalid VRF table 0/);
    expect(() => buildVrf({ name: 'x', table: 1.5 })).toThrow(/invalid VRF table/);
  });
  it('a dumped VRF reports its table', () => {
    const m = buildVrf({ name: 'blue', table: 42 }).finish(1);
    const l = parseLink({ type: C.RTM_NEWLINK, flags: 0, seq: 0, portId: 0, payload: m.subarray(16) });
    expect(l?.kind).toBe('vrf');
    expect(l?.vrfTable).toBe(42);
  });
});
