// tuning: a chained plugin that writes network sysctls inside the container and changes the
// attributes of `<if>` (MAC, promiscuous mode, MTU, all-multicast, transmit queue length), keeping
// the originals in a backup file that DEL restores (REFERENCE §3.16).
import fs from 'node:fs';
import path from 'node:path';
import { checkFailed, CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { Result } from '../../shared/cni/types.js';
import { openContainerNetns, openContainerNetnsIfPresent } from '../../shared/container/netns.js';
import { type Link, Netlink } from '../../shared/netlink/index.js';
import { writeStderr } from '../../shared/sys/stdio.js';
import {
  backupFile, decodeBackup, isAllmulti, isPromisc, type LinkOriginals, mergeOriginals, originalsOf, readBackupText,
  restoreOriginals, writeBackup,
} from './backup.js';
import { removeAtomicWriteTemps } from '../../shared/sys/files.js';
import { changesLink, loadDataDir, loadTuningConf, type TuningConf } from './config.js';
import { checkAllowed, readAllowlist, sysctlFileName } from './sysctl.js';
import { errorText } from '../../shared/sys/error-text.js';
import { isValidAttachment } from '../../shared/state/attachments.js';
import { attachmentKey, tuningStore } from './state.js';

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EINVAL: 'invalid argument',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
};

/**
 * A failed /proc/sys access in Go's words ("open /proc/sys/net/x: no such file or directory"):
 * code 7 when the key names no sysctl, 100 when the kernel refused the value.
 */
function sysctlError(op: string, file: string, key: string, err: unknown): CniError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const text = ERRNO_TEXT[code] ?? errorText(err);
  const missing = code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
  return new CniError(missing ? ErrorCode.InvalidNetworkConfig : ErrorCode.KernelRefused, `${op} ${file}: ${text}`, `sysctl key ${JSON.stringify(key)}`);
}

function requirePrev(args: CmdArgs): Result {
  if (!args.prevResult) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'Required prevResult missing', 'tuning is a chained plugin: the config needs "prevResult"');
  }
  return args.prevResult;
}

/** The sysctls to write: key, its /proc/sys file, value; refused as a whole before any is written. */
function sysctlTargets(conf: TuningConf, ifName: string): { key: string; file: string; value: string }[] {
  return conf.sysctl.map(([key, value]) => ({ key, file: sysctlFileName(key, ifName), value }));
}

function containerLink(nl: Netlink, ifName: string): Link {
  const link = nl.findLink(ifName);
  if (!link) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `failed to get ${JSON.stringify(ifName)}: Link not found`, `CNI_IFNAME=${JSON.stringify(ifName)} is not in the container netns`);
  }
  return link;
}

