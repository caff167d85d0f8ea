// One NETLINK_ROUTE socket: synchronous request/ACK, single-reply get and multi-part dumps, with
// sequence checking. The socket belongs to the netns that was current when it was created.
import { check, errno, libc, SysError } from '../sys/libc.js';
import {
  AF_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR,
  NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, MSG_PEEK, MSG_TRUNC, SOCK_CLOEXEC,
  SOCK_RAW, SOL_NETLINK,
} from './constants.js';
import { NetlinkError, parseErrorReply } from './errors.js';
import { type MessageBuilder, type NlMsg, splitMessages } from './message.js';

const EINTR = 4;
const EAGAIN = 11;
const MSG_DONTWAIT = 0x40;
const DUMP_ATTEMPTS = 10;

// One receive buffer for the whole process: calls are synchronous, so sockets never interleave.
let rxBuf: Buffer | undefined;

/** Kernel dumps fill datagrams up to ~32 KiB; 64 KiB leaves room, and it grows on MSG_TRUNC. */
function receiveBuffer(minSize = 0): Buffer {
  if (!rxBuf) rxBuf = Buffer.alloc(Math.max(minSize, 65536));
  else if (rxBuf.length < minSize) rxBuf = Buffer.alloc(Math.max(minSize, rxBuf.length * 2));
  return rxBuf;
}

/** Replaces the shared receive buffer (tests use a tiny one to exercise the MSG_TRUNC growth path). */
export function resizeReceiveBuffer(bytes: number): void {
  rxBuf = Buffer.alloc(bytes);
}

type Mode = 'ack' | 'get' | 'dump';

export class NetlinkSocket {
  private fd: number;
  private seq: number;

  private constructor(fd: number) {
    this.fd = fd;
    // Distinct starting points make a stale reply from another socket's life obviously foreign.
    this.seq = (Date.now() & 0xffff) << 8;
  }

