// The DHCP client's socket inside a container netns, over node:ffi (shared/sys/libc.ts): one raw
// packet socket per transaction, for every message (broadcast and unicast frames are built by
// packet.ts), so the client needs no address, route or ARP entry in the container. The socket is
// created while inside the netns (withNetns, synchronous) and stays bound to it afterwards, so the
// daemon's event loop can use it from anywhere. Sockets are non-blocking: receiving is a short poll on a timer, only while a transaction
// is in flight (see Poller), so a lease at rest holds no socket, thread or timer but its own.
import { check, errno, libc, SysError } from '../../shared/sys/libc.js';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_IP = 0x0800;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EINTR = 4;

const htons = (n: number): number => ((n & 0xff) << 8) | ((n >> 8) & 0xff);

/** A raw packet socket (Ethernet frames, IPv4 only) bound to one interface of the current netns. */
export function openPacketSocket(ifindex: number): number {
  const c = libc();
  const fd = check('socket(AF_PACKET)', c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IP)));
  try {
    const sll = Buffer.alloc(20);
    sll.writeUInt16LE(AF_PACKET, 0);
    sll.writeUInt16BE(ETH_P_IP, 2);
    sll.writeInt32LE(ifindex, 4);
    check('bind(AF_PACKET)', c.bind(fd, sll, sll.length));
  } catch (e) {
    c.close(fd);
    throw e;
  }
  return fd;
}

export function sendFrame(fd: number, frame: Buffer): void {
  check('send', libc().send(fd, frame, BigInt(frame.length), 0));
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

const RECV_BUF = Buffer.alloc(65536);

/** Reads every frame waiting on a non-blocking socket (up to `max`). */
export function drain(fd: number, max = 64): Buffer[] {
  const out: Buffer[] = [];
  const c = libc();
  for (let i = 0; i < max; i++) {
    const n = Number(c.recv(fd, RECV_BUF, BigInt(RECV_BUF.length), MSG_DONTWAIT));
    if (n < 0) {
      const e = errno();
      if (e === EAGAIN) break;
      if (e === EINTR) continue;
      throw new SysError('recv', e);
    }
    out.push(Buffer.from(RECV_BUF.subarray(0, n)));
  }
  return out;
}

/**
 * One timer for every socket with a transaction in flight: every few milliseconds it drains them
 * all. No timer runs while nothing is in flight.
 */
export class Poller {
  private readonly watched = new Map<number, (frame: Buffer) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 2) {}

  watch(fd: number, onFrame: (frame: Buffer) => void): void {
    this.watched.set(fd, onFrame);
    if (!this.timer) this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  unwatch(fd: number): void {
    this.watched.delete(fd);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.watched.size;
  }

  private tick(): void {
    for (const [fd, cb] of [...this.watched]) {
      let frames: Buffer[];
      try {
        frames = drain(fd);
      } catch {
        continue;
      }
      for (const f of frames) {
        if (!this.watched.has(fd)) break;
        cb(f);
      }
    }
  }
}