/** Applies the attributes in the reference's order, registering how to undo each one. */
function applyAttributes(nl: Netlink, link: Link, conf: TuningConf, orig: LinkOriginals, undo: (() => void)[]): void {
  if (conf.mac !== undefined) {
    nl.setMac(link, conf.mac);
    if (orig.mac) undo.push(() => nl.setMac(link, orig.mac as string));
  }
  if (conf.promisc) {
    nl.setPromisc(link, true);
    undo.push(() => nl.setPromisc(link, orig.promisc ?? false));
  }
  if (conf.mtu !== 0) {
    nl.setMtu(link, conf.mtu);
    if (orig.mtu) undo.push(() => nl.setMtu(link, orig.mtu as number));
  }
  if (conf.allmulti !== undefined) {
    nl.setAllmulti(link, conf.allmulti);
    undo.push(() => nl.setAllmulti(link, orig.allmulti ?? false));
  }
  if (conf.txQLen !== undefined) {
    nl.setTxQLen(link, conf.txQLen);
    undo.push(() => nl.setTxQLen(link, orig.txQLen ?? 0));
  }
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadTuningConf(args);
  const allowlist = readAllowlist();
  if (allowlist) checkAllowed(conf.sysctl.map(([key]) => key), allowlist);
  const prev = requirePrev(args);
  const sysctls = sysctlTargets(conf, args.ifName);

  using ns = openContainerNetns(args.netns);
  using nl = Netlink.open(ns);
  // A failed ADD puts back what it changed, newest first: link attributes, backup file, sysctls.
  const undo: (() => void)[] = [];
  try {
    nl.inNetns(() => {
      for (const s of sysctls) {
        let old: string | undefined;
        try {
          old = fs.readFileSync(s.file, 'utf8');
        } catch {
          old = undefined; // write-only or missing: the write below reports it
        }
        try {
          fs.writeFileSync(s.file, s.value);
        } catch (err) {
          throw sysctlError('open', s.file, s.key, err);
        }
        if (old !== undefined) undo.push(() => nl.inNetns(() => fs.writeFileSync(s.file, old)));
      }
    });
    if (changesLink(conf)) {
      const link = containerLink(nl, args.ifName);
      const file = backupFile(conf.dataDir, args.containerID, args.ifName);
      // A repeated ADD keeps the originals the first one recorded (the reference overwrites them
      // with the tuned values, so its DEL then leaves the link tuned).
      const earlierText = readBackupText(file);
      const current = originalsOf(link, conf);
      // The record first: a process killed from here on leaves a backup that GC can find.
      const store = tuningStore(args.env);
      const key = attachmentKey(conf.name, args.containerID, args.ifName);
      const hadRecord = store.get(key) !== undefined;
      try {
        if (putRecord(store, key, file) && !hadRecord) undo.push(() => store.remove(key));
        writeBackup(file, mergeOriginals(earlierText === undefined ? undefined : decodeBackup(earlierText), current));
      } catch (err) {
        throw new CniError(ErrorCode.IOFailure, `failed to save file ${args.ifName}.json: ${errorText(err)}`, `backup ${file}`);
      }
      undo.push(() => (earlierText === undefined ? fs.rmSync(file, { force: true }) : fs.writeFileSync(file, earlierText, { mode: 0o600 })));
      // A failed ADD puts back the values from before this call, not the earlier backup's.
      applyAttributes(nl, link, conf, current, undo);
    }
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch (undoErr) {
        writeStderr(`tuning: undoing a failed ADD: ${errorText(undoErr)}\n`);
      }
    }
    throw err;
  }

  const result: Result = { ...prev, cniVersion: args.cniVersion };
  if (conf.mac !== undefined && prev.interfaces) {
    result.interfaces = prev.interfaces.map((i) => (i.name === args.ifName ? { ...i, mac: conf.mac } : i));
  }
  return result;
}

/**
 * Records the backup for GC. A network name too long for a file name (the kernel's 255 bytes)
 * cannot have a record: the ADD still succeeds, as the reference's does, and only GC will not find
 * that backup. False when no record was written.
 */
function putRecord(store: ReturnType<typeof tuningStore>, key: ReturnType<typeof attachmentKey>, backup: string): boolean {
  try {
    store.put(key, { backup });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') return false;
    throw err;
  }
}

/**
 * Restores the originals from the backup and removes it. Always succeeds once the config decodes,
 * as the reference's DEL: what cannot be restored is reported on stderr. The backup is removed
 * when the container netns or the link is gone too (nothing can use it any more); it stays only
 * when a restore failed, for a later DEL to retry.
 */
