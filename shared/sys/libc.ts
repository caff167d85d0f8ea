// Thin typed bindings to the few libc calls the suite needs, through Node 26's built-in FFI.
// Everything here is synchronous on purpose: setns(2) changes only the calling thread, so work done
// "inside" a namespace must run on the main thread without yielding to the event loop.
import type Ffi from 'node:ffi';
import os from 'node:os';

const definitions = {
  socket: { arguments: ['int32', 'int32', 'int32'], return: 'int32' },
  bind: { arguments: ['int32', 'buffer', 'uint32'], return: 'int32' },
  send: { arguments: ['int32', 'buffer', 'uint64', 'int32'], return: 'int64' },
  recv: { arguments: ['int32', 'buffer', 'uint64', 'int32'], return: 'int64' },
  setsockopt: { arguments: ['int32', 'int32', 'int32', 'buffer', 'uint32'], return: 'int32' },
  getsockname: { arguments: ['int32', 'buffer', 'buffer'], return: 'int32' },
  setns: { arguments: ['int32', 'int32'], return: 'int32' },
  unshare: { arguments: ['int32'], return: 'int32' },
  flock: { arguments: ['int32', 'int32'], return: 'int32' },
  close: { arguments: ['int32'], return: 'int32' },
  // struct statfs is 120 bytes on x86_64/aarch64; its first field (f_type, a long) is the fs magic.
  fstatfs: { arguments: ['int32', 'buffer'], return: 'int32' },
  // ioctl(2) is variadic; its one extra argument (a struct pointer as a Buffer, or an integer as a
  // bigint) is passed in a register exactly like a fixed argument on x86_64/aarch64.
  ioctl: { arguments: ['int32', 'uint64', 'pointer'], return: 'int32' },
  strerror: { arguments: ['int32'], return: 'pointer' },
  __errno_location: { arguments: [], return: 'pointer' },
} as const;

type Libc = ReturnType<typeof Ffi.dlopen<typeof definitions>>['functions'];

let ffiModule: typeof Ffi | undefined;
let loaded: Libc | undefined;
// Held for the process lifetime so the library handle is never collected under its bound functions.
let libHandle: Ffi.DynamicLibrary | undefined;

/**
 * node:ffi, loaded on first use. A static `import` would emit the FFI's ExperimentalWarning while
 * modules are still linking, before any code could silence it; loading it here lets us drop the
 * warning listeners first (stdout/stderr must stay clean for the runtime).
 */
function ffi(): typeof Ffi {
  if (!ffiModule) {
    process.removeAllListeners('warning');
    ffiModule = process.getBuiltinModule('node:ffi');
  }
  return ffiModule;
}

/**
 * The libc functions. The library is opened on first use and each function is bound on its own
 * first use (binding costs ~50 us per symbol), so a command pays only for the calls it makes.
 */
export function libc(): Libc {
  if (!loaded || !libHandle) {
    const lib = (libHandle = ffi().dlopen('libc.so.6', {}).lib);
    const lazy = {} as Libc;
    for (const name of Object.keys(definitions) as Array<keyof typeof definitions>) {
      Object.defineProperty(lazy, name, {
        configurable: true,
        enumerable: true,
        get() {
          const fn = lib.getFunction(name, definitions[name]);
          Object.defineProperty(lazy, name, { value: fn, enumerable: true });
          return fn;
        },
      });
    }
    // Bound now: binding runs dlsym, which may overwrite errno between a failing call and errno().
    void lazy.__errno_location;
    loaded = lazy;
  }
  return loaded;
}

/** errno of the last failing libc call; read it immediately after the call. */
export function errno(): number {
  return ffi().getInt32(libc().__errno_location());
}

// Linux errno numbers and names we map to readable errors.
export const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM',
  13: 'EACCES', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE',
  28: 'ENOSPC', 34: 'ERANGE', 61: 'ENODATA', 71: 'EPROTO', 75: 'EOVERFLOW', 90: 'EMSGSIZE',
  93: 'EPROTONOSUPPORT', 95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN', 101: 'ENETUNREACH', 105: 'ENOBUFS', 110: 'ETIMEDOUT', 113: 'EHOSTUNREACH',
};

let namesByNumber: Map<number, string> | undefined;

/** The symbolic name of an errno ("EEXIST"); falls back to Node's table for numbers not listed above. */
export function errnoName(errnum: number): string {
  const listed = ERRNO_NAMES[errnum];
  if (listed) return listed;
  if (!namesByNumber) {
    namesByNumber = new Map();
    for (const [name, num] of Object.entries(os.constants.errno)) if (!namesByNumber.has(num)) namesByNumber.set(num, name);
  }
  return namesByNumber.get(errnum) ?? `errno ${errnum}`;
}

/** The C library's text for an errno ("File exists"). */
export function errnoText(errnum: number): string {
  const ptr = libc().strerror(errnum);
  return (ptr ? ffi().toString(ptr) : null) ?? `errno ${errnum}`;
}

/** An OS-level failure carrying the errno number and its symbolic name. */
export class SysError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(op: string, errnum: number, detail?: string) {
    const name = errnoName(errnum);
    super(`${op}${detail ? ` ${detail}` : ''}: ${name}`);
    this.name = 'SysError';
    this.errno = errnum;
    this.code = name;
  }
}

/** ioctl(2) with one argument (a struct as a Buffer, or an integer as a bigint); a failure throws a SysError naming `op`. */
export function ioctl(fd: number, request: number, arg: Buffer | bigint, op: string): number {
  return check(op, libc().ioctl(fd, BigInt(request), arg));
}

/** Throws a SysError when a libc call returned -1. */
export function check(op: string, ret: number | bigint, detail?: string): number {
  const n = Number(ret);
  if (n < 0) throw new SysError(op, errno(), detail);
  return n;
}
