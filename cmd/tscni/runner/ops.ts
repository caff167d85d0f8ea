// The list operations with libcni's semantics (AddNetworkList, CheckNetworkList, DelNetworkList,
// GCNetworkList, GetStatusNetworkList). Every plugin runs as its own process found on CNI_PATH
// (shared/cni/delegate.ts: argument array, CNI_* env, config on stdin), as libcni's invoke does,
// never in-process: the runner drives any plugin binaries, the Go reference's included.
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus } from '../../../shared/cni/delegate.js';
import { CniError } from '../../../shared/cni/errors.js';
import { fromJSON, toVersion } from '../../../shared/cni/convert.js';
import type { JsonObject } from '../../../shared/cni/fold.js';
import type { Attachment } from '../../../shared/cni/types.js';
import { versionAtLeast } from '../../../shared/cni/versions.js';
import { readCachedResult, removeCache, writeCache, type AttachmentKey } from './cache.js';
import { describePlugin, pluginConfig, pluginType, type NetworkList } from './conf.js';
import { RunnerError } from './errors.js';

/** One attachment's runtime parameters (libcni's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifName: string;
  cniArgs: [string, string][];
  capabilityArgs: JsonObject;
}

export interface Context {
  cniPath: string[];
  cacheDir: string;
  /** The environment plugins inherit (CNI_* are set on top of it). */
  baseEnv: NodeJS.ProcessEnv;
}

type Verb = 'add' | 'check' | 'delete' | 'gc' | 'status';

function pluginEnv(ctx: Context, rt: RuntimeConf | undefined): NodeJS.ProcessEnv {
  return {
    ...ctx.baseEnv,
    CNI_CONTAINERID: rt?.containerId ?? '',
    CNI_NETNS: rt?.netns ?? '',
    CNI_IFNAME: rt?.ifName ?? '',
    CNI_ARGS: (rt?.cniArgs ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: ctx.cniPath.join(':'),
  };
}

/** libcni's wording, plus the plugin's error code: `plugin type="portmap" failed (add): [code 7] ...`. */
function pluginFailed(plugin: JsonObject, verb: Verb, e: unknown): RunnerError {
  if (e instanceof CniError) {
    const text = e.details ? `${e.msg}; ${e.details}` : e.msg;
    return new RunnerError(`plugin ${describePlugin(plugin)} failed (${verb}): [code ${e.code}] ${text}`, e.code);
  }
  return new RunnerError(`plugin ${describePlugin(plugin)} failed (${verb}): ${(e as Error).message}`);
}

const stdin = (conf: JsonObject): Buffer => Buffer.from(JSON.stringify(conf));

/** A raw result (cached, or from any version) as the list's version, as libcni's GetAsVersion. */
export function asListVersion(raw: JsonObject, list: NetworkList): JsonObject {
  const own = typeof raw['cniVersion'] === 'string' && raw['cniVersion'] !== '' ? raw['cniVersion'] : list.cniVersion;
  try {
    return toVersion(fromJSON(raw, own), list.cniVersion) as unknown as JsonObject;
  } catch (e) {
    const why = e instanceof CniError ? e.msg : (e as Error).message;
    throw new RunnerError(`failed to convert cached result to config version "${list.cniVersion}": ${why}`);
  }
}

const keyOf = (list: NetworkList, rt: RuntimeConf): AttachmentKey => ({ network: list.name, containerId: rt.containerId, ifName: rt.ifName });

function validateRuntime(list: NetworkList, rt: RuntimeConf): void {
  // libcni's utils.ValidateContainerID / ValidateNetworkName / ValidateInterfaceName, in short.
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(rt.containerId)) throw new RunnerError(`invalid characters in containerID "${rt.containerId}"`);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(list.name)) throw new RunnerError(`invalid characters found in network name "${list.name}"`);
  if (rt.ifName === '' || rt.ifName.length > 15 || rt.ifName === '.' || rt.ifName === '..' || /[/:\s]/.test(rt.ifName)) {
    throw new RunnerError(`interface name "${rt.ifName}" is not valid`);
  }
}