async function del(args: CmdArgs): Promise<void> {
  const { name, dataDir } = loadDataDir(args);
  const file = backupFile(dataDir, args.containerID, args.ifName);
  const store = tuningStore(args.env);
  const key = attachmentKey(name, args.containerID, args.ifName);
  try {
    removeAtomicWriteTemps(file);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        store.remove(key);
        return;
      }
      throw err;
    }
    const orig = decodeBackup(text);
    using ns = openContainerNetnsIfPresent(args.netns);
    if (ns && orig) {
      using nl = Netlink.open(ns);
      const link = nl.findLink(args.ifName);
      if (link) {
        const errors = restoreOriginals(nl, link, orig);
        if (errors.length > 0) {
          writeStderr(`tuning: DEL ${args.containerID}/${args.ifName}: ${errors.join('; ')} (backup ${file} kept)\n`);
          return;
        }
      }
    } else if (!orig) {
      writeStderr(`tuning: DEL ${args.containerID}/${args.ifName}: backup ${file} cannot be decoded; removed\n`);
    }
    fs.rmSync(file, { force: true });
    store.remove(key);
  } catch (err) {
    writeStderr(`tuning: DEL ${args.containerID}/${args.ifName}: ${errorText(err)}\n`);
  }
}

/**
 * GC: the backups of this network's attachments that are not valid any more are removed (with
 * their records). Nothing is restored: an attachment the runtime no longer knows has no link to
 * restore (the reference has no GC and leaves such backups for ever).
 */
async function gc(args: CmdArgs): Promise<void> {
  const { name } = loadDataDir(args);
  const store = tuningStore(args.env);
  for (const { key, record } of store.list(name)) {
    if (isValidAttachment(key, args.validAttachments ?? [])) continue;
    // Only ever a backup file of this attachment's name, whatever the record says.
    if (typeof record.backup !== 'string' || path.basename(record.backup) !== path.basename(backupFile('', key.containerID, key.ifName))) {
      store.remove(key);
      continue;
    }
    removeAtomicWriteTemps(record.backup);
    fs.rmSync(record.backup, { force: true });
    store.remove(key);
  }
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadTuningConf(args);
  requirePrev(args);
  const sysctls = sysctlTargets(conf, args.ifName);
  using ns = openContainerNetns(args.netns);
  using nl = Netlink.open(ns);
  nl.inNetns(() => {
    for (const s of sysctls) {
      let current: string;
      try {
        current = fs.readFileSync(s.file, 'utf8');
      } catch (err) {
        throw sysctlError('open', s.file, s.key, err);
      }
      if (current.endsWith('\n')) current = current.slice(0, -1);
      if (current !== s.value) throw checkFailed(`Error: Tuning configured value of ${s.file} is ${s.value}, current value is ${current}`);
    }
  });
  const link = nl.findLink(args.ifName);
  if (!link) throw checkFailed(`Cannot find container link ${args.ifName}`);
  const ifn = args.ifName;
  if (conf.mac !== undefined && conf.mac !== (link.mac ?? '')) {
    throw checkFailed(`Error: Tuning configured Ethernet of ${ifn} is ${conf.mac}, current value is ${link.mac ?? ''}`);
  }
  // promisc false means "off": the reference's CHECK also fails a link someone made promiscuous.
  if (conf.promisc !== isPromisc(link)) {
    throw checkFailed(`Error: Tuning link ${ifn} configured promisc is ${conf.promisc}, current value is ${isPromisc(link) ? 1 : 0}`);
  }
  if (conf.mtu !== 0 && conf.mtu !== link.mtu) {
    throw checkFailed(`Error: Tuning configured MTU of ${ifn} is ${conf.mtu}, current value is ${link.mtu}`);
  }
  if (conf.allmulti !== undefined && conf.allmulti !== isAllmulti(link)) {
    throw checkFailed(`Error: Tuning configured all-multicast mode of ${ifn} is ${conf.allmulti}, current value is ${isAllmulti(link)}`);
  }
  if (conf.txQLen !== undefined && conf.txQLen !== link.txQLen) {
    throw checkFailed(`Error: Tuning configured Transmit Queue Length of ${ifn} is ${conf.txQLen}, current value is ${link.txQLen}`);
  }
}

export const plugin: Plugin = { name: 'tuning', description: 'CNI tuning plugin', resultAddresses: 'prevResult', add, del, check, gc };
