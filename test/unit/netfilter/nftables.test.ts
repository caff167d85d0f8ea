// nf_tables messages: expressions byte for byte as nft 1.0.6 sends them (captured with
// `strace -e trace=sendmsg -xx nft -f ...`), batch framing and flags, comment userdata, and the
// decoding of what a GETRULE / GETCHAIN dump returns.
import { describe, expect, it } from 'vitest';
import { mustParseIP, mustParsePrefix, hostNetOf } from '../../../shared/ip/index.js';
import { MessageBuilder, type NlMsg, splitMessages } from '../../../shared/netlink/message.js';
import {
  accept, commentUserdata, dnatTo, jump, masquerade, matchAddress, matchCtState, matchDport, matchEtherSaddr, matchFibDaddrLocal,
  matchIfName, NftBatch, type NftExpr, parseCommentUserdata, ret,
} from '../../../shared/netfilter/nftables/index.js';
import { writeExpressions } from '../../../shared/netfilter/nftables/expr.js';
import { parseChain, parseRule } from '../../../shared/netfilter/nftables/list.js';

/** The NFTA_RULE_EXPRESSIONS payload of `exprs`, as hex. */
function exprHex(exprs: NftExpr[]): string {
  const b = new MessageBuilder(0, 0);
  writeExpressions(b, exprs);
  return b.finish(0).subarray(16 + 4).toString('hex'); // after nlmsghdr and the attribute header
}
const host = (s: string) => hostNetOf(mustParseIP(s));

// What nft 1.0.6 sent for each rule (NFTA_RULE_EXPRESSIONS payloads).
const NFT = {
  // inet: ip daddr 10.1.1.1 ct state established,related accept
  ctAccept:
    '24000180090001006d6574610000000014000280080002000000000f08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c0003800500010002000000340001800c0001007061796c6f6164002400028008000100000000010800020000000001080003000000001008000400000000042c00018008000100636d700020000280080001000000000108000200000000000c000380080001000a0101012000018007000100637400001400028008000200000000000800010000000001440001800c0001006269747769736500340002800800010000000001080002000000000108000300000000040c00048008000100060000000c00058008000100000000002c00018008000100636d700020000280080001000000000108000200000000010c0003800800010000000000300001800e000100696d6d6564696174650000001c0002800800010000000000100002800c0002800800010000000001',
  // ip: fib daddr type local jump hostports
  fibJump:
    '2800018008000100666962001c0002800800030000000002080002000000000308000100000000012c00018008000100636d700020000280080001000000000108000200000000000c0003800800010002000000400001800e000100696d6d6564696174650000002c0002800800010000000000200002801c00028008000100fffffffd0e000200686f7374706f727473000000',
  // ip: ip daddr 192.168.0.2 udp dport 8083 dnat to 10.0.0.2:83
  dnat:
    '340001800c0001007061796c6f6164002400028008000100000000010800020000000001080003000000001008000400000000042c00018008000100636d700020000280080001000000000108000200000000000c00038008000100c0a8000224000180090001006d6574610000000014000280080002000000001008000100000000012c00018008000100636d700020000280080001000000000108000200000000000c0003800500010011000000340001800c0001007061796c6f6164002400028008000100000000010800020000000002080003000000000208000400000000022c00018008000100636d700020000280080001000000000108000200000000000c000380060001001f9300002c0001800e000100696d6d6564696174650000001800028008000100000000010c000280080001000a0000022c0001800e000100696d6d6564696174650000001800028008000100000000020c000280060001000053000038000180080001006e6174002c00028008000100000000010800020000000002080003000000000108000500000000020800070000000002',
  // ip: ip saddr 0.0.0.0/0 ip daddr != 10.151.0.0/20 masquerade
  masq:
    '340001800c0001007061796c6f6164002400028008000100000000010800020000000001080003000000000c0800040000000004440001800c0001006269747769736500340002800800010000000001080002000000000108000300000000040c00048008000100000000000c00058008000100000000002c00018008000100636d700020000280080001000000000108000200000000000c0003800800010000000000340001800c0001007061796c6f616400240002800800010000000001080002000000000108000300000000100800040000000004440001800c0001006269747769736500340002800800010000000001080002000000000108000300000000040c00048008000100fffff0000c00058008000100000000002c00018008000100636d700020000280080001000000000108000200000000010c000380080001000a97000014000180090001006d6173710000000004000280',
  // bridge: iifname "veth1" ether saddr 02:11:22:33:44:55 return
  ifMac:
    '24000180090001006d6574610000000014000280080002000000000608000100000000013800018008000100636d70002c00028008000100000000010800020000000000180003801400010076657468310000000000000000000000340001800c0001007061796c6f6164002400028008000100000000010800020000000000080003000000000608000400000000063000018008000100636d70002400028008000100000000010800020000000000100003800a0001000211223344550000300001800e000100696d6d6564696174650000001c0002800800010000000000100002800c00028008000100fffffffb',
};

