// Network configuration loading with libcni's rules (libcni/conf.go): .conflist files sorted by
// name first, then .conf/.json files (a single plugin, "upconverted" to a one-plugin list); the
// first whose name matches wins; `cniVersions` picks the newest version not newer than ours;
// disableCheck/disableGC/loadOnlyInlinedPlugins read as booleans or "true"/"false" strings; unless
// loadOnlyInlinedPlugins, plugins in <dir>/<network>/*.conf are appended to the list.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isJsonObject, type JsonObject } from '../../../shared/cni/fold.js';
import { CURRENT_VERSION, compareVersions } from '../../../shared/cni/versions.js';
import { RunnerError } from './errors.js';

export interface NetworkList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  /** Each plugin's config object as written (type checked non-empty). */
  plugins: JsonObject[];
  /** The bytes libcni caches as the list's config (the file, or the upconverted .conf). */
  bytes: Buffer;
  /** The file it came from. */
  file: string;
}

/** libcni's ConfFiles: regular entries (not directories) of `dir` with one of the extensions; none if dir is missing. */
export function confFiles(dir: string, extensions: readonly string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RunnerError(`cannot read ${dir}: ${(e as Error).message}`);
  }
  const out: string[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(full).isDirectory();
    } catch {
      continue;
    }
    if (!isDir && extensions.includes(path.extname(name))) out.push(full);
  }
  // Go's sort.Strings: byte order, which is what < on JS strings gives for ASCII names.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function parseJson(bytes: Buffer, what: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new RunnerError(`error parsing ${what}: ${(e as Error).message}`);
  }
  if (!isJsonObject(v)) throw new RunnerError(`error parsing ${what}: not a JSON object`);
  return v;
}

/** libcni's readBool: absent is false; a boolean, or the strings "true"/"false" in any case. */
function readBool(raw: JsonObject, key: string): boolean {
  const v = raw[key];
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') throw new RunnerError(`error parsing configuration list: invalid type ${typeof v} for ${key}`);
  const s = v.toLowerCase();
  if (s === 'true' || s === 'false') return s === 'true';
  throw new RunnerError(`error parsing configuration list: invalid value "${s}" for ${key}`);
}

/** The version a list runs at: the newest of cniVersion and cniVersions[] that is not newer than ours. */
export function chooseVersion(cniVersion: string, cniVersions: readonly string[] | undefined, current = CURRENT_VERSION): string {
  if (cniVersions === undefined) return cniVersion;
  const usable = (v: string): boolean => compareVersions(v, current) <= 0;
  const vs = cniVersions.filter(usable);
  if (cniVersion !== '' && usable(cniVersion)) vs.push(cniVersion);
  if (vs.length === 0) return cniVersion;
  return vs.reduce((a, b) => (compareVersions(b, a) > 0 ? b : a));
}

function pluginFrom(v: unknown, where: string): JsonObject {
  if (!isJsonObject(v)) throw new RunnerError(`failed to parse plugin config ${where}: not a JSON object`);
  if (typeof v['type'] !== 'string' || v['type'] === '') throw new RunnerError(`failed to parse plugin config ${where}: missing 'type'`);
  return v;
}

/** libcni's NetworkConfFromBytes (without the <dir>/<network>/*.conf plugins). */
export function parseNetworkList(bytes: Buffer, file = '<bytes>'): NetworkList {
  const raw = parseJson(bytes, `configuration list ${file}`);
  const name = raw['name'];
  if (name === undefined) throw new RunnerError(`error parsing configuration list ${file}: no name`);
  if (typeof name !== 'string') throw new RunnerError(`error parsing configuration list ${file}: invalid name type ${typeof name}`);
  const rawVersion = raw['cniVersion'] ?? '';
  if (typeof rawVersion !== 'string') throw new RunnerError(`error parsing configuration list ${file}: invalid cniVersion type ${typeof rawVersion}`);
  let versions: string[] | undefined;
  if (raw['cniVersions'] !== undefined) {
    const rv = raw['cniVersions'];
    if (!Array.isArray(rv) || rv.some((v) => typeof v !== 'string')) {
      throw new RunnerError(`error parsing configuration list ${file}: cniVersions must be a list of strings`);
    }
    versions = rv as string[];
  }
  const loadOnlyInlinedPlugins = readBool(raw, 'loadOnlyInlinedPlugins');
  const list: NetworkList = {
    name,
    cniVersion: chooseVersion(rawVersion, versions),
    disableCheck: readBool(raw, 'disableCheck'),
    disableGC: readBool(raw, 'disableGC'),
    loadOnlyInlinedPlugins,
    plugins: [],
    bytes,
    file,
  };
  const plugins = raw['plugins'];
  if (plugins === undefined) {
    if (loadOnlyInlinedPlugins) throw new RunnerError(`error parsing configuration list ${file}: \`loadOnlyInlinedPlugins\` is true, and no 'plugins' key`);
    return list;
  }
  if (!Array.isArray(plugins)) throw new RunnerError(`error parsing configuration list ${file}: invalid 'plugins' type`);
  if (plugins.length === 0) throw new RunnerError(`error parsing configuration list ${file}: no plugins in list`);
  list.plugins = plugins.map((p, i) => pluginFrom(p, String(i)));
  return list;
}