  /**
   * Opens a socket in the calling thread's current network namespace. `protocol` defaults to
   * NETLINK_ROUTE; NETLINK_NETFILTER (12) speaks the same framing (conntrack, shared/netfilter).
   */
  static open(protocol: number = NETLINK_ROUTE): NetlinkSocket {
    const c = libc();
    const fd = check('netlink socket', c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
    const one = Buffer.alloc(4);
    one.writeInt32LE(1, 0);
    // Best effort: capped ACKs keep error replies small; extended ACKs give the kernel's reason.
    c.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4);
    c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4);
    return new NetlinkSocket(fd);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
    this.fd = -1;
  }

  /** Sends a change request and waits for the kernel's ACK; throws NetlinkError on refusal. */
  ack(req: MessageBuilder, op: string): void {
    this.exchange(req, op, 'ack', () => undefined);
  }

  /** Sends a request that has exactly one reply message and returns it parsed. */
  get<T>(req: MessageBuilder, op: string, parse: (m: NlMsg) => T | undefined): T {
    const [first] = this.exchange(req, op, 'get', parse);
    if (first === undefined) throw new NetlinkError(op, 61 /* ENODATA */, 'the kernel sent no usable reply');
    return first;
  }

  /** Runs a dump, retrying when the kernel reports it was interrupted by a concurrent change. */
  dump<T>(req: MessageBuilder, op: string, parse: (m: NlMsg) => T | undefined): T[] {
    for (let attempt = 1; ; attempt++) {
      const interrupted = { value: false };
      const out = this.exchange(req, op, 'dump', parse, interrupted);
      if (!interrupted.value) return out;
      if (attempt >= DUMP_ATTEMPTS) throw new NetlinkError(op, EINTR, 'dump kept being interrupted by concurrent changes');
    }
  }

  /**
   * Sends `reqs` in ONE datagram (an nf_tables batch: BATCH_BEGIN ... BATCH_END, which the kernel runs
   * as one transaction) and throws NetlinkError for the first message the kernel refused, named by
   * `opOf(index)`. Messages that want a receipt set NLM_F_ACK themselves (the kernel reports a refused
   * message with or without it). The kernel handles a netlink
   * request inside send(), so every reply is already queued when send returns: they are read without
   * blocking until the queue is empty, whatever their number (an aborted batch may answer fewer).
   */
  batch(reqs: readonly MessageBuilder[], opOf: (index: number) => string): void {
    if (this.fd < 0) throw new Error(`${opOf(0)}: netlink socket is closed`);
    const firstSeq = (this.seq + 1) >>> 0;
    const parts = reqs.map((req) => {
      const msg = Buffer.from(req.finish((this.seq = (this.seq + 1) >>> 0)));
      msg.writeUInt16LE(msg.readUInt16LE(6) | NLM_F_REQUEST, 6);
      return msg;
    });
    this.send(Buffer.concat(parts), opOf(0));
    const wantsReceipt = parts.some((m) => m.readUInt16LE(6) & NLM_F_ACK);
    let replies = 0;
    let failure: { index: number; errno: number; extAck: string | undefined } | undefined;
    for (let buf = this.receive(opOf(0), MSG_DONTWAIT); buf; buf = this.receive(opOf(0), MSG_DONTWAIT)) {
      for (const m of splitMessages(buf.data, buf.len)) {
        const index = (m.seq - firstSeq) >>> 0;
        if (m.type !== NLMSG_ERROR || index >= reqs.length) continue;
        replies++;
        const reply = parseErrorReply(m.payload, m.flags);
        if (reply.errno !== 0 && (failure === undefined || index < failure.index)) failure = { index, errno: reply.errno, extAck: reply.extAck };
      }
    }
    if (failure) throw new NetlinkError(opOf(failure.index), failure.errno, failure.extAck);
    if (wantsReceipt && replies === 0) throw new NetlinkError(opOf(0), 61 /* ENODATA */, 'the kernel sent no receipt for the batch');
  }

  private exchange<T>(
    req: MessageBuilder,
    op: string,
    mode: Mode,
    parse: (m: NlMsg) => T | undefined,
    interrupted?: { value: boolean },
  ): T[] {
    if (this.fd < 0) throw new Error(`${op}: netlink socket is closed`);
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const msg = req.finish(seq);
    const extra = NLM_F_REQUEST | (mode === 'ack' ? NLM_F_ACK : mode === 'dump' ? NLM_F_DUMP : 0);
    msg.writeUInt16LE(msg.readUInt16LE(6) | extra, 6);
    this.send(msg, op);

    const out: T[] = [];
    // A throwing parser must not abandon the dump: the kernel refuses the socket's next dump with
    // EBUSY until this one is read to its end. So remember the failure, finish reading, then throw.
    let parseFailed = false;
    let parseError: unknown;
    const finish = (): T[] => {
      if (parseFailed) throw parseError;
      return out;
    };
    for (;;) {
      const buf = this.receive(op);
      for (const m of splitMessages(buf.data, buf.len)) {
        if (m.seq !== seq) continue; // a late reply to an earlier request
        if (m.type === NLMSG_ERROR) {
          const reply = parseErrorReply(m.payload, m.flags);
          if (reply.errno !== 0) throw new NetlinkError(op, reply.errno, reply.extAck);
          return finish(); // a plain ACK ends every request kind
        }
        if (m.type === NLMSG_DONE) {
          const err = m.payload.length >= 4 ? -m.payload.readInt32LE(0) : 0;
          if (err > 0) throw new NetlinkError(op, err);
          return finish();
        }
        if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) continue;
        if (interrupted && m.flags & NLM_F_DUMP_INTR) interrupted.value = true;
        if (!parseFailed) {
          try {
            const parsed = parse(m);
            if (parsed !== undefined) out.push(parsed);
          } catch (err) {
            parseFailed = true;
            parseError = err;
          }
        }
        if (mode === 'get') return finish();
      }
    }
  }

  private send(msg: Buffer, op: string): void {
    const c = libc();
    for (;;) {
      const n = Number(c.send(this.fd, msg, BigInt(msg.length), 0));
      if (n >= 0) return;
      const e = errno();
      if (e !== EINTR) throw new SysError(`${op}: netlink send`, e);
    }
  }

  /** Receives one datagram into the shared buffer, growing it first when the datagram would not fit. */
  private receive(op: string): { data: Buffer; len: number };
  private receive(op: string, flags: number): { data: Buffer; len: number } | undefined;
  /** `flags` MSG_DONTWAIT: undefined when nothing is queued. */
  private receive(op: string, flags = 0): { data: Buffer; len: number } | undefined {
    const c = libc();
    let buf = receiveBuffer();
    for (;;) {
      const size = Number(c.recv(this.fd, buf, BigInt(buf.length), MSG_PEEK | MSG_TRUNC | flags));
      if (size < 0) {
        const e = errno();
        if (e === EINTR) continue;
        if (e === EAGAIN && flags & MSG_DONTWAIT) return undefined;
        throw new SysError(`${op}: netlink receive`, e);
      }
      if (size > buf.length) buf = receiveBuffer(size);
      const n = Number(c.recv(this.fd, buf, BigInt(buf.length), flags));
      if (n >= 0) return { data: buf, len: n };
      const e = errno();
      if (e !== EINTR) throw new SysError(`${op}: netlink receive`, e);
    }
  }
}
