// Tells whether a file is a tscni executable without running it: a file we may replace on install.
// The build (pkg, SEA mode) injects the bundled program into a Node binary as an ELF note named
// NODE_SEA_BLOB. We read the ELF program headers, find that note and look for our marker in it:
// a few small reads (the note is ~1 MB) instead of scanning or executing a 150 MB file.
import fs from 'node:fs';

/**
 * Present in every tscni bundle from this version on (this very literal is part of the bundle).
 * Never change it: installs of later versions recognise earlier ones by it.
 */
export const EXECUTABLE_MARKER = 'tscni-multi-call-executable:v1';
/** Earlier versions carry no marker; their dispatcher's usage text has been the same since the first. */
const LEGACY_SIGNATURE = 'start this program under one of its plugin names';

const SEA_NOTE_NAME = 'NODE_SEA_BLOB';
const SEA_BLOB_MAGIC = 0x0143da20;
const PT_NOTE = 4;
/** Upper bound on a note segment we read; ours is ~1 MB. A larger one is not ours. */
const MAX_NOTE_BYTES = 64 * 1024 * 1024;

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** The descriptor of the NODE_SEA_BLOB note of a 64-bit little-endian ELF file, if it has one. */
function seaBlob(fd: number): Buffer | undefined {
  const eh = readAt(fd, 0, 64);
  // \x7fELF, ELFCLASS64, ELFDATA2LSB: the only layout we build (x86-64; arm64 is the same).
  if (eh.length < 64 || eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return undefined;
  const phoff = Number(eh.readBigUInt64LE(0x20));
  const phentsize = eh.readUInt16LE(0x36);
  const phnum = eh.readUInt16LE(0x38);
  if (phentsize < 56 || phnum === 0 || phnum === 0xffff) return undefined;
  const ph = readAt(fd, phoff, phentsize * phnum);
  for (let i = 0; i < phnum && (i + 1) * phentsize <= ph.length; i++) {
    const at = i * phentsize;
    if (ph.readUInt32LE(at) !== PT_NOTE) continue;
    const offset = Number(ph.readBigUInt64LE(at + 8));
    const size = Number(ph.readBigUInt64LE(at + 32));
    const align = Number(ph.readBigUInt64LE(at + 48)) === 8 ? 8 : 4;
    if (size > MAX_NOTE_BYTES) continue;
    const notes = readAt(fd, offset, size);
    const pad = (n: number): number => (n + align - 1) & ~(align - 1);
    for (let p = 0; p + 12 <= notes.length; ) {
      const namesz = notes.readUInt32LE(p);
      const descsz = notes.readUInt32LE(p + 4);
      const desc = p + 12 + pad(namesz);
      if (desc + descsz > notes.length) break;
      // The name is NUL-terminated: namesz counts the NUL.
      if (notes.toString('latin1', p + 12, p + 12 + namesz).replace(/\0+$/, '') === SEA_NOTE_NAME) {
        return notes.subarray(desc, desc + descsz);
      }
      p = desc + pad(descsz);
    }
  }
  return undefined;
}

/** True when `file` (followed if a symlink) is a tscni executable, of this version or an earlier one. */
export function isTscniExecutable(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return false;
    const blob = seaBlob(fd);
    if (!blob || blob.length < 4 || blob.readUInt32LE(0) !== SEA_BLOB_MAGIC) return false;
    return blob.includes(EXECUTABLE_MARKER) || blob.includes(LEGACY_SIGNATURE);
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
