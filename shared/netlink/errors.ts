// Kernel refusals as typed errors: errno number + name, the operation that failed, and the
// kernel's extended-ACK text when it gave one ("link add veth0: EEXIST (File exists)").
import { errnoName, errnoText, SysError } from '../sys/libc.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_HDRLEN, NLMSGERR_ATTR_MSG } from './constants.js';
import { align4, attrString, parseAttrs } from './message.js';

export class NetlinkError extends SysError {
  /** What we asked for, e.g. "link add veth0". */
  readonly op: string;
  /** The kernel's extended-ACK message, when it sent one. */
  readonly extAck: string | undefined;

  constructor(op: string, errnum: number, extAck?: string) {
    super(op, errnum);
    this.name = 'NetlinkError';
    this.op = op;
    this.extAck = extAck || undefined;
    this.message = `${op}: ${errnoName(errnum)} (${errnoText(errnum)})${this.extAck ? `: ${this.extAck}` : ''}`;
  }
}

/** True when `err` is a netlink/OS error with that errno name ("ENOENT", "EEXIST" ...). */
export function isErrno(err: unknown, code: string): boolean {
  return err instanceof SysError && err.code === code;
}

/** The decoded body of an NLMSG_ERROR message (error 0 is a plain ACK). */
export interface ErrorReply {
  /** Positive errno, 0 for success. */
  errno: number;
  extAck?: string;
}

/**
 * Decodes an NLMSG_ERROR payload: s32 -errno, the echoed request header (only the header when the
 * reply is capped, else the whole request), then extended-ACK TLVs when NLM_F_ACK_TLVS is set.
 */
export function parseErrorReply(payload: Buffer, flags: number): ErrorReply {
  const errnum = payload.length >= 4 ? -payload.readInt32LE(0) | 0 : 0; // | 0 turns -0 into 0
  if (!(flags & NLM_F_ACK_TLVS) || payload.length < 4 + NLMSG_HDRLEN) return { errno: errnum };
  const echoedLen = flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(payload.readUInt32LE(4));
  const tlvStart = 4 + echoedLen;
  if (tlvStart >= payload.length) return { errno: errnum };
  const msg = attrString(parseAttrs(payload, tlvStart).get(NLMSGERR_ATTR_MSG));
  return msg ? { errno: errnum, extAck: msg } : { errno: errnum };
}