/** A .conf/.json single-plugin config as libcni's ConfListFromConf makes it: a one-plugin list. */
export function listFromSingleConf(bytes: Buffer, file: string): NetworkList {
  const conf = pluginFrom(parseJson(bytes, `configuration ${file}`), file);
  const name = typeof conf['name'] === 'string' ? conf['name'] : '';
  const cniVersion = typeof conf['cniVersion'] === 'string' ? conf['cniVersion'] : '';
  const upconverted = Buffer.from(JSON.stringify({ cniVersion, name, plugins: [conf] }));
  return { ...parseNetworkList(upconverted, file), file };
}

/** A .conflist file with the plugins libcni adds from <dir>/<network>/*.conf. */
function listFromFile(file: string): NetworkList {
  const list = parseNetworkList(readFileSync(file), file);
  if (!list.loadOnlyInlinedPlugins) {
    for (const f of confFiles(path.join(path.dirname(file), list.name), ['.conf'])) {
      list.plugins.push(pluginFrom(parseJson(readFileSync(f), `plugin config ${f}`), f));
    }
  }
  if (list.plugins.length === 0) throw new RunnerError(`${file}: no plugin configs found`);
  return list;
}

/** libcni's LoadConfList: the network named `name` in `dir`. */
export function loadNetworkList(dir: string, name: string): NetworkList {
  const lists = confFiles(dir, ['.conflist']);
  for (const f of lists) {
    const list = listFromFile(f);
    if (list.name === name) return list;
  }
  const singles = confFiles(dir, ['.conf', '.json']);
  if (singles.length === 0 && lists.length === 0) throw new RunnerError(`no net configurations found in ${dir}`);
  for (const f of singles) {
    const bytes = readFileSync(f);
    const conf = parseJson(bytes, `configuration ${f}`);
    if (conf['name'] === name) return listFromSingleConf(bytes, f);
  }
  throw new RunnerError(`no net configuration with name "${name}" in ${dir}`);
}

/** Every network list in `dir` (for `tscni ls`); unreadable files are skipped and reported. */
export function loadAllLists(dir: string, warn: (msg: string) => void): NetworkList[] {
  const out: NetworkList[] = [];
  for (const f of [...confFiles(dir, ['.conflist']), ...confFiles(dir, ['.conf', '.json'])]) {
    try {
      out.push(f.endsWith('.conflist') ? listFromFile(f) : listFromSingleConf(readFileSync(f), f));
    } catch (e) {
      warn(`skipping ${f}: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * libcni's buildOneConfig: the plugin's config with the list's name and cniVersion, the previous
 * result, and runtimeConfig = the capabilities it declares true that CAP_ARGS carries.
 */
export function pluginConfig(list: NetworkList, plugin: JsonObject, prevResult: JsonObject | undefined, capabilityArgs: JsonObject): JsonObject {
  const conf: JsonObject = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf['prevResult'] = prevResult;
  const rc = runtimeConfigFor(plugin, capabilityArgs);
  if (Object.keys(rc).length > 0) conf['runtimeConfig'] = rc;
  return conf;
}

export function runtimeConfigFor(plugin: JsonObject, capabilityArgs: JsonObject): JsonObject {
  const caps = plugin['capabilities'];
  const rc: JsonObject = {};
  if (!isJsonObject(caps)) return rc;
  for (const [cap, on] of Object.entries(caps)) {
    if (on === true && Object.hasOwn(capabilityArgs, cap)) rc[cap] = capabilityArgs[cap];
  }
  return rc;
}

export const pluginType = (plugin: JsonObject): string => String(plugin['type']);

/** libcni's pluginDescription: type="x", plus name="y" when the plugin config has its own name. */
export function describePlugin(plugin: JsonObject): string {
  const name = plugin['name'];
  return `type="${pluginType(plugin)}"` + (typeof name === 'string' && name !== '' ? ` name="${name}"` : '');
}
