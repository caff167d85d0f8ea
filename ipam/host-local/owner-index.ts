// Finds the leases of one attachment without reading every lease file.
//
// Why: the reference answers "which addresses does (cid, ifname) hold?" (duplicate check on ADD,
// DEL, CHECK) by reading every file of <dataDir>/<net>; with thousands of leases that dominates
// each call. We keep an index OUTSIDE the lease directory, in <dataDir>/.tscni-host-local/<net>/
// (a network name cannot start with '.', so this never collides with a network), so the lease
// directory stays byte-identical to what the Go plugin writes and reads.
//
// Layout: a state file and 64 shard files (JSON, key -> lease names), keys spread by a hash, so
// each call reads and rewrites only the shard of its attachment.
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
const STATE_VERSION = 1;

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

/** Entries are grouped into 64 shard files by a hash of the key: a lookup or an update touches one
 * small file, and a rebuild writes at most 64 files however many leases there are. */
const SHARDS = 64;
export function shardOf(key: string): string {
  // FNV-1a over UTF-16 code units: stable, cheap, and only used to spread keys.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % SHARDS).toString(16).padStart(2, '0');
}

export class OwnerIndex {
  /** Keys known in memory: all of them after a scan, else those of the shards read so far. */
  private readonly entries = new Map<string, Set<string>>();
  private readonly loadedShards = new Set<string>();
  private readonly dirtyShards = new Set<string>();
  private readonly complete: boolean;

  private constructor(
    private readonly netDir: string,
    private readonly indexDir: string,
    private readonly cursors: Map<string, string | undefined>,
    scanned: Map<string, string> | undefined,
  ) {
    this.complete = scanned !== undefined;
    if (scanned) {
      for (const [name, content] of scanned) {
        const key = keyOfContent(content);
        if (key) this.ips(key).add(name);
      }
    }
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
    return new OwnerIndex(netDir, indexDir, cursors, trusted ? undefined : scanLeases(netDir));
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
    makeDirectories(this.indexDir, 0o700);
    const statePath = path.join(this.indexDir, STATE_FILE);
    const live = path.join(this.indexDir, OWNERS_DIR);
    if (this.complete) {
      // Full rebuild: invalidate first, write a fresh shard tree, swap it in.
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
      makeDirectories(live, 0o700);
      const contents = this.shardContents(this.dirtyShards);
      for (const shard of this.dirtyShards) {
        const content = contents.get(shard);
        if (content) writeShard(live, shard, content);
        else fs.rmSync(path.join(live, shard), { force: true });
      }
    }
    const state: State = { v: STATE_VERSION, dir: dirStamp(this.netDir), cursors: {} };
    for (const [id, value] of this.cursors) if (value !== undefined) state.cursors[id] = value;
    const tmp = `${statePath}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    fs.renameSync(tmp, statePath);
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
    for (const [key, names] of Object.entries(readShard(path.join(this.indexDir, OWNERS_DIR, shard)))) {
      this.entries.set(key, new Set(names));
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

function readShard(file: string): Record<string, string[]> {
  try {
    const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
    const out: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === 'string');
    }
    return out;
  } catch {
    // Missing: no keys in this shard. Shards are replaced by rename, so a crash of ours cannot
    // leave one half-written; a shard damaged from outside reads as empty.
    return {};
  }
}

function writeShard(dir: string, shard: string, content: Record<string, string[]>): void {
  const file = path.join(dir, shard);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(content), { mode: 0o600 });
  fs.renameSync(tmp, file);
}
