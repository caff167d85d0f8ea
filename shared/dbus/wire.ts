// The D-Bus wire format, only as much as a client calling methods with string arguments (and a
// test service answering them) needs: message headers, and the basic types s, o, g, u, i, b, y
// plus the variants inside the header. Pure functions over Buffers; no I/O here.
//
// A message is a 12-byte fixed header (endianness, type, flags, version, body length, serial), an
// array of (code, variant) header fields, padding to 8, then the body. Every value is aligned to
// its own size, counted from the start of the message.

export const MessageType = { MethodCall: 1, MethodReturn: 2, Error: 3, Signal: 4 } as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

/** Header field codes (D-Bus specification, "Header Fields"). */
const Field = { Path: 1, Interface: 2, Member: 3, ErrorName: 4, ReplySerial: 5, Destination: 6, Sender: 7, Signature: 8 } as const;

/** Flag: the caller does not want a reply. */
export const NO_REPLY_EXPECTED = 0x1;

/** A body value: strings (s, o, g), numbers (u, i, y) and booleans (b). */
export type DBusValue = string | number | boolean;

export interface Message {
  type: MessageTypeValue;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  /** Body signature, e.g. "ss"; '' for no body. */
  signature: string;
  body: DBusValue[];
}

/** A message shorter than its own header says: wait for more bytes. */
export class IncompleteMessage extends Error {}

const MAX_MESSAGE = 128 * 1024 * 1024;

