// flannel: a meta plugin. It reads the node's lease from subnet.env (written by flanneld or
// `tscni overlay`), builds a delegate config (bridge + host-local on the node's subnet, routes to
// the whole cluster network), saves it under dataDir/<containerID> and runs the delegate. DEL
// replays the saved config, so it tears down exactly what ADD set up (REFERENCE-flannel.md §1).
import { delegateAdd, delegateCheck, delegateDel, delegateGc } from '../../shared/cni/delegate.js';
import { checkFailed, CniError, ErrorCode } from '../../shared/cni/errors.js';
import { isJsonObject, type JsonObject } from '../../shared/cni/fold.js';
import { goJSONCompact } from '../../shared/cni/json-out.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { Result } from '../../shared/cni/types.js';
import { errorText } from '../../shared/sys/error-text.js';
import { writeStderr } from '../../shared/sys/stdio.js';
import { checkDelegateMap, loadConf } from './config.js';
import { buildDelegate, sortKeysDeep } from './delegate-conf.js';
import { listSaved, readDelegateConf, removeDelegateConf, saveDelegateConf } from './saved.js';
import { loadSubnetEnv, type SubnetEnv, SubnetEnvSyntaxError } from './subnet-env.js';

/**
 * subnet.env as a CNI error. A missing file means the agent has not (yet) leased a subnet on this
 * node: code 11, try again later. A file we cannot read or parse: code 5. Wording as the reference.
 */
function subnetEnvError(file: string, err: unknown): CniError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? `open ${file}: no such file or directory` : e.code === 'EACCES' ? `open ${file}: permission denied` : errorText(err);
  const msg = `failed to load flannel 'subnet.env' file: ${why}. Check the flannel pod log for this node.`;
  if (e.code === 'ENOENT') return new CniError(ErrorCode.TryAgainLater, msg, file);
  return new CniError(ErrorCode.IOFailure, msg, err instanceof SubnetEnvSyntaxError ? '' : file);
}

function readSubnetEnv(file: string): SubnetEnv {
  try {
    return loadSubnetEnv(file);
  } catch (err) {
    throw subnetEnvError(file, err);
  }
}

/** The saved delegate config and its type, or undefined when there is none to replay. */
function savedDelegate(dataDir: string, containerID: string): { bytes: Buffer; conf: JsonObject; type: string } | undefined {
  const bytes = readDelegateConf(dataDir, containerID);
  if (!bytes) return undefined;
  let conf: unknown;
  try {
    conf = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    // The reference logs this and succeeds, keeping the file for a person to look at.
    writeStderr(`flannel: ${dataDir}/${containerID}: failed to parse the saved delegate config: ${errorText(err)}\n`);
    return undefined;
  }
  if (!isJsonObject(conf) || typeof conf['type'] !== 'string') {
    writeStderr(`flannel: ${dataDir}/${containerID}: the saved delegate config has no (string) type\n`);
    return undefined;
  }
  return { bytes, conf, type: conf['type'] };
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdinData);
  checkDelegateMap(conf.delegate);
  const env = readSubnetEnv(conf.subnetFile);
  const delegate = buildDelegate(conf, env);
  const bytes = goJSONCompact(sortKeysDeep(delegate));
  // Saved before the delegate runs: a delegate that fails half-way is undone by DEL replaying it.
  saveDelegateConf(conf.dataDir, args.containerID, bytes);
  try {
    return await delegateAdd(delegate['type'] as string, Buffer.from(bytes), args.env);
  } catch (err) {
    await undoFailedAdd(conf.dataDir, args, delegate['type'] as string, bytes);
    if (err instanceof CniError) throw new CniError(err.code, `failed to delegate add: ${err.msg}`, err.details);
    throw err;
  }
}

/**
 * A failed ADD leaves nothing when it can: the delegate's DEL with the saved config, then the saved
 * file. If that DEL fails too (the same bad input often breaks both), the file stays, as in the
 * reference, so the runtime's own DEL after the failed ADD can still replay it.
 */
async function undoFailedAdd(dataDir: string, args: CmdArgs, type: string, bytes: string): Promise<void> {
  try {
    await delegateDel(type, Buffer.from(bytes), args.env);
  } catch (delErr) {
    writeStderr(`flannel: undoing the failed ADD: ${errorText(delErr)}; ${dataDir}/${args.containerID} kept for the runtime's DEL\n`);
    return;
  }
  removeDelegateConf(dataDir, args.containerID);
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const saved = savedDelegate(conf.dataDir, args.containerID);
  if (!saved) return;
  await delegateDel(saved.type, saved.bytes, args.env);
  // Removed only after the delegate succeeded, so a retried DEL can still replay it.
  removeDelegateConf(conf.dataDir, args.containerID);
}

/** The reference's CHECK does nothing; ours runs the delegate's CHECK on the saved config with prevResult. */
async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const saved = savedDelegate(conf.dataDir, args.containerID);
  if (!saved) throw checkFailed(`flannel: no saved delegate config ${conf.dataDir}/${args.containerID}`);
  const stdin = JSON.parse(args.stdinData.toString('utf8')) as JsonObject;
  const withPrev: JsonObject = { ...saved.conf };
  const prev = Object.entries(stdin).find(([k]) => k.toLowerCase() === 'prevresult');
  if (prev) withPrev['prevResult'] = prev[1];
  await delegateCheck(saved.type, Buffer.from(goJSONCompact(withPrev)), args.env);
}

/**
 * GC (the reference has none): the delegate's GC runs once on a saved config of this network with
 * the valid attachments (so host-local releases leaked addresses), then saved configs of
 * containers that are no longer valid are removed.
 */
async function gc(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const valid = new Set((args.validAttachments ?? []).map((a) => a.containerID));
  const stale: string[] = [];
  let sample: { conf: JsonObject; type: string } | undefined;
  for (const id of listSaved(conf.dataDir)) {
    const saved = savedDelegate(conf.dataDir, id);
    if (!saved || saved.conf['name'] !== conf.name) continue;
    sample ??= saved;
    if (!valid.has(id)) stale.push(id);
  }
  if (sample) {
    const gcConf: JsonObject = { ...sample.conf, cniVersion: args.cniVersion, 'cni.dev/valid-attachments': args.validAttachments ?? [] };
    await delegateGc(sample.type, Buffer.from(goJSONCompact(gcConf)), args.env);
  }
  for (const id of stale) removeDelegateConf(conf.dataDir, id);
}

/** Not ready while subnet.env is missing or incomplete (the node agent has no lease yet). */
async function status(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  try {
    loadSubnetEnv(conf.subnetFile);
  } catch (err) {
    throw new CniError(ErrorCode.NotAvailable, subnetEnvError(conf.subnetFile, err).msg, conf.subnetFile);
  }
}

// The delegate always gets host-local IPAM on the node's subnet, so the result always has an IP.
export const plugin: Plugin = { name: 'flannel', description: 'CNI flannel plugin', resultAddresses: 'self', add, del, check, gc, status };
