// The skeleton every plugin runs under: CNI_* environment + stdin -> one Plugin method -> stdout.
// Mirrors libcni's pkg/skel: same checks, same order, same codes and messages; it returns the
// exit code instead of exiting so it can also run a delegate in-process (delegate.ts).
import { readFileSync, statSync } from 'node:fs';
import { SysError } from '../sys/libc.js';
import { writeStderr, writeStdout } from '../sys/stdio.js';
import { TSCNI_VERSION } from './about.js';
import { parsePrevResult, formatResult } from './convert.js';
import { CniError, ErrorCode } from './errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';
import { describeValue, foldGet, isJsonObject, jsonTypeName, type JsonObject } from './fold.js';
import { goJSONCompact, goJSONIndent } from './json-out.js';
import type { CmdArgs, Command, Plugin } from './plugin.js';
import type { Attachment, Result } from './types.js';
import { tracePhase } from '../sys/trace.js';
import {
  CURRENT_VERSION,
  MIN_VERSION_FOR,
  SUPPORTED_VERSIONS,
  effectiveVersion,
  incompatibleVersionDetails,
  versionAtLeast,
} from './versions.js';
import { errorText } from '../sys/error-text.js';

export interface SkelIO {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** The config; read from fd 0 only when the command needs it. */
  stdin?: Buffer | (() => Buffer);
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

type PluginCommand = Exclude<Command, 'VERSION'>;

/** Environment variables each command requires (libcni skel's table), in the order they are reported. */
const ENV_VARS = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;
const REQUIRED: Record<Command, ReadonlySet<string>> = {
  ADD: new Set(['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']),
  CHECK: new Set(['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']),
  DEL: new Set(['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH']),
  GC: new Set(['CNI_COMMAND', 'CNI_PATH']),
  STATUS: new Set(['CNI_COMMAND', 'CNI_PATH']),
  VERSION: new Set(['CNI_COMMAND']),
};

/** containerID and network name rule of libcni (utils.cniValidNameChars). */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_IFNAME_LENGTH = 15;

function isCommand(s: string): s is Command {
  return Object.hasOwn(REQUIRED, s);
}

export function validateContainerID(id: string): void {
  if (id === '') throw new CniError(ErrorCode.UnknownContainer, 'missing containerID');
  if (!VALID_NAME.test(id)) throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'invalid characters in containerID', id);
}

/**
 * The kernel's dev_valid_name() rules, as libcni checks them. msg is libcni's; details name the
 * variable and its value (libcni's details for the length, then the value).
 */
export function validateInterfaceName(name: string): void {
  const got = `CNI_IFNAME=${JSON.stringify(name)}`;
  const bad = (msg: string, details = got): CniError => new CniError(ErrorCode.InvalidEnvironmentVariables, msg, details);
  if (name.length === 0) throw bad('interface name is empty');
  // Go counts bytes, not UTF-16 units.
  if (Buffer.byteLength(name) > MAX_IFNAME_LENGTH) {
    throw bad('interface name is too long', `interface name should be less than ${MAX_IFNAME_LENGTH + 1} characters, got ${got}`);
  }
  if (name === '.' || name === '..') throw bad('interface name is . or ..');
  if (/[/:\s]/u.test(name)) throw bad('interface name contains / or : or whitespace characters');
}

