// libnftnl's userdata: a run of TLVs {u8 type, u8 len, value}. nft keeps a table's, chain's or rule's
// comment there as type 0 with its terminating NUL, and `nft list` prints it as `comment "..."`.
import { NFTNL_UDATA_COMMENT } from './constants.js';

/** The userdata blob of a comment (at most 254 bytes of text fit one TLV; ours are cut to 128). */
export function commentUserdata(comment: string): Buffer {
  const text = Buffer.from(comment, 'utf8');
  if (text.length + 1 > 255) throw new RangeError(`nftables comment of ${text.length} bytes is too long`);
  const out = Buffer.alloc(2 + text.length + 1);
  out[0] = NFTNL_UDATA_COMMENT;
  out[1] = text.length + 1;
  text.copy(out, 2);
  return out;
}

/** The comment in a userdata blob, or undefined. */
export function parseCommentUserdata(udata: Buffer | undefined): string | undefined {
  if (!udata) return undefined;
  for (let at = 0; at + 2 <= udata.length; ) {
    const type = udata[at]!;
    const len = udata[at + 1]!;
    if (at + 2 + len > udata.length) return undefined;
    if (type === NFTNL_UDATA_COMMENT) {
      let end = at + 2 + len;
      while (end > at + 2 && udata[end - 1] === 0) end--;
      return udata.toString('utf8', at + 2, end);
    }
    at += 2 + len;
  }
  return undefined;
}
