// Wire format: attribute padding and nesting, message splitting, error replies with extended ACK.
import { describe, expect, it } from 'vitest';
import { NLA_F_NESTED, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTI, NLMSG_DONE } from '../../../shared/netlink/constants.js';
import { parseErrorReply } from '../../../shared/netlink/errors.js';
import {
  attrList, attrString, attrU16, attrU32, attrU8, MessageBuilder, parseAttrs, parseNested, splitMessages,
} from '../../../shared/netlink/message.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('MessageBuilder', () => {
  it('writes the header and pads string attributes to 4 bytes', () => {
    const msg = new MessageBuilder(18, 0x300).fixed(new Uint8Array(16)).str(3, 'eth0').finish(7, 42);
    // header(16) + ifinfomsg(16) + attr(4 + "eth0\0" = 9, padded to 12)
    expect(msg.length).toBe(44);
    expect(msg.readUInt32LE(0)).toBe(44);
    expect(msg.readUInt16LE(4)).toBe(18);
    expect(msg.readUInt16LE(6)).toBe(0x300);
    expect(msg.readUInt32LE(8)).toBe(7);
    expect(msg.readUInt32LE(12)).toBe(42);
    expect(hex(msg.subarray(32))).toBe('0900' + '0300' + hex(Buffer.from('eth0\0')) + '000000');
  });

  it('writes integer attributes in host order and be16 in network order', () => {
    const msg = new MessageBuilder(16, 0).u8(1, 0xab).u16(2, 0x1234).be16(3, 0x8100).u32(4, 0xdeadbeef).finish(1);
    const attrs = attrList(msg, 16);
    expect(attrs.map(([t]) => t)).toEqual([1, 2, 3, 4]);
    expect(hex(msg.subarray(16))).toBe(
      '05000100ab000000' + '060002003412' + '0000' + '060003008100' + '0000' + '08000400efbeadde',
    );
  });

  it('computes nested lengths, sets NLA_F_NESTED on request, and grows its buffer', () => {
    const b = new MessageBuilder(16, 0, 64);
    b.nest(18, () => {
      b.str(1, 'veth');
      b.nest(2, () => b.bytes(9, new Uint8Array(100)), true);
    });
    const msg = b.finish(1);
    expect(msg.length).toBe(16 + 4 + 12 + 4 + 104);
    const outer = attrList(msg, 16);
    expect(outer).toHaveLength(1);
    expect(msg.readUInt16LE(16)).toBe(4 + 12 + 4 + 104);
    const inner = parseNested(outer[0]![1]);
    expect(attrString(inner.get(1))).toBe('veth');
    const dataHdrType = msg.readUInt16LE(16 + 4 + 12 + 2);
    expect(dataHdrType).toBe(2 | NLA_F_NESTED);
    expect(parseNested(inner.get(2)!).get(9)?.length).toBe(100);
  });
});

describe('attribute decoding', () => {
  it('masks flag bits, keeps the last of repeated types, and stops at a malformed tail', () => {
    const b = new MessageBuilder(16, 0).u32(5, 1).u32(5, 2).nest(7, (x) => x.u8(1, 3), true).finish(0);
    const withGarbage = Buffer.concat([b, Buffer.from([0xff, 0x00, 0x01, 0x00])]);
    const attrs = parseAttrs(withGarbage, 16);
    expect(attrU32(attrs.get(5))).toBe(2);
    expect(attrList(withGarbage, 16).filter(([t]) => t === 5)).toHaveLength(2);
    expect(attrU8(parseNested(attrs.get(7)!).get(1))).toBe(3);
    expect([...attrs.keys()]).toEqual([5, 7]);
  });

  it('reads short or missing values as undefined', () => {
    expect(attrU32(Buffer.alloc(2))).toBeUndefined();
    expect(attrU16(undefined)).toBeUndefined();
    expect(attrString(Buffer.from('lo\0\0'))).toBe('lo');
  });
});

describe('splitMessages', () => {
  it('splits a multi-part dump datagram with padding and a DONE trailer', () => {
    const m1 = new MessageBuilder(16, NLM_F_MULTI).fixed(new Uint8Array(16)).str(3, 'a').finish(9);
    const m2 = new MessageBuilder(16, NLM_F_MULTI).fixed(new Uint8Array(16)).str(3, 'bridge0').finish(9);
    const done = new MessageBuilder(NLMSG_DONE, NLM_F_MULTI).fixed(new Uint8Array(4)).finish(9);
    const datagram = Buffer.concat([m1, m2, done, Buffer.alloc(8)]);
    const msgs = splitMessages(datagram, datagram.length - 8);
    expect(msgs.map((m) => m.type)).toEqual([16, 16, NLMSG_DONE]);
    expect(msgs.every((m) => m.seq === 9)).toBe(true);
    expect(attrString(parseAttrs(msgs[1]!.payload, 16).get(3))).toBe('bridge0');
    expect(msgs[2]!.payload.length).toBe(4);
  });

  it('ignores a truncated trailing message', () => {
    const m1 = new MessageBuilder(16, 0).u32(1, 1).finish(1);
    const datagram = Buffer.concat([m1, m1.subarray(0, 10)]);
    expect(splitMessages(datagram, datagram.length)).toHaveLength(1);
  });
});

describe('parseErrorReply', () => {
  const echoed = new MessageBuilder(16, 5).fixed(new Uint8Array(16)).str(3, 'veth0').finish(3);

  it('decodes a plain ACK and an error without TLVs', () => {
    const ack = Buffer.alloc(4 + 16);
    expect(parseErrorReply(ack, 0)).toEqual({ errno: 0 });
    const err = Buffer.alloc(4 + 16);
    err.writeInt32LE(-17, 0);
    expect(parseErrorReply(err, 0)).toEqual({ errno: 17 });
  });

  it('finds the extended-ACK message after a capped echo', () => {
    const tlv = new MessageBuilder(0, 0).str(1, 'Unknown device type').u32(2, 36).finish(0).subarray(16);
    const payload = Buffer.concat([Buffer.alloc(4), echoed.subarray(0, 16), tlv]);
    payload.writeInt32LE(-95, 0);
    expect(parseErrorReply(payload, NLM_F_CAPPED | NLM_F_ACK_TLVS)).toEqual({ errno: 95, extAck: 'Unknown device type' });
  });

  it('finds the extended-ACK message after a full echoed request', () => {
    const tlv = new MessageBuilder(0, 0).str(1, 'mtu greater than device maximum').finish(0).subarray(16);
    const payload = Buffer.concat([Buffer.alloc(4), echoed, tlv]);
    payload.writeInt32LE(-22, 0);
    expect(parseErrorReply(payload, NLM_F_ACK_TLVS)).toEqual({ errno: 22, extAck: 'mtu greater than device maximum' });
  });
});
