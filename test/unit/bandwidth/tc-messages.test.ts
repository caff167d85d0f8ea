// Request bytes of shared/netlink/tc.ts against what the Go reference (Debian's 1.1.1 bandwidth,
// vishvananda/netlink) sent for the same ADD, captured with `strace -e sendto -xx`: host veth
// ifindex 2, ifb ifindex 3, ingressRate 800000/ingressBurst 80000, egressRate 1600000/egressBurst
// 160000, /proc/net/psched "000003e8 00000040 000f4240 3b9aca00".
import { describe, expect, it } from 'vitest';
import { buildIfb } from '../../../shared/netlink/link-build.js';
import { attrString, attrU32, parseAttrs, parseNested } from '../../../shared/netlink/message.js';
import * as C from '../../../shared/netlink/constants.js';
import {
  buildAddHtb, buildAddHtbClass, buildAddIngress, buildAddTbf, buildAddU32, buildDelQdisc, ETH_P_ALL, ETH_P_IP, makeHandle,
  TC_ACT_OK, TC_ACT_STOLEN, TC_H_INGRESS, TC_H_ROOT,
} from '../../../shared/netlink/tc.js';
import { parsePsched, rateTable, xmitTime } from '../../../shared/netlink/tc-rate.js';
import { tbfParams } from '../../../plugins/bandwidth/shaping.js';
import { parseClass, parseFilter, parseQdisc } from '../../../shared/netlink/tc-control.js';
import { splitMessages } from '../../../shared/netlink/message.js';

/** The message body after the 16-byte nlmsghdr, as hex (the part strace prints after the header). */
const body = (b: Buffer): string => b.subarray(16).toString('hex');
const header = (b: Buffer): { len: number; type: number; flags: number } => ({ len: b.readUInt32LE(0), type: b.readUInt16LE(4), flags: b.readUInt16LE(6) });
const strace = (s: string): string => s.replace(/\\x/g, '');

const clock = parsePsched('000003e8 00000040 000f4240 3b9aca00\n');

