// The on-disk store, byte-compatible with the reference so a node can switch between the Go
// host-local and ours in either direction:
//   <dataDir>/<net>/              mode 0755
//   <dataDir>/<net>/lock          flock(2) target, mode 0750 (go-filemutex)
//   <dataDir>/<net>/<ip>          "<cid>\r\n<ifname>", no newline, O_EXCL create, mode 0600
//   <dataDir>/<net>/last_reserved_ip.<set>   the address last reserved in range set <set>
// The whole command runs under the lock (the reference locks per range set; one lock over the
// command is strictly stronger and lets the owner index be read and written once).
import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { Attachment } from '../../shared/cni/types.js';
import { type IP, formatIP, parseIP } from '../../shared/ip/index.js';
import { FileLock } from '../../shared/lock/flock.js';
import { checkNetworkName } from './names.js';
import {
  INDEX_ROOT,
  LAST_IP_PREFIX,
  LINE_BREAK,
  OwnerIndex,
  keyOfContent,
  legacyKey,
  ownerKey,
  scanLeases,
} from './owner-index.js';
import type { Store } from './store.js';
import { makeDirectories } from '../../shared/sys/dirs.js';
import { errorText } from '../../shared/sys/error-text.js';

const STAGED_LEASE = 'lease.tmp';
const TEMP_SUFFIX = '.tmp';

/**
 * Creates lease `file` with `content` only if it does not exist, and never half-written: the
 * content is written to a staging file first and hard-linked into place (link(2) fails with EEXIST
 * like O_EXCL does). A plain O_EXCL create + write, as the reference does, leaves an empty lease
 * that no DEL can match when the process is killed in between. False when the lease exists.
 */
