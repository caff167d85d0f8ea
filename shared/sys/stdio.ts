// Output for short-lived plugin processes. Writing through fs.writeSync on fds 1 and 2 skips
// building process.stdout/process.stderr streams (~2 ms of start-up per call), and the write is
// complete when the call returns, so an exit right after it loses nothing.
import fs from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      // An fd inherited in non-blocking mode may be full for a moment: wait briefly and retry.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

export const writeStdout = (text: string): void => writeAll(1, text);
export const writeStderr = (text: string): void => writeAll(2, text);