describe('tc request bytes equal the reference', () => {
  it('psched clock: 1000/64 ticks per microsecond at microsecond resolution; the ns-resolution rule', () => {
    expect(clock.tickInUsec).toBe(15.625);
    expect(parsePsched('000003e8 00000040 3b9aca00 3b9aca00').tickInUsec).toBe(1000);
  });

  it('tbf on the host veth (ingress shaping)', () => {
    const p = tbfParams(clock, { rateBits: 800000, burstBits: 80000 });
    expect(p).toEqual({ rate: 100000, burst: 10000, buffer: 1562500, limit: 12500 });
    const msg = buildAddTbf({ ifindex: 2, handle: makeHandle(1, 0), parent: TC_H_ROOT, rate: p.rate, limit: p.limit, buffer: p.buffer }).finish(4);
    expect(header(msg)).toEqual({ len: 88, type: 36, flags: C.NLM_F_CREATE | C.NLM_F_EXCL });
    expect(body(msg)).toBe(
      '00000000' + '02000000' + '00000100' + 'ffffffff' + '00000000' +
        '08000100' + strace('\\x74\\x62\\x66\\x00') +
        '2c000200' + strace('\\x28\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xa0\\x86\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xd4\\x30\\x00\\x00\\x84\\xd7\\x17\\x00\\x00\\x00\\x00\\x00'),
    );
  });

  it('tbf on the ifb (egress shaping)', () => {
    const p = tbfParams(clock, { rateBits: 1600000, burstBits: 160000 });
    const msg = buildAddTbf({ ifindex: 3, handle: makeHandle(1, 0), parent: TC_H_ROOT, rate: p.rate, limit: p.limit, buffer: p.buffer }).finish(13);
    expect(body(msg).slice(40 + 16 + 8)).toBe(
      strace('\\x28\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x40\\x0d\\x03\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xa8\\x61\\x00\\x00\\x84\\xd7\\x17\\x00\\x00\\x00\\x00\\x00'),
    );
  });

  it('tbf rates past 32 bits add TCA_TBF_RATE64', () => {
    const msg = buildAddTbf({ ifindex: 2, handle: makeHandle(1, 0), parent: TC_H_ROOT, rate: 2 ** 33 + 5, limit: 1, buffer: 1 }).finish(1);
    const opts = parseNested(parseAttrs(msg, 36).get(2)!);
    expect(opts.get(1)!.readUInt32LE(8)).toBe(5); // Go's uint32 truncation in the legacy field
    expect(opts.get(4)!.readBigUInt64LE(0)).toBe(2n ** 33n + 5n);
  });

  it('the reference test vectors: rate 8 burst 8 -> tbf rate 1, limit 1; egressRate 16 -> rate 2, limit 1', () => {
    expect(tbfParams(clock, { rateBits: 8, burstBits: 8 })).toMatchObject({ rate: 1, limit: 1 });
    expect(tbfParams(clock, { rateBits: 16, burstBits: 8 })).toMatchObject({ rate: 2, limit: 1 });
  });

  it('ingress qdisc ffff: with an empty TCA_OPTIONS', () => {
    const msg = buildAddIngress(2).finish(11);
    expect(header(msg).len).toBe(52);
    expect(body(msg)).toBe('00000000' + '02000000' + '0000ffff' + 'f1ffffff' + '00000000' + '0c000100' + Buffer.from('ingress\0').toString('hex') + '04000200');
  });

  it('u32 match-all filter with the two mirred egress redirects the reference sends', () => {
    const msg = buildAddU32({
      ifindex: 2, parent: makeHandle(0xffff, 0), priority: 1, protocol: ETH_P_ALL, classId: makeHandle(1, 1),
      actions: [{ verdict: TC_ACT_STOLEN, ifindex: 3 }, { verdict: TC_ACT_OK, ifindex: 3 }],
    }).finish(12);
    expect(header(msg)).toEqual({ len: 200, type: 44, flags: C.NLM_F_CREATE | C.NLM_F_EXCL });
    expect(body(msg)).toBe(
      '00000000' + '02000000' + '00000000' + '0000ffff' + '00030100' +
        '08000100' + Buffer.from('u32\0').toString('hex') +
        '9c000200' +
        strace(
          '\\x24\\x00\\x05\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x01\\x00\\x01\\x00\\x6c\\x00\\x07\\x00\\x34\\x00\\x01\\x00\\x0b\\x00\\x01\\x00\\x6d\\x69\\x72\\x72\\x65\\x64\\x00\\x00\\x24\\x00\\x02\\x00\\x20\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x34\\x00\\x02\\x00\\x0b\\x00\\x01\\x00\\x6d\\x69\\x72\\x72\\x65\\x64\\x00\\x00\\x24\\x00\\x02\\x00\\x20\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x03\\x00\\x00\\x00',
        ),
    );
  });

  it('ifb link: created UP with the MTU and txqueuelen 0, kind ifb', () => {
    const msg = buildIfb({ name: 'bwp459546d14214', mtu: 1500, txQLen: 0, up: true }).finish(6);
    expect(msg.readUInt32LE(16 + 8)).toBe(C.IFF_UP); // ifi_flags
    expect(msg.readUInt32LE(16 + 12)).toBe(C.IFF_UP); // ifi_change
    const a = parseAttrs(msg, 32);
    expect(attrString(a.get(C.IFLA_IFNAME))).toBe('bwp459546d14214');
    expect(attrU32(a.get(C.IFLA_MTU))).toBe(1500);
    expect(attrU32(a.get(C.IFLA_TXQLEN))).toBe(0);
    expect(attrString(parseNested(a.get(C.IFLA_LINKINFO)!).get(C.IFLA_INFO_KIND))).toBe('ifb');
  });

  it('qdisc delete: tcmsg only', () => {
    expect(body(buildDelQdisc(7, makeHandle(0xffff, 0), TC_H_INGRESS).finish(1))).toBe('00000000' + '07000000' + '0000ffff' + 'f1ffffff' + '00000000');
  });
});

