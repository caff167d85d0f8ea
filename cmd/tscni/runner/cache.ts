// libcni's result cache (libcni/api.go cacheAdd/getCachedResult/GetCachedAttachments), same place
// and same JSON, so a node can move between tscni and a libcni runtime (containerd, CRI-O, podman)
// with attachments made by either: <cacheDir>/results/<network>-<containerID>-<ifName>.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { isJsonObject, type JsonObject } from '../../../shared/cni/fold.js';
import { RunnerError } from './errors.js';
import { makeDirectories } from '../../../shared/sys/dirs.js';
import { writeFileAtomic } from '../../../shared/sys/files.js';

export const CACHE_KIND = 'cniCacheV1';

/** The JSON libcni writes (Go field order; `config` is Go's []byte, i.e. base64). */
export interface CacheFile {
  kind: typeof CACHE_KIND;
  containerId: string;
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: JsonObject;
  result?: JsonObject;
}

export interface AttachmentKey {
  network: string;
  containerId: string;
  ifName: string;
}

export const resultsDir = (cacheDir: string): string => path.join(cacheDir, 'results');

export function cacheFilePath(cacheDir: string, k: AttachmentKey): string {
  if (k.network === '' || k.containerId === '' || k.ifName === '') {
    throw new RunnerError(
      `cache file path requires network name ("${k.network}"), container ID ("${k.containerId}"), and interface name ("${k.ifName}")`,
    );
  }
  return path.join(resultsDir(cacheDir), `${k.network}-${k.containerId}-${k.ifName}`);
}

export interface CacheAdd extends AttachmentKey {
  listBytes: Buffer;
  netns: string;
  cniArgs: [string, string][];
  capabilityArgs: JsonObject;
  result: JsonObject;
}

export function writeCache(cacheDir: string, a: CacheAdd): void {
  const file: CacheFile = {
    kind: CACHE_KIND,
    containerId: a.containerId,
    config: a.listBytes.toString('base64'),
    ifName: a.ifName,
    networkName: a.network,
  };
  // Go's omitempty: empty strings, nil/empty slices and maps are left out.
  if (a.netns !== '') file.netns = a.netns;
  if (a.cniArgs.length > 0) file.cniArgs = a.cniArgs;
  if (Object.keys(a.capabilityArgs).length > 0) file.capabilityArgs = a.capabilityArgs;
  file.result = a.result;
  const target = cacheFilePath(cacheDir, a);
  makeDirectories(path.dirname(target), 0o700);
  // Atomic replace: a concurrent reader (a runtime's DEL) never sees half a file.
  writeFileAtomic(target, JSON.stringify(file), 0o600);
}

/** The parsed cache entry, or undefined when there is none (libcni ignores read errors too). */
export function readCache(cacheDir: string, k: AttachmentKey): CacheFile | undefined {
  let text: string;
  try {
    text = readFileSync(cacheFilePath(cacheDir, k), 'utf8');
  } catch {
    return undefined;
  }
  return parseCacheFile(text);
}

/** A cniCacheV1 entry, or undefined for anything else (a legacy bare result is handled by the caller). */
export function parseCacheFile(text: string): CacheFile | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isJsonObject(v) || v['kind'] !== CACHE_KIND) return undefined;
  const str = (key: string): string => (typeof v[key] === 'string' ? (v[key] as string) : '');
  const out: CacheFile = {
    kind: CACHE_KIND,
    containerId: str('containerId'),
    config: str('config'),
    ifName: str('ifName'),
    networkName: str('networkName'),
  };
  if (str('netns') !== '') out.netns = str('netns');
  const args = v['cniArgs'];
  if (Array.isArray(args)) {
    out.cniArgs = args.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string'));
  }
  if (isJsonObject(v['capabilityArgs'])) out.capabilityArgs = v['capabilityArgs'];
  if (isJsonObject(v['result'])) out.result = v['result'];
  return out;
}

/** The raw cached result: a cniCacheV1 entry's `result`, or a legacy file that is the bare result. */
export function readCachedResult(cacheDir: string, k: AttachmentKey): JsonObject | undefined {
  let text: string;
  try {
    text = readFileSync(cacheFilePath(cacheDir, k), 'utf8');
  } catch {
    return undefined;
  }
  const entry = parseCacheFile(text);
  if (entry) return entry.result;
  try {
    const legacy: unknown = JSON.parse(text);
    return isJsonObject(legacy) ? legacy : undefined;
  } catch {
    throw new RunnerError(`failed to get network "${k.network}" cached result: the cache file is not JSON`);
  }
}

export function removeCache(cacheDir: string, k: AttachmentKey): void {
  rmSync(cacheFilePath(cacheDir, k), { force: true });
}

/** GetCachedAttachments: every well-formed cniCacheV1 entry, in file-name order. */
export function listCache(cacheDir: string): CacheFile[] {
  let names: string[];
  try {
    names = readdirSync(resultsDir(cacheDir)).sort();
  } catch {
    return [];
  }
  const out: CacheFile[] = [];
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(path.join(resultsDir(cacheDir), name), 'utf8');
    } catch {
      continue;
    }
    const entry = parseCacheFile(text);
    if (entry && entry.ifName !== '' && entry.networkName !== '') out.push(entry);
  }
  return out;
}
