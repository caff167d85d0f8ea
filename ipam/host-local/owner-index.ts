// Finds the leases of one attachment without reading every lease file.
//
// Why: the reference answers "which addresses does (cid, ifname) hold?" (duplicate check on ADD,
// DEL, CHECK) by reading every file of <dataDir>/<net>; with thousands of leases that dominates
// each call. We keep an index OUTSIDE the lease directory, in <dataDir>/.tscni-host-local/<net>/
// (a network name cannot start with '.', so this never collides with a network), so the lease
// directory stays byte-identical to what the Go plugin writes and reads.
//
// Layout: a state file and 64 shard files (JSON, key -> lease names), keys spread by a hash of the
// container ID, so each call reads and rewrites only the one shard of its container (which holds
// both its full owner key and its legacy one).
// The index is only a hint:
//  - a hit is verified by reading the lease file it names (content must still be the owner);
//  - a miss is trusted only while the lease directory is unchanged since we last wrote the index:
//    we record the directory's inode and ctime (any create/unlink changes it; since Linux 6.13
//    ext4/xfs/btrfs/tmpfs give a changed ctime a fresh fine-grained stamp once it was read, which
//    we do) and the content of every last_reserved_ip.<set> (the Go plugin rewrites one on each
//    allocation, which also covers coarse-timestamp kernels). Any difference, a missing or
//    unreadable state, or a crash half-way through an update, means "rebuild by one full scan".
// Leases written by anything that neither creates/removes files nor rewrites a cursor (a hand edit
// of an existing lease file) are not noticed; neither the Go plugin nor we ever do that.
import fs from 'node:fs';
import path from 'node:path';
import { parseIP } from '../../shared/ip/index.js';
import { isValidContainerID, isValidIfName } from './names.js';
import { makeDirectories } from '../../shared/sys/dirs.js';

export const LINE_BREAK = '\r\n';
export const LAST_IP_PREFIX = 'last_reserved_ip.';
export const INDEX_ROOT = '.tscni-host-local';
const STATE_FILE = 'state';
const OWNERS_DIR = 'owners';
// 2: shards keyed by the container ID alone (1 hashed the whole key); a version-1 state is not
// trusted, so the first call after an upgrade rebuilds the index in the new layout.
const STATE_VERSION = 2;

interface State {
  v: number;
  dir: string;
  cursors: Record<string, string>;
}

/** Index entry name of a full owner (cid, ifname): ':' appears in neither, so it is unambiguous. */
export const ownerKey = (id: string, ifname: string): string => `${id.trim()}:${ifname}`;
/** Index entry name of a legacy owner (files holding only the container ID). */
export const legacyKey = (id: string): string => id.trim();

/**
 * The index key of a lease file's content, or undefined when the content can never match an
 * attachment the skel accepts (so leaving it out of the index changes no answer).
 */
export function keyOfContent(content: string): string | undefined {
  const text = content.trim();
  const nl = text.indexOf(LINE_BREAK);
  if (nl < 0) return isValidContainerID(text) ? legacyKey(text) : undefined;
  const id = text.slice(0, nl);
  const ifname = text.slice(nl + LINE_BREAK.length);
  return isValidContainerID(id) && isValidIfName(ifname) ? ownerKey(id, ifname) : undefined;
}

/** True for names in a lease directory that are leases (Go only treats IP-named files as leases). */
export const isLeaseName = (name: string): boolean => parseIP(name) !== undefined;

function dirStamp(dir: string): string {
  const st = fs.statSync(dir, { bigint: true });
  return `${st.ino}:${st.ctimeNs}`;
}

/** Reads every lease of a directory: name -> trimmed content (unreadable files are left out). */
export function scanLeases(netDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const ent of fs.readdirSync(netDir, { withFileTypes: true })) {
    if (!ent.isFile() || !isLeaseName(ent.name)) continue;
    try {
      out.set(ent.name, fs.readFileSync(path.join(netDir, ent.name), 'utf8').trim());
    } catch {
      // Vanished or unreadable: the reference skips it too.
    }
  }
  return out;
}