describe('nf_tables expressions (byte for byte nft 1.0.6)', () => {
  it('inet address match (meta nfproto first) + ct state + accept', () => {
    expect(exprHex([...matchAddress('inet', 'daddr', host('10.1.1.1')), ...matchCtState(['established', 'related']), accept()])).toBe(NFT.ctAccept);
  });
  it('fib daddr type local + jump', () => {
    expect(exprHex([...matchFibDaddrLocal(), jump('hostports')])).toBe(NFT.fibJump);
  });
  it('ip daddr + udp dport + dnat to ip:port', () => {
    expect(exprHex([...matchAddress('ip', 'daddr', host('192.168.0.2')), ...matchDport('udp', 8083), ...dnatTo(mustParseIP('10.0.0.2'), 83)])).toBe(NFT.dnat);
  });
  it('prefixes off byte boundaries (/0, /20) are masked loads; masquerade', () => {
    expect(exprHex([...matchAddress('ip', 'saddr', mustParsePrefix('0.0.0.0/0')), ...matchAddress('ip', 'daddr', mustParsePrefix('10.151.0.0/20'), 'neq'), masquerade()])).toBe(NFT.masq);
  });
  it('iifname (IFNAMSIZ, NUL padded) + ether saddr + return', () => {
    expect(exprHex([...matchIfName('iifname', 'veth1'), ...matchEtherSaddr('02:11:22:33:44:55'), ret()])).toBe(NFT.ifMac);
  });
  it('a prefix on a byte boundary loads only its bytes; a full-length one is a plain match', () => {
    const names = (e: NftExpr[]) => e.map((x) => x.name);
    expect(names(matchAddress('inet', 'daddr', mustParsePrefix('fd51::/64')))).toEqual(['meta', 'cmp', 'payload', 'cmp']);
    expect(exprHex(matchAddress('ip6', 'daddr', mustParsePrefix('fd51::/64')))).toContain('0800040000000008'); // len 8
    expect(names(matchAddress('ip6', 'daddr', mustParsePrefix('fd51::/60')))).toEqual(['payload', 'bitwise', 'cmp']);
    expect(names(matchAddress('ip', 'daddr', host('10.0.0.1')))).toEqual(['payload', 'cmp']);
  });
});

/** The messages of a batch as the kernel would split them (seq numbers as the socket assigns them). */
function framed(b: NftBatch): NlMsg[] {
  const bufs = b.messages().map((m, i) => Buffer.from(m.finish(i)));
  const all = Buffer.concat(bufs);
  return splitMessages(all, all.length);
}