class Writer {
  private chunks: number[] = [];
  get length(): number {
    return this.chunks.length;
  }
  pad(n: number): void {
    while (this.chunks.length % n !== 0) this.chunks.push(0);
  }
  byte(v: number): void {
    this.chunks.push(v & 0xff);
  }
  uint32(v: number): void {
    this.pad(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.chunks.push(...b);
  }
  int32(v: number): void {
    this.pad(4);
    const b = Buffer.alloc(4);
    b.writeInt32LE(v | 0);
    this.chunks.push(...b);
  }
  string(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    this.uint32(bytes.length);
    this.chunks.push(...bytes, 0);
  }
  signature(v: string): void {
    const bytes = Buffer.from(v, 'ascii');
    this.byte(bytes.length);
    this.chunks.push(...bytes, 0);
  }
  value(type: string, v: DBusValue): void {
    switch (type) {
      case 's':
      case 'o':
        this.string(String(v));
        return;
      case 'g':
        this.signature(String(v));
        return;
      case 'u':
        this.uint32(Number(v));
        return;
      case 'i':
        this.int32(Number(v));
        return;
      case 'b':
        this.uint32(v ? 1 : 0);
        return;
      case 'y':
        this.byte(Number(v));
        return;
      default:
        throw new TypeError(`D-Bus type ${JSON.stringify(type)} is not supported`);
    }
  }
  bytes(): Buffer {
    return Buffer.from(this.chunks);
  }
}

function checkSignature(signature: string): void {
  if (!/^[sogiuby]*$/.test(signature)) throw new TypeError(`D-Bus signature ${JSON.stringify(signature)} is not supported`);
}

/** The bytes of one message (little endian), with `serial` as its serial number. */
export function encodeMessage(msg: Omit<Message, 'serial'>, serial: number): Buffer {
  checkSignature(msg.signature);
  if (msg.body.length !== msg.signature.length) throw new TypeError('D-Bus body does not match its signature');
  const body = new Writer();
  [...msg.signature].forEach((t, i) => body.value(t, msg.body[i]!));
  const bodyBytes = body.bytes();

  const head = new Writer();
  head.byte('l'.charCodeAt(0));
  head.byte(msg.type);
  head.byte(msg.flags);
  head.byte(1);
  head.uint32(bodyBytes.length);
  head.uint32(serial);
  const fields = new Writer();
  // Header fields are an array of structs, each aligned to 8 from the message start: the array
  // starts at offset 16, which is 8-aligned, so aligning within `fields` is the same thing.
  const field = (code: number, type: string, v: DBusValue | undefined): void => {
    if (v === undefined) return;
    fields.pad(8);
    fields.byte(code);
    fields.signature(type);
    fields.value(type, v);
  };
  field(Field.Path, 'o', msg.path);
  field(Field.Interface, 's', msg.interface);
  field(Field.Member, 's', msg.member);
  field(Field.ErrorName, 's', msg.errorName);
  field(Field.ReplySerial, 'u', msg.replySerial);
  field(Field.Destination, 's', msg.destination);
  field(Field.Sender, 's', msg.sender);
  if (msg.signature !== '') field(Field.Signature, 'g', msg.signature);
  const fieldBytes = fields.bytes();
  head.uint32(fieldBytes.length);
  const header = Buffer.concat([head.bytes(), fieldBytes]);
  const padded = Buffer.concat([header, Buffer.alloc((8 - (header.length % 8)) % 8)]);
  return Buffer.concat([padded, bodyBytes]);
}

class Reader {
  pos: number;
  private readonly buf: Buffer;
  private readonly little: boolean;
  constructor(buf: Buffer, little: boolean, start: number) {
    this.buf = buf;
    this.little = little;
    this.pos = start;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new IncompleteMessage('truncated D-Bus message');
  }
  align(n: number): void {
    this.pos = Math.ceil(this.pos / n) * n;
  }
  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  uint32(): number {
    this.align(4);
    this.need(4);
    const v = this.little ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int32(): number {
    this.align(4);
    this.need(4);
    const v = this.little ? this.buf.readInt32LE(this.pos) : this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  string(): string {
    const len = this.uint32();
    this.need(len + 1);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len + 1;
    return s;
  }
  signature(): string {
    const len = this.byte();
    this.need(len + 1);
    const s = this.buf.toString('ascii', this.pos, this.pos + len);
    this.pos += len + 1;
    return s;
  }
  value(type: string): DBusValue {
    switch (type) {
      case 's':
      case 'o':
        return this.string();
      case 'g':
        return this.signature();
      case 'u':
        return this.uint32();
      case 'i':
        return this.int32();
      case 'b':
        return this.uint32() !== 0;
      case 'y':
        return this.byte();
      default:
        throw new TypeError(`D-Bus type ${JSON.stringify(type)} is not supported`);
    }
  }
}

/** Total size of the message starting at buf[0], or undefined when the fixed header is incomplete. */
export function messageLength(buf: Buffer): number | undefined {
  if (buf.length < 16) return undefined;
  const little = buf[0] === 0x6c;
  if (!little && buf[0] !== 0x42) throw new Error(`bad D-Bus endianness byte 0x${buf[0]!.toString(16)}`);
  const bodyLen = little ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLen = little ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const total = Math.ceil((16 + fieldsLen) / 8) * 8 + bodyLen;
  if (total > MAX_MESSAGE) throw new Error(`D-Bus message of ${total} bytes is too large`);
  return total;
}

/**
 * Decodes one complete message (buf holds exactly it). Body values of types we do not read are
 * not decoded: `body` is then empty and `signature` says what was sent.
 */
export function decodeMessage(buf: Buffer): Message {
  const little = buf[0] === 0x6c;
  const r = new Reader(buf, little, 1);
  const type = r.byte() as MessageTypeValue;
  const flags = r.byte();
  r.byte(); // protocol version
  const bodyLen = r.uint32();
  const serial = r.uint32();
  const fieldsLen = r.uint32();
  const fieldsEnd = r.pos + fieldsLen;
  const msg: Message = { type, flags, serial, signature: '', body: [] };
  for (;;) {
    r.align(8);
    if (r.pos >= fieldsEnd) break;
    const code = r.byte();
    const sig = r.signature();
    const v = r.value(sig);
    switch (code) {
      case Field.Path: msg.path = String(v); break;
      case Field.Interface: msg.interface = String(v); break;
      case Field.Member: msg.member = String(v); break;
      case Field.ErrorName: msg.errorName = String(v); break;
      case Field.ReplySerial: msg.replySerial = Number(v); break;
      case Field.Destination: msg.destination = String(v); break;
      case Field.Sender: msg.sender = String(v); break;
      case Field.Signature: msg.signature = String(v); break;
      default: break;
    }
  }
  r.align(8);
  const bodyStart = r.pos;
  if (bodyStart + bodyLen > buf.length) throw new IncompleteMessage('truncated D-Bus body');
  if (/^[sogiuby]*$/.test(msg.signature)) {
    for (const t of msg.signature) msg.body.push(r.value(t));
  }
  return msg;
}
