// Network namespace entry by path. setns(2) moves only the calling thread, so everything done
// inside withNetns must be synchronous on the main thread; the original netns is always restored.
import fs from 'node:fs';
import { errno, errnoName, ioctl, libc, SysError } from '../sys/libc.js';
import { CLONE_NEWNET, NSFS_MAGIC, PROC_SUPER_MAGIC } from './constants.js';

/**
 * Why a namespace path could not be used:
 * - `missing`: the path does not exist (ENOENT); DEL may treat this as already cleaned up.
 * - `not-netns`: the path exists but is not a network namespace (not a namespace file, another kind of
 *   namespace, or setns refused it).
 * - `open-failed` / `setns-failed`: other OS errors (EACCES, EPERM ...).
 * - `restore-failed`: returning to the original namespace failed; the process state is unsafe.
 * Plugins map every kind but `missing` to CNI error code 8 (InvalidNetNS).
 */
export type NetnsErrorKind = 'missing' | 'not-netns' | 'open-failed' | 'setns-failed' | 'restore-failed';

export class NetnsError extends Error {
  readonly kind: NetnsErrorKind;
  readonly path: string;
  /** errno name when an OS call failed ("ENOENT", "EINVAL" ...). */
  readonly code: string | undefined;

  constructor(kind: NetnsErrorKind, path: string, message: string, code?: string) {
    super(message);
    this.name = 'NetnsError';
    this.kind = kind;
    this.path = path;
    this.code = code;
  }

  /** The namespace path is gone (ENOENT): a DEL may succeed without doing anything. */
  get isMissing(): boolean {
    return this.kind === 'missing';
  }
}

/** An open namespace file descriptor (for setns and IFLA_NET_NS_FD). Close it when done. */
export class NetnsHandle {
  readonly path: string;
  private _fd: number;

  constructor(fd: number, path: string) {
    this._fd = fd;
    this.path = path;
  }

  get fd(): number {
    if (this._fd < 0) throw new Error(`netns handle for ${this.path} is closed`);
    return this._fd;
  }

  close(): void {
    if (this._fd >= 0) fs.closeSync(this._fd);
    this._fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function fsMagic(fd: number): number {
  const st = Buffer.alloc(128); // struct statfs is 120 bytes on 64-bit Linux
  if (libc().fstatfs(fd, st) !== 0) return -errno();
  return Number(st.readBigInt64LE(0));
}

// NS_GET_NSTYPE = _IO(0xb7, 0x3) (linux/nsfs.h, kernel 4.11+): the CLONE_NEW* type of a namespace fd.
const NS_GET_NSTYPE = 0xb703;

/** The CLONE_NEW* type of namespace fd `fd`; undefined when the kernel cannot tell (before 4.11: ENOTTY), setns checks then. */
function namespaceType(fd: number): number | undefined {
  try {
    return ioctl(fd, NS_GET_NSTYPE, 0n, 'ioctl(NS_GET_NSTYPE)');
  } catch (err) {
    if (err instanceof SysError) return undefined;
    throw err;
  }
}

/**
 * Opens `path` and checks it is a network namespace file: nsfs (or procfs on old kernels), and of
 * type CLONE_NEWNET, so a mount or pid namespace fails here with `not-netns` instead of at setns.
 */
export function openNetns(path: string): NetnsHandle {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT') throw new NetnsError('missing', path, `failed to open netns "${path}": ENOENT (no such file)`, code);
    throw new NetnsError('open-failed', path, `failed to open netns "${path}": ${code}`, code);
  }
  const magic = fsMagic(fd);
  if (magic !== NSFS_MAGIC && magic !== PROC_SUPER_MAGIC) {
    fs.closeSync(fd);
    const why = magic < 0 ? `statfs failed: ${errnoName(-magic)}` : `unknown FS magic 0x${magic.toString(16)}`;
    throw new NetnsError('not-netns', path, `"${path}" is not a network namespace (${why})`);
  }
  const type = namespaceType(fd);
  if (type !== undefined && type !== CLONE_NEWNET) {
    fs.closeSync(fd);
    throw new NetnsError('not-netns', path, `"${path}" is not a network namespace (namespace type 0x${type.toString(16)})`);
  }
  return new NetnsHandle(fd, path);
}

// The namespace the process started in, opened once; nested withNetns calls restore to their caller's.
let homeFd = -1;
let currentFd = -1;

function home(): number {
  if (homeFd < 0) homeFd = fs.openSync('/proc/thread-self/ns/net', 'r');
  return homeFd;
}

function enter(fd: number, path: string): void {
  if (libc().setns(fd, CLONE_NEWNET) === 0) return;
  const e = errno();
  const name = errnoName(e);
  // EINVAL: the fd is a namespace, but not a network one (e.g. /proc/self/ns/mnt).
  const kind: NetnsErrorKind = name === 'EINVAL' ? 'not-netns' : 'setns-failed';
  throw new NetnsError(kind, path, `failed to enter netns "${path}": ${name}`, name);
}

/**
 * Runs synchronous `fn` inside the network namespace at `target` (a path or an open handle) and
 * returns its value; the caller's namespace is restored afterwards, also when fn throws.
 * fn must not be async: anything after its first await would run in the caller's namespace.
 */
export function withNetns<T>(target: string | NetnsHandle, fn: () => T): T {
  const handle = typeof target === 'string' ? openNetns(target) : target;
  const back = currentFd >= 0 ? currentFd : home();
  const outer = currentFd;
  try {
    enter(handle.fd, handle.path);
    currentFd = handle.fd;
    try {
      const value = fn();
      if (value instanceof Promise) throw new TypeError('withNetns: fn must be synchronous (it returned a Promise)');
      return value;
    } finally {
      currentFd = outer;
      if (libc().setns(back, CLONE_NEWNET) !== 0) {
        const name = errnoName(errno());
        throw new NetnsError('restore-failed', handle.path, `failed to return from netns "${handle.path}": ${name}`, name);
      }
    }
  } finally {
    if (typeof target === 'string') handle.close();
  }
}

/** Identity of a namespace file (device:inode), to tell whether two paths name the same netns. */
export function netnsIdentity(path: string): string {
  const st = fs.statSync(path);
  return `${st.dev}:${st.ino}`;
}