describe('nf_tables batches', () => {
  it('BEGIN and END frame the changes (res_id NFNL_SUBSYS_NFTABLES) with nft\'s flags; only the last change asks for an ACK', () => {
    const b = new NftBatch()
      .addTable('inet', 't', 'table comment')
      .addChain('inet', 't', 'c', { base: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' }, exclusive: true })
      .addRule('inet', 't', 'c', [accept()], { comment: 'x' })
      .addRule('inet', 't', 'c', [accept()], { insert: true })
      .deleteRule('inet', 't', 'c', 7)
      .deleteChain('inet', 't', 'd')
      .deleteTable('inet', 'u')
      .flushChain('inet', 't', 'c');
    const msgs = framed(b);
    // delete rule carries the handle as a big-endian u64 (NFTA_RULE_HANDLE)
    expect(msgs[5]!.payload.toString('hex')).toContain('0c000300' + '0000000000000007');
    expect(msgs.map((m) => m.type.toString(16))).toEqual(['10', 'a00', 'a03', 'a06', 'a06', 'a08', 'a05', 'a02', 'a08', '11']);
    expect(msgs[0]!.payload.subarray(0, 4).toString('hex')).toBe('0000000a');
    expect(msgs[1]!.payload[0]).toBe(1); // NFPROTO_INET
    const ACK = 0x4, CREATE = 0x400, EXCL = 0x200, APPEND = 0x800;
    expect(msgs.slice(1, -1).map((m) => m.flags)).toEqual([CREATE, CREATE | EXCL, CREATE | APPEND, CREATE, 0, 0, 0, ACK]);
    expect(b.operations).toEqual([
      'add table inet t', 'create chain inet t c', 'add rule inet t c (comment "x")', 'insert rule inet t c', 'delete rule inet t c handle 7', 'delete chain inet t d', 'delete table inet u',
      'flush chain inet t c',
    ]);
  });

  it('comments are libnftnl userdata: type 0, length with the NUL, the text, NUL', () => {
    expect(commentUserdata('abc').toString('hex')).toBe('0004616263' + '00');
    expect(parseCommentUserdata(commentUserdata('net: x, if: eth0'))).toBe('net: x, if: eth0');
    expect(parseCommentUserdata(Buffer.from('0104616263000003787900', 'hex'))).toBe('xy');
    expect(parseCommentUserdata(undefined)).toBeUndefined();
    expect(() => commentUserdata('x'.repeat(300))).toThrow(RangeError);
  });

  it('a dumped rule decodes to chain, handle, comment and its constant values; a chain to its names', () => {
    const rule = new MessageBuilder(0x0a06, 0x2).fixed(Uint8Array.of(2, 0, 0, 0)).str(1, 'cni_hostport').str(2, 'hostports');
    rule.bytes(3, Buffer.from('000000000000002a', 'hex'));
    writeExpressions(rule, [...matchDport('tcp', 8080), ...dnatTo(mustParseIP('10.0.0.2'), 80)]);
    rule.bytes(7, commentUserdata('cid'));
    const raw = Buffer.from(rule.finish(1));
    const [m] = splitMessages(raw, raw.length);
    const r = parseRule(m!)!;
    expect(r).toMatchObject({ family: 'ip', table: 'cni_hostport', chain: 'hostports', handle: 42, comment: 'cid' });
    expect(r.values.map((v) => v.toString('hex'))).toEqual(['06', '1f90', '0a000002', '0050']);
    const chain = new MessageBuilder(0x0a03, 0x2).fixed(Uint8Array.of(7, 0, 0, 0)).str(1, 'nat').str(3, 'PREROUTING');
    const rawChain = Buffer.from(chain.finish(1));
    expect(parseChain(splitMessages(rawChain, rawChain.length)[0]!)).toEqual({ family: 'bridge', table: 'nat', name: 'PREROUTING' });
    // Other messages (a table, an unknown family) are not rules.
    const table = Buffer.from(new MessageBuilder(0x0a00, 0).fixed(Uint8Array.of(2, 0, 0, 0)).str(1, 't').finish(1));
    expect(parseRule(splitMessages(table, table.length)[0]!)).toBeUndefined();
  });
});