export function validateNetworkName(name: string): void {
  if (name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  if (!VALID_NAME.test(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid characters found in network name', name);
  }
}

/** Parses stdin as the skel does before anything else: JSON with a valid network name. */
function decodeConfig(stdinData: Buffer): JsonObject {
  let parsed: unknown;
  const text = stdinData.toString('utf8');
  if (exceedsJsonDepth(text)) {
    throw new CniError(ErrorCode.DecodingFailure, 'error unmarshall network config: exceeded max depth', `nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${(e as Error).message}`);
  }
  // Go decodes `null` into the empty struct: that is a missing name, not a decoding error.
  const conf: JsonObject = parsed === null ? {} : (parsed as JsonObject);
  if (!isJsonObject(conf)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error unmarshall network config: cannot unmarshal ${jsonTypeName(parsed)} into a network config object`,
    );
  }
  const name = foldGet(conf, 'name');
  if (name !== undefined && typeof name !== 'string') {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error unmarshall network config: cannot unmarshal ${jsonTypeName(name)} into field name of type string`,
    );
  }
  validateNetworkName(name ?? '');
  validatePluginType(foldGet(conf, 'type'));
  return conf;
}

/**
 * `type` is required by the spec (it names the executable). Checked here, once for every plugin and
 * every command, so a config without it is refused before any plugin code runs.
 */
export function validatePluginType(type: unknown): void {
  if (type === undefined || type === null) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid config: type: is required');
  if (typeof type !== 'string') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: type: must be string, got ${describeValue(type)}`);
  }
  if (type === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid config: type: must not be empty, got ""');
}

/** libcni's ConfigDecoder: the config's cniVersion, '' meaning 0.1.0. */
function configVersionOf(conf: JsonObject): string {
  const v = foldGet(conf, 'cniVersion');
  if (v !== undefined && typeof v !== 'string') {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `decoding version from network config: cannot unmarshal ${jsonTypeName(v)} into field cniVersion of type string`,
    );
  }
  return effectiveVersion(v);
}

/** The version gate of CHECK/GC/STATUS, then the plain "supported version" reconciliation. */
function checkVersion(command: PluginCommand, version: string, supported: readonly string[]): void {
  if (command === 'CHECK' || command === 'GC' || command === 'STATUS') {
    if (!versionAtLeast(version, MIN_VERSION_FOR[command])) {
      throw new CniError(ErrorCode.IncompatibleCNIVersion, `config version does not allow ${command}`, `CNI version ${JSON.stringify(version)}`);
    }
    if (!supported.some((v) => versionAtLeast(v, version))) {
      throw new CniError(ErrorCode.IncompatibleCNIVersion, `plugin version does not allow ${command}`, `CNI version ${JSON.stringify(version)}`);
    }
  }
  if (!supported.includes(version)) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, 'incompatible CNI versions', incompatibleVersionDetails(version, supported));
  }
}

function decodeAttachments(conf: JsonObject): Attachment[] {
  const raw = foldGet(conf, 'cni.dev/valid-attachments');
  if (raw === undefined) return [];
  const field = 'cni.dev/valid-attachments';
  const invalid = (path: string, want: string, v: unknown): CniError =>
    new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: ${path}: must be ${want}, got ${describeValue(v)}`);
  if (!Array.isArray(raw)) throw invalid(field, 'array', raw);
  return raw.map((item: unknown, i) => {
    if (!isJsonObject(item)) throw invalid(`${field}[${i}]`, 'object', item);
    const containerID = foldGet(item, 'containerID') ?? '';
    const ifname = foldGet(item, 'ifname') ?? '';
    if (typeof containerID !== 'string') throw invalid(`${field}[${i}].containerID`, 'string', containerID);
    if (typeof ifname !== 'string') throw invalid(`${field}[${i}].ifname`, 'string', ifname);
    return { containerID, ifname };
  });
}

/** True when `netnsPath` is the namespace this process runs in (dev+inode of the nsfs file). */
function isOwnNetns(netnsPath: string): boolean {
  if (netnsPath === '') return false;
  try {
    const target = statSync(netnsPath);
    const own = statSync('/proc/self/ns/net');
    return target.dev === own.dev && target.ino === own.ino;
  } catch {
    // libcni: a path that cannot be opened as a netns is "not the plugin's netns".
    return false;
  }
}

function netnsOverridden(value: string): boolean {
  return value === '1' || value.toLowerCase() === 'true';
}

function aboutText(plugin: Plugin, supported: readonly string[]): string {
  return `CNI ${plugin.name} plugin v${TSCNI_VERSION}\nCNI protocol versions supported: ${supported.join(', ')}\n`;
}

