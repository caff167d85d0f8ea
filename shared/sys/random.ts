// Random bytes from the kernel's CSPRNG (/dev/urandom). Used for names such as the host veth's;
// node:crypto would give the same bytes but costs ~8 ms to load, on every plugin call.
import fs from 'node:fs';

export function randomBytes(n: number): Buffer {
  const buf = Buffer.alloc(n);
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    let got = 0;
    while (got < n) got += fs.readSync(fd, buf, got, n - got, null);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}
