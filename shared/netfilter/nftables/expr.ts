// nf_tables expressions, encoded as nft (libnftnl) encodes them: each is one NFTA_LIST_ELEM holding
// NFTA_EXPR_NAME and NFTA_EXPR_DATA. Only the expressions our rules use.
import type { MessageBuilder } from '../../netlink/message.js';
import * as K from './constants.js';

export interface NftExpr {
  readonly name: string;
  readonly fill: (b: MessageBuilder) => void;
}

function be32(b: MessageBuilder, type: number, value: number): void {
  const v = Buffer.alloc(4);
  v.writeInt32BE(value | 0, 0);
  b.bytes(type, v);
}

/** A data attribute (NFTA_CMP_DATA, NFTA_BITWISE_MASK ...): nested NFTA_DATA_VALUE. */
function data(b: MessageBuilder, type: number, value: Uint8Array): void {
  b.nest(type, () => b.bytes(K.NFTA_DATA_VALUE, value), true);
}

export const meta = (key: number, dreg = K.NFT_REG_1): NftExpr => ({
  name: 'meta',
  fill: (b) => {
    be32(b, K.NFTA_META_KEY, key);
    be32(b, K.NFTA_META_DREG, dreg);
  },
});

export const cmp = (op: number, value: Uint8Array, sreg = K.NFT_REG_1): NftExpr => ({
  name: 'cmp',
  fill: (b) => {
    be32(b, K.NFTA_CMP_SREG, sreg);
    be32(b, K.NFTA_CMP_OP, op);
    data(b, K.NFTA_CMP_DATA, value);
  },
});

export const payload = (base: number, offset: number, len: number, dreg = K.NFT_REG_1): NftExpr => ({
  name: 'payload',
  fill: (b) => {
    be32(b, K.NFTA_PAYLOAD_DREG, dreg);
    be32(b, K.NFTA_PAYLOAD_BASE, base);
    be32(b, K.NFTA_PAYLOAD_OFFSET, offset);
    be32(b, K.NFTA_PAYLOAD_LEN, len);
  },
});

/**
 * reg = (reg & mask) ^ xor over mask.length bytes. `withOp`: also name the operation (boolean), as
 * nft does for a `&` the text spells out (`meta mark & 0x4000`) but not for a prefix's mask.
 */
export const bitwise = (mask: Uint8Array, xor: Uint8Array, reg = K.NFT_REG_1, withOp = false): NftExpr => ({
  name: 'bitwise',
  fill: (b) => {
    be32(b, K.NFTA_BITWISE_SREG, reg);
    be32(b, K.NFTA_BITWISE_DREG, reg);
    if (withOp) be32(b, K.NFTA_BITWISE_OP, K.NFT_BITWISE_BOOL);
    be32(b, K.NFTA_BITWISE_LEN, mask.length);
    data(b, K.NFTA_BITWISE_MASK, mask);
    data(b, K.NFTA_BITWISE_XOR, xor);
  },
});

export const immediateData = (value: Uint8Array, dreg: number): NftExpr => ({
  name: 'immediate',
  fill: (b) => {
    be32(b, K.NFTA_IMMEDIATE_DREG, dreg);
    data(b, K.NFTA_IMMEDIATE_DATA, value);
  },
});

/** A verdict (accept, drop, return) or, with `chain`, a jump/goto. */
export const verdict = (code: number, chain?: string): NftExpr => ({
  name: 'immediate',
  fill: (b) => {
    be32(b, K.NFTA_IMMEDIATE_DREG, K.NFT_REG_VERDICT);
    b.nest(
      K.NFTA_IMMEDIATE_DATA,
      () =>
        b.nest(
          K.NFTA_DATA_VERDICT,
          () => {
            be32(b, K.NFTA_VERDICT_CODE, code);
            if (chain !== undefined) b.str(K.NFTA_VERDICT_CHAIN, chain);
          },
          true,
        ),
      true,
    );
  },
});

export const ct = (key: number, dreg = K.NFT_REG_1): NftExpr => ({
  name: 'ct',
  fill: (b) => {
    be32(b, K.NFTA_CT_KEY, key);
    be32(b, K.NFTA_CT_DREG, dreg);
  },
});

export const fib = (result: number, flags: number, dreg = K.NFT_REG_1): NftExpr => ({
  name: 'fib',
  fill: (b) => {
    // nft's attribute order, so our messages are byte for byte the ones nft sends.
    be32(b, K.NFTA_FIB_FLAGS, flags);
    be32(b, K.NFTA_FIB_RESULT, result);
    be32(b, K.NFTA_FIB_DREG, dreg);
  },
});

/** Masquerade; `flags` (NF_NAT_RANGE_*) are sent only when non-zero, as nft does. */
export const masq = (flags = 0): NftExpr => ({
  name: 'masq',
  fill: (b) => {
    if (flags !== 0) be32(b, K.NFTA_MASQ_FLAGS, flags);
  },
});

/** DNAT to the address in `addrReg` and the port in `portReg` (nft's `dnat to <ip>:<port>`). */
export const dnat = (af: number, addrReg: number, portReg: number): NftExpr => ({
  name: 'nat',
  fill: (b) => {
    be32(b, K.NFTA_NAT_TYPE, K.NFT_NAT_DNAT);
    be32(b, K.NFTA_NAT_FAMILY, af);
    be32(b, K.NFTA_NAT_REG_ADDR_MIN, addrReg);
    be32(b, K.NFTA_NAT_REG_PROTO_MIN, portReg);
    be32(b, K.NFTA_NAT_FLAGS, K.NF_NAT_RANGE_PROTO_SPECIFIED);
  },
});

/** Appends NFTA_RULE_EXPRESSIONS. */
export function writeExpressions(b: MessageBuilder, exprs: readonly NftExpr[]): void {
  b.nest(
    K.NFTA_RULE_EXPRESSIONS,
    () => {
      for (const e of exprs) {
        b.nest(
          K.NFTA_LIST_ELEM,
          () => {
            b.str(K.NFTA_EXPR_NAME, e.name);
            b.nest(K.NFTA_EXPR_DATA, () => e.fill(b), true);
          },
          true,
        );
      }
    },
    true,
  );
}
