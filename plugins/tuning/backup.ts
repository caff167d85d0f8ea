// The backup of a link's original attributes, `<dataDir>/<containerID>_<ifName>.json`, in the
// reference's exact format so either implementation can restore the other's: Go's
// json.MarshalIndent(v, "", " ") of {mac, promisc, mtu, allmulti, txQLen} in that order, each left
// out when not configured (mac "" and mtu 0 count as absent, as Go's omitempty does), no trailing
// newline, mode 0600. Written atomically (temp file, fsync, rename): a DEL after a crash reads the
// old file or the new one, never half of one.
import fs from 'node:fs';
import path from 'node:path';
import { foldGet, isJsonObject } from '../../shared/cni/fold.js';
import { IFF_ALLMULTI, IFF_PROMISC, type Link, type Netlink } from '../../shared/netlink/index.js';
import type { TuningConf } from './config.js';
import { makeDirectories } from '../../shared/sys/dirs.js';
import { writeFileAtomic } from '../../shared/sys/files.js';
import { errorText } from '../../shared/sys/error-text.js';

export interface LinkOriginals {
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  allmulti?: boolean;
  txQLen?: number;
}

export const isPromisc = (l: Link): boolean => (l.flags & IFF_PROMISC) !== 0;
export const isAllmulti = (l: Link): boolean => (l.flags & IFF_ALLMULTI) !== 0;

export function backupFile(dataDir: string, containerID: string, ifName: string): string {
  return path.join(dataDir, `${containerID}_${ifName}.json`);
}

/** The current values of the attributes `conf` is about to change (and only those). */
export function originalsOf(link: Link, conf: TuningConf): LinkOriginals {
  const o: LinkOriginals = {};
  if (conf.mac !== undefined && link.mac) o.mac = link.mac;
  if (conf.promisc) o.promisc = isPromisc(link);
  if (conf.mtu !== 0 && link.mtu !== 0) o.mtu = link.mtu;
  if (conf.allmulti !== undefined) o.allmulti = isAllmulti(link);
  if (conf.txQLen !== undefined) o.txQLen = link.txQLen;
  return o;
}

/**
 * The originals to record when a backup of this (container, interface) already exists: a second
 * ADD must not overwrite the values of the first with the ones the first applied (DEL would then
 * "restore" the tuned values). What the earlier backup records wins; attributes it does not
 * cover are taken from the link now.
 */
export function mergeOriginals(earlier: LinkOriginals | undefined, now: LinkOriginals): LinkOriginals {
  if (!earlier) return now;
  const merged: LinkOriginals = { ...now };
  for (const key of Object.keys(earlier) as (keyof LinkOriginals)[]) {
    if (earlier[key] !== undefined) (merged as Record<string, unknown>)[key] = earlier[key];
  }
  return merged;
}

/** The file's text, or undefined when there is none (or it cannot be read). */
export function readBackupText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The file's bytes, as the reference writes them. */
export function encodeBackup(o: LinkOriginals): string {
  const ordered: LinkOriginals = {};
  if (o.mac) ordered.mac = o.mac;
  if (o.promisc !== undefined) ordered.promisc = o.promisc;
  if (o.mtu) ordered.mtu = o.mtu;
  if (o.allmulti !== undefined) ordered.allmulti = o.allmulti;
  if (o.txQLen !== undefined) ordered.txQLen = o.txQLen;
  return JSON.stringify(ordered, null, 1);
}

/**
 * Decodes a backup as Go would (keys matched case-insensitively, a wrong type fails the whole
 * file): undefined when it cannot be decoded.
 */
export function decodeBackup(text: string): LinkOriginals | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null) return {};
  if (!isJsonObject(parsed)) return undefined;
  const o: LinkOriginals = {};
  const mac = foldGet(parsed, 'mac');
  const promisc = foldGet(parsed, 'promisc');
  const mtu = foldGet(parsed, 'mtu');
  const allmulti = foldGet(parsed, 'allmulti');
  const txQLen = foldGet(parsed, 'txQLen');
  const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
  if ((mac !== undefined && typeof mac !== 'string') || (promisc !== undefined && typeof promisc !== 'boolean')
    || (mtu !== undefined && !isInt(mtu)) || (allmulti !== undefined && typeof allmulti !== 'boolean')
    || (txQLen !== undefined && !isInt(txQLen))) {
    return undefined;
  }
  if (mac) o.mac = mac;
  if (promisc !== undefined) o.promisc = promisc;
  if (mtu) o.mtu = mtu;
  if (allmulti !== undefined) o.allmulti = allmulti;
  if (txQLen !== undefined) o.txQLen = txQLen;
  return o;
}

/** Writes the backup atomically (mode 0600); creates dataDir (0700) when missing. */
export function writeBackup(file: string, o: LinkOriginals): void {
  makeDirectories(path.dirname(file), 0o700);
  writeFileAtomic(file, encodeBackup(o), 0o600);
}


/**
 * Puts the originals back, in the reference's order (MTU, MAC, promiscuous, all-multicast, then
 * the transmit queue length); returns the failures in the reference's wording ([] = all restored).
 */
export function restoreOriginals(nl: Netlink, link: Link, o: LinkOriginals): string[] {
  const errors: string[] = [];
  const attempt = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      errors.push(`failed to restore ${what}: ${errorText(err)}`);
    }
  };
  if (o.mtu) attempt('MTU', () => nl.setMtu(link, o.mtu as number));
  if (o.mac) attempt('MAC address', () => nl.setMac(link, o.mac as string));
  if (o.promisc !== undefined) attempt('promiscuous mode', () => nl.setPromisc(link, o.promisc as boolean));
  if (o.allmulti !== undefined) attempt('all-multicast mode', () => nl.setAllmulti(link, o.allmulti as boolean));
  if (o.txQLen !== undefined) attempt('transmit queue length', () => nl.setTxQLen(link, o.txQLen as number));
  return errors;
}
