// The statements the overlay's -ip-masq rules added to shared/netfilter/nftables, byte for byte as
// nft 1.0.6 sends them (NFTA_RULE_EXPRESSIONS of `nft -f`, captured with
// `strace -f -e trace=sendmsg -e write=3 -xx`): `meta mark & 0x4000 == 0x4000` (a bitwise that names
// its operation, unlike a prefix's mask) and `masquerade fully-random` (NFTA_MASQ_FLAGS).
import { describe, expect, it } from 'vitest';
import { mustParsePrefix } from '../../../shared/ip/index.js';
import { MessageBuilder } from '../../../shared/netlink/message.js';
import { masquerade, matchAddress, matchMetaMark, type NftExpr, ret } from '../../../shared/netfilter/nftables/index.js';
import { writeExpressions } from '../../../shared/netfilter/nftables/expr.js';

function exprHex(exprs: NftExpr[]): string {
  const b = new MessageBuilder(0, 0);
  writeExpressions(b, exprs);
  return b.finish(0).subarray(16 + 4).toString('hex'); // after nlmsghdr and the attribute header
}

const NFT = {
  // ip: meta mark & 0x4000 == 0x4000 return
  markReturn: '24000180090001006d6574610000000014000280080002000000000308000100000000014c0001800c00010062697477697365003c00028008000100000000010800020000000001080006000000000008000300000000040c00048008000100004000000c00058008000100000000002c00018008000100636d700020000280080001000000000108000200000000000c0003800800010000400000300001800e000100696d6d6564696174650000001c0002800800010000000000100002800c00028008000100fffffffb',
  // ip: ip saddr 10.158.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
  masqFullyRandom: '340001800c0001007061796c6f6164002400028008000100000000010800020000000001080003000000000c08000400000000022c00018008000100636d700020000280080001000000000108000200000000000c000380060001000a9e0000340001800c0001007061796c6f616400240002800800010000000001080002000000000108000300000000100800040000000004440001800c0001006269747769736500340002800800010000000001080002000000000108000300000000040c00048008000100f00000000c00058008000100000000002c00018008000100636d700020000280080001000000000108000200000000010c00038008000100e00000001c000180090001006d617371000000000c0002800800010000000010',
};

describe('nf_tables: meta mark and masquerade fully-random (byte for byte nft 1.0.6)', () => {
  it('meta mark & 0x4000 == 0x4000 return', () => {
    expect(exprHex([...matchMetaMark(0x4000, 0x4000), ret()])).toBe(NFT.markReturn);
  });
  it('ip saddr 10.158.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random', () => {
    const exprs = [...matchAddress('ip', 'saddr', mustParsePrefix('10.158.0.0/16')), ...matchAddress('ip', 'daddr', mustParsePrefix('224.0.0.0/4'), 'neq'), masquerade({ fullyRandom: true })];
    expect(exprHex(exprs)).toBe(NFT.masqFullyRandom);
  });
  it('plain masquerade still sends no flags; != on a mark is a NEQ compare', () => {
    expect(exprHex([masquerade()])).toBe('14000180090001006d6173710000000004000280');
    // "cmp", then NFTA_CMP_SREG 1, NFTA_CMP_OP 1 (NFT_CMP_NEQ), NFTA_CMP_DATA 0x00000001 (host order).
    expect(exprHex(matchMetaMark(0x1, 0xff, 'neq'))).toContain('636d700020000280080001000000000108000200000000010c0003800800010001000000');
  });
});
