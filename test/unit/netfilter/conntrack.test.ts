// ctnetlink message bytes (linux/netfilter/nfnetlink_conntrack.h): the dump request, the delete of
// one entry by its original tuple, and the decoding of a dump reply.
import { describe, expect, it } from 'vitest';
import {
  buildConntrackDelete, buildConntrackDump, type ConntrackTuple, matchesFilter, parseConntrackEntry,
} from '../../../shared/netfilter/conntrack.js';
import type { NlMsg } from '../../../shared/netlink/message.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('ctnetlink messages', () => {
  it('dump request: type 0x0101 (CTNETLINK << 8 | CT_GET), nfgenmsg {AF_INET, v0, res_id 0}', () => {
    const m = buildConntrackDump(4).finish(7);
    expect(hex(m)).toBe(
      '14000000' + // length 20
        '0101' + // type
        '0000' + // flags (the socket adds REQUEST|DUMP)
        '07000000' + // seq
        '00000000' + // port id
        '02000000', // nfgenmsg: AF_INET, NFNETLINK_V0, res_id 0
    );
    expect(buildConntrackDump(6).finish(1)[16]).toBe(10);
  });

  it('delete: type 0x0102, CTA_TUPLE_ORIG{CTA_TUPLE_IP{src,dst}, CTA_TUPLE_PROTO{num,sport,dport}}, nested flags, ports big-endian', () => {
    const t: ConntrackTuple = {
      family: 4, src: Uint8Array.of(10, 31, 1, 1), dst: Uint8Array.of(10, 31, 1, 2), proto: 17, srcPort: 40000, dstPort: 8080, zone: 0,
    };
    const m = buildConntrackDelete(t).finish(9);
    expect(hex(m)).toBe(
      '48000000' + '0201' + '0000' + '09000000' + '00000000' + // header: length 72, type 0x0102
        '02000000' + // nfgenmsg
        '34000180' + // CTA_TUPLE_ORIG (1 | NLA_F_NESTED), len 52
        '14000180' + // CTA_TUPLE_IP (1 | nested), len 20
        '08000100' + '0a1f0101' + // CTA_IP_V4_SRC 10.31.1.1
        '08000200' + '0a1f0102' + // CTA_IP_V4_DST 10.31.1.2
        '1c000280' + // CTA_TUPLE_PROTO (2 | nested), len 28
        '05000100' + '11000000' + // CTA_PROTO_NUM 17 (+ padding)
        '06000200' + '9c400000' + // CTA_PROTO_SRC_PORT 40000 (be16)
        '06000300' + '1f900000', // CTA_PROTO_DST_PORT 8080 (be16)
    );
  });

  it('delete in a zone carries CTA_ZONE (be16); IPv6 uses the V6 address attributes', () => {
    const src = new Uint8Array(16);
    src[0] = 0xfd;
    src[15] = 1;
    const dst = Uint8Array.from(src);
    dst[15] = 2;
    const m = buildConntrackDelete({ family: 6, src, dst, proto: 17, srcPort: 1, dstPort: 2, zone: 5 }).finish(1);
    expect(m[16]).toBe(10);
    // CTA_IP_V6_SRC (3) with 16 bytes
    expect(hex(m.subarray(28, 32))).toBe('14000300');
    // trailing CTA_ZONE (18) = 5
    expect(hex(m.subarray(m.length - 8))).toBe('0600120000050000');
  });

  it('decodes a dump reply entry (round trip of a delete body as a CT_NEW message) and filters it', () => {
    const t: ConntrackTuple = {
      family: 4, src: Uint8Array.of(10, 31, 1, 1), dst: Uint8Array.of(10, 31, 1, 2), proto: 17, srcPort: 40000, dstPort: 8080, zone: 3,
    };
    const body = buildConntrackDelete(t).finish(1);
    const msg: NlMsg = { type: 0x0100, flags: 2, seq: 1, portId: 0, payload: Buffer.from(body.subarray(16)) };
    const parsed = parseConntrackEntry(msg)!;
    expect(parsed).toEqual({ ...t });
    expect(matchesFilter(parsed, { proto: 17, dstPorts: new Set([8080]) })).toBe(true);
    expect(matchesFilter(parsed, { proto: 6, dstPorts: new Set([8080]) })).toBe(false);
    expect(matchesFilter(parsed, { proto: 17, dstPorts: new Set([53]) })).toBe(false);
    expect(parseConntrackEntry({ ...msg, type: 0x0102 })).toBeUndefined();
  });
});
