// Per-attachment records of what a chained plugin changed on the node, kept so that GC (and a DEL
// after a crash, or without prevResult) can find and undo it. The reference keeps no such state:
// its per-IP firewall rules and nftables comments do not say which network they belong to, so a
// GC over one network could not otherwise tell its stale rules from another network's live ones.
//
// Layout: <root>/<plugin>/<network>/<containerID>_<ifName>.json, written atomically (temp file,
// fsync, rename), so a reader after a crash sees the old record or the new one, never half of one.
// Write the record BEFORE touching the kernel and remove it AFTER the teardown succeeded: a plugin
// killed in between leaves a record that names everything it may have created.
//
// Network names, container IDs and interface names are checked by the skel before any plugin runs
// (no '/', no '..'), and are checked again here because they become path components.
import fs from 'node:fs';
import path from 'node:path';
import type { Attachment } from '../cni/types.js';
import { makeDirectories } from '../sys/dirs.js';
import { removeAtomicWriteTemps, writeFileAtomic } from '../sys/files.js';

export const DEFAULT_STATE_ROOT = '/var/lib/cni/tscni';

export interface AttachmentKey {
  readonly network: string;
  readonly containerID: string;
  readonly ifName: string;
}

export interface StoredAttachment<T> {
  readonly key: AttachmentKey;
  readonly record: T;
}

// The skel's own rules: network names and container IDs match this, interface names have no '/'.
const SAFE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function checkComponent(what: string, value: string): void {
  if (!SAFE_NAME.test(value) || value === '.' || value === '..') {
    throw new TypeError(`${what} ${JSON.stringify(value)} cannot name a state file`);
  }
}

function checkIfName(value: string): void {
  if (value === '' || value === '.' || value === '..' || /[/\0]/.test(value)) {
    throw new TypeError(`interface name ${JSON.stringify(value)} cannot name a state file`);
  }
}

export class AttachmentStore<T> {
  readonly dir: string;

  /** `plugin` is a fixed name ("portmap", ...); `root` defaults to /var/lib/cni/tscni. */
  constructor(plugin: string, root: string = DEFAULT_STATE_ROOT) {
    checkComponent('plugin', plugin);
    this.dir = path.join(root, plugin);
  }

  private networkDir(network: string): string {
    checkComponent('network name', network);
    return path.join(this.dir, network);
  }

  fileOf(key: AttachmentKey): string {
    checkComponent('container ID', key.containerID);
    checkIfName(key.ifName);
    // Container IDs may contain '_', so the name is not split back: the file stores its own key.
    return path.join(this.networkDir(key.network), `${key.containerID}_${key.ifName}.json`);
  }

  /** Writes (or replaces) the record of one attachment, atomically. */
  put(key: AttachmentKey, record: T): void {
    const file = this.fileOf(key);
    makeDirectories(path.dirname(file), 0o700);
    writeFileAtomic(file, `${JSON.stringify({ key: { ...key }, record })}\n`, 0o600);
  }

  /** The record of one attachment, or undefined when there is none (or it cannot be read). */
  get(key: AttachmentKey): T | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.fileOf(key), 'utf8');
    } catch {
      return undefined;
    }
    return this.decode(text)?.record;
  }

  /**
   * Removes the record, and the temp file of a writer of it killed before its rename (so a DEL after
   * a killed ADD leaves nothing); a missing record is not an error (DEL is idempotent).
   */
  remove(key: AttachmentKey): void {
    try {
      const file = this.fileOf(key);
      fs.rmSync(file, { force: true });
      removeAtomicWriteTemps(file);
    } catch (err) {
      // A path the kernel refuses as too long (a 300-character network name) cannot hold a record:
      // put() failed for it, so there is nothing to remove and DEL must still succeed.
      if ((err as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw err;
    }
  }

  /** Every readable record of one network (temp files of killed writers are removed on the way). */
  list(network: string): StoredAttachment<T>[] {
    const dir = this.networkDir(network);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const out: StoredAttachment<T>[] = [];
    for (const name of names) {
      const file = path.join(dir, name);
      if (/\.json\.tmp-\d+$/.test(name)) {
        // A writer killed before its rename: the record it meant to write never took effect.
        fs.rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const entry = this.decode(text);
      if (entry && entry.key.network === network) out.push(entry);
    }
    return out;
  }

  private decode(text: string): StoredAttachment<T> | undefined {
    try {
      const parsed = JSON.parse(text) as { key?: Partial<AttachmentKey>; record?: T };
      const k = parsed.key;
      if (!k || typeof k.network !== 'string' || typeof k.containerID !== 'string' || typeof k.ifName !== 'string') return undefined;
      if (parsed.record === undefined) return undefined;
      return { key: { network: k.network, containerID: k.containerID, ifName: k.ifName }, record: parsed.record };
    } catch {
      return undefined;
    }
  }
}


/** True when `key` is in GC's cni.dev/valid-attachments (matched on container ID and interface). */
export function isValidAttachment(
  key: Pick<AttachmentKey, 'containerID' | 'ifName'>,
  valid: readonly Attachment[],
): boolean {
  return valid.some((a) => a.containerID === key.containerID && a.ifname === key.ifName);
}