/** Entries are grouped into 64 shard files by a hash of the key's container ID: a lookup or an
 * update touches one small file (the full key "cid:ifname" and the legacy key "cid" of one
 * container land in the same one), and a rebuild writes at most 64 files however many leases there
 * are. */
const SHARDS = 64;
export function shardOf(key: string): string {
  const colon = key.indexOf(':');
  const id = colon < 0 ? key : key.slice(0, colon);
  // FNV-1a over UTF-16 code units: stable, cheap, and only used to spread keys.
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % SHARDS).toString(16).padStart(2, '0');
}

export class OwnerIndex {
  /** Keys known in memory: all of them after a scan, else those of the shards read so far. */
  private readonly entries = new Map<string, Set<string>>();
  private readonly loadedShards = new Set<string>();
  private readonly dirtyShards = new Set<string>();
  /** True once every key is in memory (rebuilt from a scan); commit() then rewrites every shard. */
  private complete = false;

  private constructor(
    private readonly netDir: string,
    private readonly indexDir: string,
    private readonly cursors: Map<string, string | undefined>,
    trusted: boolean,
  ) {
    if (!trusted) this.rebuild();
  }

  /**
   * Opens the index of netDir, rebuilding it in memory from a scan when it cannot be trusted.
   * cursorIDs: the range set indexes of the current config (their cursors are compared too).
   */
  static open(netDir: string, indexDir: string, cursorIDs: readonly string[]): OwnerIndex {
    const state = readState(indexDir);
    const ids = new Set([...cursorIDs, ...Object.keys(state?.cursors ?? {})]);
    const cursors = new Map<string, string | undefined>();
    for (const id of ids) cursors.set(id, readCursorFile(netDir, id));
    let trusted = state !== undefined && state.dir === dirStamp(netDir);
    if (trusted) {
      for (const [id, value] of cursors) if ((state!.cursors[id] ?? undefined) !== value) trusted = false;
    }
    return new OwnerIndex(netDir, indexDir, cursors, trusted);
  }

  /** True when this call had to rebuild the index from a full scan. */
  get rebuilt(): boolean {
    return this.complete;
  }

  /** The current cursor text of a range set as read at open (or as we last wrote it). */
  cursor(id: string): string | undefined {
    if (!this.cursors.has(id)) this.cursors.set(id, readCursorFile(this.netDir, id));
    return this.cursors.get(id);
  }

  noteCursor(id: string, value: string): void {
    this.cursors.set(id, value);
  }

  /** Lease names the index lists for key (unverified: the caller reads the files). */
  lookup(key: string): string[] {
    return [...this.ips(key)];
  }

  add(key: string, leaseName: string): void {
    this.ips(key).add(leaseName);
    this.dirtyShards.add(shardOf(key));
  }

  remove(key: string, leaseName: string): void {
    if (this.ips(key).delete(leaseName)) this.dirtyShards.add(shardOf(key));
  }

  /**
   * Persists the index so that it describes the lease directory as it is now. Call while still
   * holding the network lock, after the last change to the lease directory.
   */
  commit(): void {
    const statePath = path.join(this.indexDir, STATE_FILE);
    const live = path.join(this.indexDir, OWNERS_DIR);
    if (this.complete) {
      // Full rebuild: invalidate first, write a fresh shard tree, swap it in.
      makeDirectories(this.indexDir, 0o700);
      fs.rmSync(statePath, { force: true });
      const fresh = path.join(this.indexDir, `${OWNERS_DIR}.new`);
      const old = path.join(this.indexDir, `${OWNERS_DIR}.old`);
      fs.rmSync(fresh, { recursive: true, force: true });
      fs.rmSync(old, { recursive: true, force: true });
      fs.mkdirSync(fresh, { mode: 0o700 });
      // The fresh tree is not live yet: plain writes, no rename per shard.
      for (const [shard, content] of this.shardContents(undefined)) {
        fs.writeFileSync(path.join(fresh, shard), JSON.stringify(content), { mode: 0o600 });
      }
      if (fs.existsSync(live)) fs.renameSync(live, old);
      fs.renameSync(fresh, live);
      fs.rmSync(old, { recursive: true, force: true });
    } else if (this.dirtyShards.size > 0) {
      const contents = this.shardContents(this.dirtyShards);
      for (const shard of this.dirtyShards) {
        const content = contents.get(shard);
        if (content) writeIndexFile(live, shard, JSON.stringify(content));
        else removeIndexFile(path.join(live, shard));
      }
    }
    const state: State = { v: STATE_VERSION, dir: dirStamp(this.netDir), cursors: {} };
    for (const [id, value] of this.cursors) if (value !== undefined) state.cursors[id] = value;
    // Written last: it stamps the lease directory as the shards now describe it.
    writeIndexFile(this.indexDir, STATE_FILE, JSON.stringify(state));
  }

