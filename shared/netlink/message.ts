// The netlink wire format: nlmsghdr framing and rtattr (TLV) encoding/decoding, nesting included.
// Everything is little-endian host order (x86_64/aarch64) except attributes the kernel defines as
// network order (written with the be16 helper).
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN } from './constants.js';

/** Rounds up to the 4-byte alignment both messages and attributes use. */
export const align4 = (n: number): number => (n + 3) & ~3;

/** Builds one request: header, a fixed family struct, then attributes (nested ones via nest()). */
export class MessageBuilder {
  private buf: Buffer;
  private len = NLMSG_HDRLEN;

  constructor(type: number, flags: number, sizeHint = 128) {
    this.buf = Buffer.alloc(Math.max(sizeHint, 64));
    this.buf.writeUInt16LE(type, 4);
    this.buf.writeUInt16LE(flags, 6);
  }

  /** Adds header flags after construction (e.g. NLM_F_ACK on the last message of a batch). */
  addFlags(flags: number): this {
    this.buf.writeUInt16LE(this.buf.readUInt16LE(6) | flags, 6);
    return this;
  }

  /** Bytes written so far (header included). */
  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const at = this.len;
    const need = at + align4(n);
    if (need > this.buf.length) {
      const grown = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    this.len = need;
    return at;
  }

  /** Appends the fixed family header (ifinfomsg, ifaddrmsg, rtmsg, ndmsg ...). */
  fixed(struct: Uint8Array): this {
    const at = this.reserve(struct.length);
    this.buf.set(struct, at);
    return this;
  }

  /** Reserves an attribute and returns its payload offset. May replace this.buf: read this.buf after calling. */
  private attrHeader(type: number, payloadLen: number): number {
    const at = this.reserve(NLA_HDRLEN + payloadLen);
    this.buf.writeUInt16LE(NLA_HDRLEN + payloadLen, at);
    this.buf.writeUInt16LE(type, at + 2);
    return at + NLA_HDRLEN;
  }

  u8(type: number, value: number): this {
    const at = this.attrHeader(type, 1);
    this.buf.writeUInt8(value, at);
    return this;
  }

  u16(type: number, value: number): this {
    const at = this.attrHeader(type, 2);
    this.buf.writeUInt16LE(value, at);
    return this;
  }

  /** A 16-bit attribute in network byte order (e.g. IFLA_VLAN_PROTOCOL). */
  be16(type: number, value: number): this {
    const at = this.attrHeader(type, 2);
    this.buf.writeUInt16BE(value, at);
    return this;
  }

  u32(type: number, value: number): this {
    const at = this.attrHeader(type, 4);
    this.buf.writeUInt32LE(value >>> 0, at);
    return this;
  }

  s32(type: number, value: number): this {
    const at = this.attrHeader(type, 4);
    this.buf.writeInt32LE(value, at);
    return this;
  }

  /** A NUL-terminated string, as the kernel expects for names, kinds and aliases. */
  str(type: number, value: string): this {
    const n = Buffer.byteLength(value);
    const at = this.attrHeader(type, n + 1);
    this.buf.write(value, at);
    this.buf[at + n] = 0;
    return this;
  }

  /** A string without the terminating NUL (IFLA_IFALIAS is stored verbatim). */
  rawStr(type: number, value: string): this {
    const n = Buffer.byteLength(value);
    const at = this.attrHeader(type, n);
    this.buf.write(value, at);
    return this;
  }

  bytes(type: number, value: Uint8Array): this {
    const at = this.attrHeader(type, value.length);
    this.buf.set(value, at);
    return this;
  }

  /** Opens a nested attribute; close it with nestEnd(returned offset). */
  nestStart(type: number, nestedFlag = false): number {
    return this.attrHeader(nestedFlag ? type | NLA_F_NESTED : type, 0) - NLA_HDRLEN;
  }

  nestEnd(start: number): this {
    this.buf.writeUInt16LE(this.len - start, start);
    return this;
  }

  /** Writes a nested attribute whose children `fill` appends. */
  nest(type: number, fill: (b: this) => void, nestedFlag = false): this {
    const start = this.nestStart(type, nestedFlag);
    fill(this);
    return this.nestEnd(start);
  }

  /** Finalizes length and sequence number; returns a view of the finished message. */
  finish(seq: number, portId = 0): Buffer {
    this.buf.writeUInt32LE(this.len, 0);
    this.buf.writeUInt32LE(seq >>> 0, 8);
    this.buf.writeUInt32LE(portId >>> 0, 12);
    return this.buf.subarray(0, this.len);
  }
}

/** Attributes by type (flags masked off). Values are views into the receive buffer: read them, do not keep them. */
export type Attrs = Map<number, Buffer>;

/** Decodes a run of attributes; on a repeated type the last one wins (use attrList for lists). */
export function parseAttrs(buf: Buffer, start = 0, end = buf.length): Attrs {
  const out: Attrs = new Map();
  for (const [type, value] of attrList(buf, start, end)) out.set(type, value);
  return out;
}

/** Decodes a run of attributes in order, repeated types kept (multipath next hops, alt names). */
export function attrList(buf: Buffer, start = 0, end = buf.length): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let at = start;
  while (at + NLA_HDRLEN <= end) {
    const len = buf.readUInt16LE(at);
    if (len < NLA_HDRLEN || at + len > end) break; // malformed tail: stop rather than read garbage
    out.push([buf.readUInt16LE(at + 2) & NLA_TYPE_MASK, buf.subarray(at + NLA_HDRLEN, at + len)]);
    at += align4(len);
  }
  return out;
}

/** Decodes the attributes nested inside one attribute value. */
export const parseNested = (value: Buffer): Attrs => parseAttrs(value, 0, value.length);

export const attrU8 = (v: Buffer | undefined): number | undefined => (v && v.length >= 1 ? v.readUInt8(0) : undefined);
export const attrU16 = (v: Buffer | undefined): number | undefined => (v && v.length >= 2 ? v.readUInt16LE(0) : undefined);
export const attrU32 = (v: Buffer | undefined): number | undefined => (v && v.length >= 4 ? v.readUInt32LE(0) : undefined);
export const attrS32 = (v: Buffer | undefined): number | undefined => (v && v.length >= 4 ? v.readInt32LE(0) : undefined);

/** A string attribute without its trailing NUL(s). */
export function attrString(v: Buffer | undefined): string | undefined {
  if (!v) return undefined;
  let end = v.length;
  while (end > 0 && v[end - 1] === 0) end--;
  return v.toString('utf8', 0, end);
}

/** One received message; `payload` is a view into the shared receive buffer, valid only until the next receive. */
export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  payload: Buffer;
}

/** Splits a datagram into messages (a dump reply packs many into one datagram). */
export function splitMessages(buf: Buffer, len: number): NlMsg[] {
  const out: NlMsg[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= len) {
    const msgLen = buf.readUInt32LE(at);
    if (msgLen < NLMSG_HDRLEN || at + msgLen > len) break;
    out.push({
      type: buf.readUInt16LE(at + 4),
      flags: buf.readUInt16LE(at + 6),
      seq: buf.readUInt32LE(at + 8),
      portId: buf.readUInt32LE(at + 12),
      payload: buf.subarray(at + NLMSG_HDRLEN, at + msgLen),
    });
    at += align4(msgLen);
  }
  return out;
}
