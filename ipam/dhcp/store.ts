// The daemon's lease files: one JSON file per lease, written atomically (temp file, fsync,
// rename), so a daemon restart resumes every lease.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeDirectories } from '../../shared/sys/dirs.js';
import { writeFileAtomic } from '../../shared/sys/files.js';

export interface LeaseRecord {
  v: 1;
  clientID: string;
  containerID: string;
  network: string;
  ifName: string;
  /** CNI_NETNS as the plugin gave it (the daemon adds its host prefix when opening it). */
  netns: string;
  mac: string;
  requested: number[];
  provided: Array<[number, string]>;
  /** The last DHCPACK, base64. */
  ack: string;
  address: string;
  server: string;
  /** L2 source of the server's last reply: where unicast RENEW/RELEASE frames go. */
  serverMac: string;
  /**
   * The interface's uplink in the daemon's netns (uplink.ts), where the DHCPRELEASE goes when the
   * interface is already gone at DEL (records written before this field have none).
   */
  uplink?: { index: number; name: string };
  /** Absolute times, ms since the epoch. */
  boundAt: number;
  renewAt: number;
  rebindAt: number;
  expireAt: number;
}

export class LeaseStore {
  constructor(readonly dir: string) {}

  init(): void {
    makeDirectories(this.dir, 0o700);
  }

  fileOf(clientID: string): string {
    return path.join(this.dir, `${createHash('sha256').update(clientID).digest('hex').slice(0, 40)}.json`);
  }

  save(rec: LeaseRecord): void {
    writeFileAtomic(this.fileOf(rec.clientID), `${JSON.stringify(rec, null, 1)}\n`, 0o600);
  }

  remove(clientID: string): void {
    fs.rmSync(this.fileOf(clientID), { force: true });
  }

  /** Every readable record; unreadable files are reported through onBad and left in place. */
  loadAll(onBad: (file: string, why: string) => void): LeaseRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: LeaseRecord[] = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      if (name.includes('.tmp-')) {
        fs.rmSync(file, { force: true }); // a write interrupted by a crash
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as LeaseRecord;
        if (rec.v !== 1 || typeof rec.clientID !== 'string' || typeof rec.ack !== 'string') throw new Error('not a lease record');
        out.push(rec);
      } catch (e) {
        onBad(file, (e as Error).message);
      }
    }
    return out;
  }
}