  /** Drops the state so the next call rebuilds (used when a commit could not finish). */
  invalidate(): void {
    fs.rmSync(path.join(this.indexDir, STATE_FILE), { force: true });
  }

  /** shard -> {key: lease names} for the given shards (all when undefined), empty keys left out. */
  private shardContents(only: Set<string> | undefined): Map<string, Record<string, string[]>> {
    const out = new Map<string, Record<string, string[]>>();
    for (const [key, set] of this.entries) {
      const shard = shardOf(key);
      if (set.size === 0 || (only && !only.has(shard))) continue;
      let content = out.get(shard);
      if (!content) out.set(shard, (content = {}));
      content[key] = [...set];
    }
    return out;
  }

  private ips(key: string): Set<string> {
    if (!this.complete) this.loadShard(shardOf(key));
    let set = this.entries.get(key);
    if (!set) this.entries.set(key, (set = new Set()));
    return set;
  }

  private loadShard(shard: string): void {
    if (this.loadedShards.has(shard)) return;
    this.loadedShards.add(shard);
    const content = readShard(path.join(this.indexDir, OWNERS_DIR, shard));
    if (content === 'damaged') {
      this.rebuild();
      return;
    }
    for (const [key, names] of Object.entries(content)) this.entries.set(key, new Set(names));
  }

  /** Replaces what is in memory with a full scan (correct at any point: the lock is held). */
  private rebuild(): void {
    this.entries.clear();
    this.complete = true;
    for (const [name, content] of scanLeases(this.netDir)) {
      const key = keyOfContent(content);
      if (key) this.ips(key).add(name);
    }
  }
}

function readState(indexDir: string): State | undefined {
  try {
    const raw: unknown = JSON.parse(fs.readFileSync(path.join(indexDir, STATE_FILE), 'utf8'));
    if (typeof raw !== 'object' || raw === null) return undefined;
    const s = raw as Partial<State>;
    if (s.v !== STATE_VERSION || typeof s.dir !== 'string' || typeof s.cursors !== 'object' || s.cursors === null) {
      return undefined;
    }
    return s as State;
  } catch {
    return undefined;
  }
}

/** last_reserved_ip.<id> exactly as stored (the Go plugin writes it without a newline). */
export function readCursorFile(netDir: string, id: string): string | undefined {
  try {
    return fs.readFileSync(path.join(netDir, LAST_IP_PREFIX + id), 'utf8');
  } catch {
    return undefined;
  }
}

/** A shard's entries; {} when it does not exist (no keys); 'damaged' when it exists but does not parse. */
function readShard(file: string): Record<string, string[]> | 'damaged' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return 'damaged';
  }
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'damaged';
    const out: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === 'string');
    }
    return out;
  } catch {
    // Cut short while being written (see writeIndexFile) or damaged from outside.
    return 'damaged';
  }
}

/**
 * Overwrites one index file in place, creating its directories on first use. In place, not temp +
 * rename: the index is read and written only under the network's lock, so no reader sees a write
 * in progress, and a write cut short (the process killed, the machine down) is caught by the order
 * of commit(): shards first, the state last. Until the state is rewritten it still carries the
 * lease directory's stamp from before this call's lease change, so the next call does not trust the
 * shards and rebuilds; a damaged state does not parse and means the same.
 */
function writeIndexFile(dir: string, name: string, text: string): void {
  const file = path.join(dir, name);
  try {
    fs.writeFileSync(file, text, { mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    makeDirectories(dir, 0o700);
    fs.writeFileSync(file, text, { mode: 0o600 });
  }
}

function removeIndexFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
