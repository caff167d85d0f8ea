// nft statements as expression lists, each exactly as nft 1.0.x compiles the text form (checked
// against `nft --debug=netlink`), so that `nft list` prints our rules as the text they stand for.
import { type IP, type IPNet, ipToBytes, prefixLength } from '../../ip/index.js';
import * as K from './constants.js';
import { bitwise, cmp, ct, dnat, fib, masq, meta, payload, verdict, immediateData, type NftExpr } from './expr.js';

const u8 = (v: number): Uint8Array => Uint8Array.of(v);
const be16 = (v: number): Uint8Array => Uint8Array.of((v >> 8) & 0xff, v & 0xff);
const le32 = (v: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
};

type Op = 'eq' | 'neq';
const cmpOp = (op: Op): number => (op === 'eq' ? K.NFT_CMP_EQ : K.NFT_CMP_NEQ);

/**
 * `ip|ip6 saddr|daddr [!=] <addr>[/<len>]`. In inet (and bridge) tables nft first checks the packet's
 * family (meta nfproto). A prefix on a byte boundary loads only its bytes; any other prefix loads
 * the whole address and masks it; a full-length prefix is a plain address match.
 */
export function matchAddress(table: K.NftFamily, field: 'saddr' | 'daddr', net: IPNet, op: Op = 'eq'): NftExpr[] {
  const v4 = net.ip.family === 4;
  const out: NftExpr[] = [];
  if (table === 'inet') out.push(meta(K.NFT_META_NFPROTO), cmp(K.NFT_CMP_EQ, u8(v4 ? K.AF_INET : K.AF_INET6)));
  const size = v4 ? 4 : 16;
  const offset = v4 ? (field === 'saddr' ? 12 : 16) : field === 'saddr' ? 8 : 24;
  const bits = prefixLength(net);
  const addr = ipToBytes(net.ip);
  if (bits === size * 8) {
    out.push(payload(K.NFT_PAYLOAD_NETWORK_HEADER, offset, size), cmp(cmpOp(op), addr));
  } else if (bits % 8 === 0 && bits > 0) {
    out.push(payload(K.NFT_PAYLOAD_NETWORK_HEADER, offset, bits / 8), cmp(cmpOp(op), addr.subarray(0, bits / 8)));
  } else {
    const mask = new Uint8Array(size);
    for (let i = 0; i < size; i++) mask[i] = (0xff00 >> Math.min(8, Math.max(0, bits - i * 8))) & 0xff;
    const network = addr.map((x, i) => x & mask[i]!);
    out.push(payload(K.NFT_PAYLOAD_NETWORK_HEADER, offset, size), bitwise(mask, new Uint8Array(size)), cmp(cmpOp(op), network));
  }
  return out;
}

/** `iifname|oifname [!=] "<name>"`: nft compares the whole IFNAMSIZ buffer, NUL padded. */
export function matchIfName(key: 'iifname' | 'oifname', name: string, op: Op = 'eq'): NftExpr[] {
  const buf = new Uint8Array(K.IFNAMSIZ);
  buf.set(Buffer.from(name, 'utf8').subarray(0, K.IFNAMSIZ - 1));
  return [meta(key === 'iifname' ? K.NFT_META_IIFNAME : K.NFT_META_OIFNAME), cmp(cmpOp(op), buf)];
}

export const L4PROTO = { tcp: 6, udp: 17, sctp: 132 } as const;

/** `tcp|udp|sctp dport <port>`: the protocol check, then the port (offset 2 in all three headers). */
export function matchDport(proto: keyof typeof L4PROTO, port: number): NftExpr[] {
  return [
    meta(K.NFT_META_L4PROTO),
    cmp(K.NFT_CMP_EQ, u8(L4PROTO[proto])),
    payload(K.NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2),
    cmp(K.NFT_CMP_EQ, be16(port)),
  ];
}

/** `ct state a,b`: any of the bits set. */
export function matchCtState(states: readonly (keyof typeof K.CT_STATE)[]): NftExpr[] {
  const bits = states.reduce((m, s) => m | K.CT_STATE[s], 0);
  return [ct(K.NFT_CT_STATE), bitwise(le32(bits), le32(0)), cmp(K.NFT_CMP_NEQ, le32(0))];
}

/** `ether saddr <mac>` (bridge family: the link-layer header). */
export function matchEtherSaddr(mac: string): NftExpr[] {
  const bytes = Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
  return [payload(K.NFT_PAYLOAD_LL_HEADER, 6, 6), cmp(K.NFT_CMP_EQ, bytes)];
}

/** `fib daddr type local`. */
export const matchFibDaddrLocal = (): NftExpr[] => [fib(K.NFT_FIB_RESULT_ADDRTYPE, K.NFTA_FIB_F_DADDR), cmp(K.NFT_CMP_EQ, le32(K.RTN_LOCAL))];

export const accept = (): NftExpr => verdict(K.NF_ACCEPT);
export const drop = (): NftExpr => verdict(K.NF_DROP);
export const ret = (): NftExpr => verdict(K.NFT_RETURN);
export const jump = (chain: string): NftExpr => verdict(K.NFT_JUMP, chain);
export const goTo = (chain: string): NftExpr => verdict(K.NFT_GOTO, chain);
/** `masquerade [fully-random]`. */
export const masquerade = (opts: { fullyRandom?: boolean } = {}): NftExpr => masq(opts.fullyRandom ? K.NF_NAT_RANGE_PROTO_RANDOM_FULLY : 0);

/** `meta mark & <mask> [!=|==] <value>` (the mark is a host-order u32). */
export function matchMetaMark(value: number, mask: number, op: Op = 'eq'): NftExpr[] {
  return [meta(K.NFT_META_MARK), bitwise(le32(mask), le32(0), K.NFT_REG_1, true), cmp(cmpOp(op), le32(value))];
}

/** `dnat to <ip>:<port>` (`[ip6]:port` for IPv6), in an ip or ip6 table. */
export function dnatTo(ip: IP, port: number): NftExpr[] {
  return [
    immediateData(ipToBytes(ip), K.NFT_REG_1),
    immediateData(be16(port), K.NFT_REG_2),
    dnat(ip.family === 4 ? K.AF_INET : K.AF_INET6, K.NFT_REG_1, K.NFT_REG_2),
  ];
}

