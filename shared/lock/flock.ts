// An exclusive flock(2) on a file, the same lock the Go reference takes (go-filemutex), so our
// processes and Go processes exclude each other. flock locks belong to the open file description:
// a process that dies mid-way drops its lock with its descriptors, so a crash never wedges others.
import fs from 'node:fs';
import { check, errno, libc } from '../sys/libc.js';

const LOCK_EX = 2;
const LOCK_UN = 8;
const EINTR = 4;

/** go-filemutex creates the lock file O_CREAT|O_RDONLY with mode 0750; we match it so both agree on disk. */
export const LOCK_FILE_MODE = 0o750;

export class FileLock {
  private fd: number | undefined;
  private held = false;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens (creating if needed) the lock file without locking it. */
  static open(path: string): FileLock {
    const fd = fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_RDONLY, LOCK_FILE_MODE);
    return new FileLock(path, fd);
  }

  /** Blocks until this process holds the exclusive lock. */
  lock(): void {
    this.flock(LOCK_EX, 'LOCK_EX');
    this.held = true;
  }

  unlock(): void {
    if (!this.held) return;
    this.flock(LOCK_UN, 'LOCK_UN');
    this.held = false;
  }

  /** Closes the descriptor, which also drops a lock still held. */
  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
    this.held = false;
  }

  private flock(op: number, name: string): void {
    if (this.fd === undefined) throw new Error(`flock ${name} on closed lock ${this.path}`);
    for (;;) {
      const ret = libc().flock(this.fd, op);
      if (ret === 0) return;
      // A signal may interrupt the wait; waiting again is the documented answer.
      if (errno() === EINTR) continue;
      check(`flock(${name})`, ret, this.path);
    }
  }
}

/** Runs fn while holding the exclusive lock on path; always unlocks and closes. */
export function withFileLock<T>(path: string, fn: () => T): T {
  const lk = FileLock.open(path);
  try {
    lk.lock();
    return fn();
  } finally {
    lk.close();
  }
}