function readStdin(source: SkelIO['stdin']): Buffer {
  try {
    if (Buffer.isBuffer(source)) return source;
    if (typeof source === 'function') return source();
    // Synchronous on purpose: one small document, and only for commands that take a config.
    return readFileSync(0);
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(ErrorCode.IOFailure, `error reading from stdin: ${(e as Error).message}`);
  }
}

/** One invocation, everything but the error printing; returns the exit code. */
async function dispatch(plugin: Plugin, io: SkelIO, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const env = io.env ?? process.env;
  const get = (name: string): string => env[name] ?? '';
  const supported = plugin.supportedVersions ?? SUPPORTED_VERSIONS;
  const command = get('CNI_COMMAND');

  if (command === '') {
    err(aboutText(plugin, supported));
    return 0;
  }
  // Deviation, on purpose: libcni validates the config and containerID before noticing an unknown
  // command (so it reports "missing containerID"); we name the actual problem.
  if (!isCommand(command)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${command}`);
  }
  const missing = ENV_VARS.filter((name) => REQUIRED[command].has(name) && get(name) === '');
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `required env variables [${missing.join(',')}] missing`);
  }
  if (command === 'VERSION') {
    out(`${goJSONCompact({ cniVersion: CURRENT_VERSION, supportedVersions: supported })}\n`);
    return 0;
  }

  const stdinData = readStdin(io.stdin);
  const conf = decodeConfig(stdinData);
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    validateContainerID(get('CNI_CONTAINERID'));
    validateInterfaceName(get('CNI_IFNAME'));
  }
  const cniVersion = configVersionOf(conf);
  checkVersion(command, cniVersion, supported);

  const args: CmdArgs = {
    command,
    containerID: get('CNI_CONTAINERID'),
    netns: get('CNI_NETNS'),
    ifName: get('CNI_IFNAME'),
    args: get('CNI_ARGS'),
    path: get('CNI_PATH'),
    stdinData,
    cniVersion,
    env,
  };
  const rawPrev = foldGet(conf, 'prevResult');
  if (rawPrev !== undefined) {
    try {
      args.prevResult = parsePrevResult(rawPrev, cniVersion);
    } catch (e) {
      const msg = `could not parse prevResult: ${e instanceof CniError ? e.msg : (e as Error).message}`;
      // DEL is best effort (spec): a prevResult we cannot read must not block the teardown.
      if (command !== 'DEL') throw new CniError(ErrorCode.DecodingFailure, msg);
      err(`${plugin.name}: ignoring prevResult on DEL: ${msg}\n`);
    }
  }
  if (command === 'GC') args.validAttachments = decodeAttachments(conf);

  if (command === 'ADD') refuseInexpressibleResult(plugin, conf, args);
  // Before the work, not after it as libcni does: an ADD or DEL aimed at the plugin's own netns
  // would otherwise create (or delete) the interface on the node and only then be refused.
  if (command === 'ADD' || command === 'DEL') ensureForeignNetns(args.netns, get('CNI_NETNS_OVERRIDE'));

  // TSCNI_TRACE=1: the same two marks for every plugin, so per-call plugin time can be compared.
  tracePhase(plugin.name, `${command} start`);
  switch (command) {
    case 'ADD': {
      const result = await plugin.add(args);
      // Convert before the netns check so a result that cannot be expressed fails first.
      const text = await formatOrUndo(plugin, args, result, err);
      tracePhase(plugin.name, 'ADD done');
      out(text);
      return 0;
    }
    case 'DEL':
      await plugin.del(args);
      tracePhase(plugin.name, 'DEL done');
      return 0;
    case 'CHECK':
      await plugin.check(args);
      return 0;
    case 'GC':
      // No handler: success without output, as libcni's skel does.
      if (plugin.gc) await plugin.gc(args);
      return 0;
    case 'STATUS':
      if (plugin.status) await plugin.status(args);
      return 0;
  }
}

/**
 * A 0.1.0/0.2.0 result must carry an IP address (it has no interfaces list to say anything else).
 * Refused here, before the plugin runs, when the result's addresses would come from an ipam section
 * or a prevResult and there is neither an ipam type nor a prevResult with an IP: otherwise the
 * plugin would move or create the interface and only then fail converting its result.
 */
function refuseInexpressibleResult(plugin: Plugin, conf: JsonObject, args: CmdArgs): void {
  const source = plugin.resultAddresses ?? 'ipam';
  if (source === 'self' || versionAtLeast(args.cniVersion, '0.3.0')) return;
  // A chained plugin without prevResult refuses the config itself, in the reference's words.
  if (source === 'prevResult' && args.prevResult === undefined) return;
  const ipam = foldGet(conf, 'ipam');
  const ipamType = isJsonObject(ipam) ? foldGet(ipam, 'type') : undefined;
  if (typeof ipamType === 'string' && ipamType !== '') return;
  if (args.prevResult?.ips?.length) return;
  throw new CniError(
    ErrorCode.IncompatibleCNIVersion,
    'cannot convert: no valid IP addresses',
    `a cniVersion ${JSON.stringify(args.cniVersion)} result must carry an IP address, and this config has neither an ipam type nor a prevResult with IPs`,
  );
}

/**
 * The ADD result printed in the config's version. Should it still not convert (the pre-check above
 * covers every case known), the attachment is torn down with the plugin's own DEL so that a failed
 * ADD leaves nothing behind, as the spec asks.
 */
async function formatOrUndo(plugin: Plugin, args: CmdArgs, result: Result, err: (s: string) => void): Promise<string> {
  try {
    return formatResult(result, args.cniVersion);
  } catch (e) {
    try {
      await plugin.del({ ...args, command: 'DEL' });
    } catch (undoError) {
      err(`${plugin.name}: undoing the ADD after a failed result conversion: ${errorText(undoError)}\n`);
    }
    throw e;
  }
}

/**
 * libcni's check that CNI_NETNS is not the plugin's own netns (code 8). libcni runs it after the
 * command did its work; we run it before (see dispatch). CNI_NETNS_OVERRIDE=1/true skips it (tests).
 */
function ensureForeignNetns(netns: string, override: string): void {
  if (netnsOverridden(override)) return;
  if (isOwnNetns(netns)) {
    throw new CniError(ErrorCode.InvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}

/**
 * Runs `plugin` for the invocation described by `io` (defaults: process env, fd 0, stdout and
 * stderr) and returns the exit code; the caller exits. stdout carries only the result or the
 * error object: a CniError prints as itself, a kernel refusal (a SysError/NetlinkError, possibly
 * wrapped as a `cause`) as code 100, any other exception as code 999 with its message (its stack
 * goes to stderr only).
 */
/** True when `e`, or an error in its `cause` chain, is a failed system call or netlink request. */
function causedByKernel(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 8; cur = cur.cause, depth++) {
    if (cur instanceof SysError) return true;
  }
  return false;
}

export async function runSkel(plugin: Plugin, io: SkelIO = {}): Promise<number> {
  const out = io.stdout ?? writeStdout;
  const err = io.stderr ?? writeStderr;
  try {
    return await dispatch(plugin, io, out, err);
  } catch (e) {
    let error: CniError;
    if (e instanceof CniError) {
      error = e;
    } else if (causedByKernel(e)) {
      // A refusal from the kernel is an answer about the node, not a bug in the plugin.
      error = new CniError(ErrorCode.KernelRefused, errorText(e));
    } else {
      const message = errorText(e);
      error = new CniError(ErrorCode.Internal, message);
      err(`${plugin.name}: internal error: ${e instanceof Error && e.stack ? e.stack : message}\n`);
    }
    out(goJSONIndent(error.toJSON()));
    return 1;
  }
}