/** ADD: every plugin in order, each given the previous one's result; the final result is cached. */
export async function addList(ctx: Context, list: NetworkList, rt: RuntimeConf): Promise<JsonObject> {
  validateRuntime(list, rt);
  let prev: JsonObject | undefined;
  const env = pluginEnv(ctx, rt);
  for (const plugin of list.plugins) {
    try {
      const result = await delegateAdd(pluginType(plugin), stdin(pluginConfig(list, plugin, prev, rt.capabilityArgs)), env, {});
      prev = toVersion(result, list.cniVersion) as unknown as JsonObject;
    } catch (e) {
      throw pluginFailed(plugin, 'add', e);
    }
  }
  const result = prev ?? {};
  try {
    writeCache(ctx.cacheDir, { ...keyOf(list, rt), listBytes: list.bytes, netns: rt.netns, cniArgs: rt.cniArgs, capabilityArgs: rt.capabilityArgs, result });
  } catch (e) {
    throw new RunnerError(`failed to set network "${list.name}" cached result: ${(e as Error).message}`);
  }
  return result;
}

function cachedPrevResult(ctx: Context, list: NetworkList, rt: RuntimeConf): JsonObject | undefined {
  const raw = readCachedResult(ctx.cacheDir, keyOf(list, rt));
  return raw === undefined ? undefined : asListVersion(raw, list);
}

/** CHECK: needs cniVersion >= 0.4.0; skipped for disableCheck; every plugin gets the cached result. */
export async function checkList(ctx: Context, list: NetworkList, rt: RuntimeConf): Promise<void> {
  if (!versionAtLeast(list.cniVersion || '0.1.0', '0.4.0')) {
    throw new RunnerError(`configuration version "${list.cniVersion}" does not support the CHECK command`);
  }
  if (list.disableCheck) return;
  const prev = cachedPrevResult(ctx, list, rt);
  const env = pluginEnv(ctx, rt);
  for (const plugin of list.plugins) {
    try {
      await delegateCheck(pluginType(plugin), stdin(pluginConfig(list, plugin, prev, rt.capabilityArgs)), env, {});
    } catch (e) {
      throw pluginFailed(plugin, 'check', e);
    }
  }
}

/**
 * DEL: plugins in reverse order with the cached result (0.4.0+); the cache entry goes last.
 * `prevOverride` stands in for a cache entry that is lost (gc --stale rebuilds one from the leases).
 */
export async function delList(ctx: Context, list: NetworkList, rt: RuntimeConf, prevOverride?: JsonObject): Promise<void> {
  let prev: JsonObject | undefined = prevOverride;
  if (prev === undefined && versionAtLeast(list.cniVersion || '0.1.0', '0.4.0')) {
    try {
      prev = cachedPrevResult(ctx, list, rt);
    } catch {
      // libcni: an unreadable cache entry is dropped and DEL goes on without prevResult.
      removeCache(ctx.cacheDir, keyOf(list, rt));
      prev = undefined;
    }
  }
  const env = pluginEnv(ctx, rt);
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await delegateDel(pluginType(plugin), stdin(pluginConfig(list, plugin, prev, rt.capabilityArgs)), env, {});
    } catch (e) {
      throw pluginFailed(plugin, 'delete', e);
    }
  }
  if (rt.containerId !== '' && rt.ifName !== '') removeCache(ctx.cacheDir, keyOf(list, rt));
}

export const gcSupported = (list: NetworkList): boolean => versionAtLeast(list.cniVersion || '0.1.0', '1.1.0');

/**
 * The GC half of libcni's GCNetworkList: every plugin gets GC with cni.dev/valid-attachments (no
 * container ID, netns or ifname in the env). All plugins run; the failures are reported together.
 */
export async function gcPlugins(ctx: Context, list: NetworkList, valid: Attachment[]): Promise<void> {
  const env = pluginEnv(ctx, undefined);
  const failures: RunnerError[] = [];
  for (const plugin of list.plugins) {
    const conf: JsonObject = { ...plugin, name: list.name, cniVersion: list.cniVersion, 'cni.dev/valid-attachments': valid };
    try {
      await delegateGc(pluginType(plugin), stdin(conf), env, {});
    } catch (e) {
      failures.push(pluginFailed(plugin, 'gc', e));
    }
  }
  if (failures.length > 0) throw new RunnerError(failures.map((f) => f.message).join('\n'), failures[0]?.cniCode);
}

/** STATUS: nothing to ask below 1.1.0 (libcni answers "ready"); the first failing plugin is the answer. */
export async function statusList(ctx: Context, list: NetworkList): Promise<boolean> {
  if (!gcSupported(list)) return false;
  const env = pluginEnv(ctx, undefined);
  for (const plugin of list.plugins) {
    const conf: JsonObject = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    try {
      await delegateStatus(pluginType(plugin), stdin(conf), env, {});
    } catch (e) {
      throw pluginFailed(plugin, 'status', e);
    }
  }
  return true;
}