function createLease(file: string, content: string, stagingDir: string): boolean {
  let staged: string | undefined = path.join(stagingDir, STAGED_LEASE);
  try {
    makeDirectories(stagingDir, 0o700);
    fs.writeFileSync(staged, content, { mode: LEASE_MODE });
  } catch {
    staged = undefined; // no staging place (read-only index dir...): the reference's way below
  }
  try {
    if (staged) {
      try {
        fs.linkSync(staged, file);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV' && (e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      }
    }
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_EXCL | fs.constants.O_CREAT, LEASE_MODE);
    try {
      fs.writeSync(fd, Buffer.from(content));
    } catch (e) {
      fs.rmSync(file, { force: true });
      throw e;
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(`cannot create lease ${file}`, e);
  } finally {
    if (staged) fs.rmSync(staged, { force: true });
  }
}

/**
 * Replaces `file` by a rename from a temp file of a fixed name: the caller holds the network's
 * lock, so no other writer can share it, and what a killed writer left is known by name.
 */
function replaceFile(file: string, content: string): void {
  const tmp = `${file}${TEMP_SUFFIX}`;
  fs.writeFileSync(tmp, content, { mode: LEASE_MODE });
  fs.renameSync(tmp, file);
}

/**
 * Temp files of writers killed before their rename or link (a staged lease, a cursor's temp). The
 * caller holds the network's lock, so none belongs to a live writer; their names are fixed, so no
 * directory is read for this.
 */
function removeTempFiles(stagingDir: string, netDir: string, rangeCount: number): void {
  fs.rmSync(path.join(stagingDir, STAGED_LEASE), { force: true });
  for (let i = 0; i < rangeCount; i++) fs.rmSync(path.join(netDir, `${LAST_IP_PREFIX}${i}${TEMP_SUFFIX}`), { force: true });
}

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';
const LEASE_MODE = 0o600;
const DIR_MODE = 0o755;

export interface GCReport {
  released: string[];
  kept: string[];
}

export class DiskStore implements Store {
  private constructor(
    readonly netDir: string,
    private readonly lk: FileLock,
    private readonly index: OwnerIndex,
    /** Where a lease is written before it is linked into netDir (the index dir: same filesystem). */
    private readonly stagingDir: string,
  ) {}

  /**
   * Opens <dataDir>/<network> and takes its lock (held until close()).
   * rangeCount: number of range sets in the config, whose cursors guard the owner index.
   */
  static open(dataDir: string, network: string, rangeCount: number): DiskStore {
    checkNetworkName(network);
    const root = dataDir === '' ? DEFAULT_DATA_DIR : dataDir;
    const netDir = path.join(root, network);
    // checkNetworkName already rules out separators and dot names; this guards the join itself.
    if (path.relative(root, netDir) !== network) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network name "${network}"`);
    }
    const lockPath = path.join(netDir, 'lock');
    let lk: FileLock;
    try {
      lk = openLock(lockPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`cannot lock ${lockPath}`, e);
      // The network's first call: create the directory, then the lock file in it.
      try {
        makeDirectories(netDir, DIR_MODE);
      } catch (e2) {
        throw ioError(`cannot create lease directory ${netDir}`, e2);
      }
      try {
        lk = openLock(lockPath);
      } catch (e2) {
        throw ioError(`cannot lock ${lockPath}`, e2);
      }
    }
    try {
      const ids = Array.from({ length: rangeCount }, (_, i) => String(i));
      const indexDir = path.join(root, INDEX_ROOT, network);
      const index = OwnerIndex.open(netDir, indexDir, ids);
      removeTempFiles(indexDir, netDir, rangeCount);
      return new DiskStore(netDir, lk, index, indexDir);
    } catch (e) {
      lk.close();
      throw ioError(`cannot read lease directory ${netDir}`, e);
    }
  }

  reserve(id: string, ifname: string, ip: IP, rangeID: string): boolean {
    const name = formatIP(ip);
    const file = path.join(this.netDir, name);
    const created = createLease(file, id.trim() + LINE_BREAK + ifname, this.stagingDir);
    if (!created) return false;
    this.index.add(ownerKey(id, ifname), name);
    try {
      // Replaced by a rename: a process killed half-way leaves the old cursor, never an empty one.
      replaceFile(path.join(this.netDir, LAST_IP_PREFIX + rangeID), name);
    } catch (e) {
      throw ioError(`cannot write ${LAST_IP_PREFIX}${rangeID}`, e);
    }
    this.index.noteCursor(rangeID, name);
    return true;
  }

  lastReservedIP(rangeID: string): IP | undefined {
    const text = this.index.cursor(rangeID);
    return text === undefined ? undefined : parseIP(text.trim());
  }

  getByID(id: string, ifname: string): IP[] {
    const names = [...this.verified(id, ifname, true), ...this.verified(id, ifname, false)];
    return [...new Set(names)].map((n) => parseIP(n)!);
  }

  findByID(id: string, ifname: string): boolean {
    return this.verified(id, ifname, true).length > 0 || this.verified(id, ifname, false).length > 0;
  }

  releaseByID(id: string, ifname: string): void {
    let found = this.releaseKey(ownerKey(id, ifname), this.verified(id, ifname, true));
    // Leases written by old versions name only the container; release those if nothing else matched.
    if (!found) found = this.releaseKey(legacyKey(id), this.verified(id, ifname, false));
  }

  releaseIP(id: string, ifname: string, ip: IP): void {
    const name = formatIP(ip);
    if (this.verified(id, ifname, true).includes(name)) this.releaseKey(ownerKey(id, ifname), [name]);
  }

  /** Lease file names currently present (for STATUS; names only, no content reads). */
  leaseNames(): string[] {
    return fs.readdirSync(this.netDir).filter((n) => parseIP(n) !== undefined);
  }

  /**
   * GC: release every lease whose owner is not a valid attachment. A legacy lease (container ID
   * only) stays while any valid attachment has that container ID. Leases whose owner cannot be
   * read as an attachment (unreadable, unexpected shape) are kept: when in doubt, keep.
   */
  gc(valid: readonly Attachment[]): GCReport {
    const validKeys = new Set(valid.map((a) => ownerKey(a.containerID, a.ifname)));
    const validIDs = new Set(valid.map((a) => legacyKey(a.containerID)));
    const report: GCReport = { released: [], kept: [] };
    for (const [name, content] of scanLeases(this.netDir)) {
      const key = keyOfContent(content);
      const stale =
        content === '' ||
        (key !== undefined && (key.includes(':') ? !validKeys.has(key) : !validIDs.has(key)));
      if (!stale) {
        report.kept.push(name);
        continue;
      }
      try {
        fs.unlinkSync(path.join(this.netDir, name));
        if (key) this.index.remove(key, name);
        report.released.push(name);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`cannot release ${name}`, e);
      }
    }
    return report;
  }

  /** Persists the owner index and drops the lock. Safe to call once; later calls do nothing. */
  close(): void {
    try {
      this.index.commit();
    } catch {
      // The index is only a hint: if it cannot be written, make sure it is not trusted next time.
      try {
        this.index.invalidate();
      } catch {
        // A stale state file still fails its directory check, since the lease directory changed.
      }
    } finally {
      this.lk.close();
    }
  }

  /** Lease names of (id, ifname) (full=true) or of legacy id (full=false), checked against the files. */
  private verified(id: string, ifname: string, full: boolean): string[] {
    const key = full ? ownerKey(id, ifname) : legacyKey(id);
    const want = full ? id.trim() + LINE_BREAK + ifname : id.trim();
    return this.index.lookup(key).filter((name) => {
      try {
        if (fs.readFileSync(path.join(this.netDir, name), 'utf8').trim() === want) return true;
      } catch {
        // gone: not held
      }
      this.index.remove(key, name);
      return false;
    });
  }

  private releaseKey(key: string, names: readonly string[]): boolean {
    let found = false;
    for (const name of names) {
      try {
        fs.unlinkSync(path.join(this.netDir, name));
      } catch (e) {
        // Already gone counts as released; anything else is skipped like the reference does.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') continue;
      }
      found = true;
      this.index.remove(key, name);
    }
    return found;
  }
}

/** Opens (creating) and takes the lock file; ENOENT when the network directory does not exist yet. */
function openLock(file: string): FileLock {
  const lk = FileLock.open(file);
  try {
    lk.lock();
  } catch (e) {
    lk.close();
    throw e;
  }
  return lk;
}

function ioError(what: string, e: unknown): CniError {
  return new CniError(ErrorCode.IOFailure, what, errorText(e));
}