describe('htb (the subnet mode), as vishvananda/netlink encodes it', () => {
  it('qdisc: tc_htb_glob version 3, rate2quantum 10, defcls', () => {
    const msg = buildAddHtb({ ifindex: 5, handle: makeHandle(1, 0), parent: TC_H_ROOT, defcls: 48 }).finish(1);
    const a = parseAttrs(msg, 36);
    expect(attrString(a.get(1))).toBe('htb');
    expect(parseNested(a.get(2)!).get(2)!.toString('hex')).toBe('03000000' + '0a000000' + '30000000' + '00000000' + '00000000');
  });

  it('rate table: cell_log 3 for mtu 1600, ethernet link layer, cell_align -1, entries = xmittime((i+1)<<3)', () => {
    const { spec, table } = rateTable(clock, 100000);
    expect(spec).toEqual({ rate: 100000, cellLog: 3, linklayer: 1, cellAlign: -1 });
    expect(table.readUInt32LE(0)).toBe(xmitTime(clock, 100000, 8));
    expect(table.readUInt32LE(0)).toBe(1250); // 80 us * 15.625
    expect(table.readUInt32LE(255 * 4)).toBe(xmitTime(clock, 100000, 2048));
  });

  it('class: parms (rate, ceil, buffer, cbuffer), RTAB then CTAB, RATE64/CEIL64 for the uncapped class', () => {
    const shaped = buildAddHtbClass({ ifindex: 5, handle: makeHandle(1, 48), parent: makeHandle(1, 0), rate: 100000, ceil: 200000, buffer: 1562500, cbuffer: 1562500 }, clock).finish(1);
    const so = [...parseNested(parseAttrs(shaped, 36).get(2)!).keys()];
    expect(so).toEqual([1, 4, 3]);
    const parms = parseNested(parseAttrs(shaped, 36).get(2)!).get(1)!;
    expect(parms.length).toBe(44);
    expect(parms.readUInt32LE(8)).toBe(100000);
    expect(parms.readUInt32LE(20)).toBe(200000);
    expect(parms.readUInt32LE(24)).toBe(1562500);
    expect(parms.readUInt32LE(28)).toBe(1562500);
    expect(parms.readInt16LE(4)).toBe(-1);
    const uncapped = buildAddHtbClass({ ifindex: 5, handle: makeHandle(1, 1), parent: makeHandle(1, 0), rate: 100e9, ceil: 100e9, buffer: 0, cbuffer: 0 }, clock).finish(1);
    const uo = parseNested(parseAttrs(uncapped, 36).get(2)!);
    expect([...uo.keys()]).toEqual([1, 4, 3, 6, 7]);
    expect(uo.get(1)!.readUInt32LE(8)).toBe(100e9 % 2 ** 32);
    expect(uo.get(6)!.readBigUInt64LE(0)).toBe(100_000_000_000n);
  });

  it('subnet filter: u32 selector keys in network order, offsets in host order, classid, empty actions', () => {
    const msg = buildAddU32({ ifindex: 5, parent: makeHandle(1, 0), priority: 16, protocol: ETH_P_IP, classId: makeHandle(1, 1), keys: [{ mask: 0xffff0000, val: 0x0a220000, off: 16 }] }).finish(1);
    expect(msg.readUInt32LE(16 + 16)).toBe((16 << 16) | 0x0008); // prio 16, htons(ETH_P_IP)
    const o = parseNested(parseAttrs(msg, 36).get(2)!);
    expect(o.get(5)!.toString('hex')).toBe('01000100' + '0000' + '0000' + '0000' + '0000' + '00000000' + 'ffff0000' + '0a220000' + '10000000' + '00000000');
    expect(attrU32(o.get(1))).toBe(0x10001);
    expect(o.get(7)!.length).toBe(0);
  });
});

describe('dump parsers read back what the builders encode (same layout as the kernel\'s replies)', () => {
  const one = (b: Buffer) => splitMessages(b, b.length)[0]!;
  it('tbf, htb qdiscs; htb class with 64-bit rates; u32 filter with its mirred targets', () => {
    expect(parseQdisc(one(buildAddTbf({ ifindex: 4, handle: makeHandle(1, 0), parent: TC_H_ROOT, rate: 2 ** 33, limit: 9, buffer: 7 }).finish(1)))).toEqual({
      ifindex: 4, handle: 0x10000, parent: TC_H_ROOT, kind: 'tbf', tbf: { rate: 2 ** 33, limit: 9, buffer: 7 },
    });
    expect(parseQdisc(one(buildAddHtb({ ifindex: 4, handle: makeHandle(1, 0), parent: TC_H_ROOT, defcls: 1 }).finish(1)))?.htb).toEqual({ defcls: 1 });
    expect(parseQdisc(one(buildAddIngress(4).finish(1)))).toMatchObject({ kind: 'ingress', handle: 0xffff0000, parent: TC_H_INGRESS });
    expect(parseClass(one(buildAddHtbClass({ ifindex: 4, handle: makeHandle(1, 1), parent: makeHandle(1, 0), rate: 100e9, ceil: 100e9, buffer: 0, cbuffer: 0 }, clock).finish(1)))?.htb).toEqual({
      rate: 100e9, ceil: 100e9, buffer: 0, cbuffer: 0,
    });
    const f = parseFilter(one(buildAddU32({ ifindex: 4, parent: makeHandle(0xffff, 0), priority: 1, protocol: ETH_P_ALL, classId: makeHandle(1, 1), actions: [{ verdict: TC_ACT_STOLEN, ifindex: 9 }, { verdict: TC_ACT_OK, ifindex: 9 }] }).finish(1)));
    expect(f).toEqual({ ifindex: 4, handle: 0, parent: 0xffff0000, priority: 1, protocol: ETH_P_ALL, kind: 'u32', classId: 0x10001, mirredTo: [9, 9] });
  });
});
