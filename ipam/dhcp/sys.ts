// The DHCP client's sockets inside a container netns, over node:ffi (shared/sys/libc.ts plus the
// one call it lacks, sendto). Sockets are created while inside the netns (withNetns, synchronous)
// and stay bound to it afterwards, so the daemon's event loop can use them from anywhere.
// All sockets are non-blocking: receiving is a short poll on a timer, only while a transaction
// is in flight (see Poller), so a lease at rest holds no socket, thread or timer but its own.
import type Ffi from 'node:ffi';
import { check, errno, libc, SysError } from '../../shared/sys/libc.js';
import { ipToBytes } from './packet.js';

const AF_INET = 2;
const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_BROADCAST = 6;
const SO_BINDTODEVICE = 25;
const ETH_P_IP = 0x0800;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EINTR = 4;

const extraDefs = {
  sendto: { arguments: ['int32', 'buffer', 'uint64', 'int32', 'buffer', 'uint32'], return: 'int64' },
} as const;
type Extra = ReturnType<typeof Ffi.dlopen<typeof extraDefs>>['functions'];
let extra: Extra | undefined;
let extraLib: unknown;

function sys(): Extra {
  if (!extra) {
    libc(); // loads node:ffi with its ExperimentalWarning silenced
    const ffi = process.getBuiltinModule('node:ffi');
    const opened = ffi.dlopen('libc.so.6', extraDefs);
    extraLib = opened.lib;
    extra = opened.functions;
  }
  void extraLib;
  return extra;
}

const htons = (n: number): number => ((n & 0xff) << 8) | ((n >> 8) & 0xff);

function intOpt(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

function sockaddrIn(ip: string, port: number): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  ipToBytes(ip).copy(sa, 4);
  return sa;
}

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

/**
 * A UDP socket on port 68 tied to `ifName` (SO_BINDTODEVICE) in the current netns, for the
 * unicast messages (RENEW, RELEASE) that the kernel routes and resolves itself.
 */
export function openUdpSocket(ifName: string): number {
  const c = libc();
  const fd = check('socket(AF_INET)', c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  try {
    check('setsockopt(SO_REUSEADDR)', c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, intOpt(1), 4));
    check('setsockopt(SO_BROADCAST)', c.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, intOpt(1), 4));
    const dev = Buffer.from(`${ifName}\0`);
    check('setsockopt(SO_BINDTODEVICE)', c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, dev.length));
    const sa = sockaddrIn('0.0.0.0', 68);
    if (c.bind(fd, sa, sa.length) !== 0) {
      // Port 68 taken on this device (another client): any port works for sending, the reply is
      // read from the packet socket.
      const any = sockaddrIn('0.0.0.0', 0);
      check('bind(AF_INET)', c.bind(fd, any, any.length));
    }
  } catch (e) {
    c.close(fd);
    throw e;
  }
  return fd;
}

export function sendFrame(fd: number, frame: Buffer): void {
  const n = Number(libc().send(fd, frame, BigInt(frame.length), 0));
  if (n < 0) throw new SysError('send', errno());
}

export function sendUdp(fd: number, payload: Buffer, ip: string, port: number): void {
  const sa = sockaddrIn(ip, port);
  const n = Number(sys().sendto(fd, payload, BigInt(payload.length), 0, sa, sa.length));
  if (n < 0) throw new SysError('sendto', errno(), `${ip}:${port}`);
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
