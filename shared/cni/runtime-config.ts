// Typed, checked access to the runtimeConfig capabilities (CONVENTIONS.md) and the `args.cni`
// convention. Keys are matched like Go's decoder (case-insensitive, last wins, null = absent),
// so they work whether or not the plugin's schema declared them. A value of the wrong type is
// an invalid config (code 7) naming the field.
import { CniError, ErrorCode } from './errors.js';
import { describeValue, foldGet, isJsonObject, type JsonObject } from './fold.js';

/** The parts of a decoded config these accessors read. */
export interface ConfWithRuntime {
  runtimeConfig?: unknown;
  args?: unknown;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface IPRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/** Rates in bit/s, bursts in bits (CONVENTIONS.md). */
export interface BandwidthEntry {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

function invalid(path: string, want: string, v: unknown): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: ${path}: must be ${want}, got ${describeValue(v)}`);
}

function section(conf: ConfWithRuntime, ...path: string[]): JsonObject | undefined {
  let node: unknown = conf as unknown;
  const seen: string[] = [];
  for (const key of path) {
    if (!isJsonObject(node)) return undefined;
    node = foldGet(node, key);
    seen.push(key);
    if (node === undefined) return undefined;
    if (!isJsonObject(node)) throw invalid(seen.join('.'), 'object', node);
  }
  return node as JsonObject;
}

function str(obj: JsonObject, key: string, path: string): string | undefined {
  const v = foldGet(obj, key);
  if (v === undefined || typeof v === 'string') return v;
  throw invalid(path, 'string', v);
}

function int(obj: JsonObject, key: string, path: string): number | undefined {
  const v = foldGet(obj, key);
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw invalid(path, 'integer', v);
}

function strList(obj: JsonObject, key: string, path: string): string[] | undefined {
  const v = foldGet(obj, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalid(path, 'array of strings', v);
  return v.map((s, i) => {
    if (typeof s !== 'string') throw invalid(`${path}[${i}]`, 'string', s);
    return s;
  });
}

function objList<T>(obj: JsonObject, key: string, path: string, each: (o: JsonObject, at: string) => T): T[] | undefined {
  const v = foldGet(obj, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalid(path, 'array', v);
  return v.map((item, i) => {
    if (!isJsonObject(item)) throw invalid(`${path}[${i}]`, 'object', item);
    return each(item, `${path}[${i}]`);
  });
}

/** runtimeConfig.mac (capability "mac"). */
export function runtimeMac(conf: ConfWithRuntime): string | undefined {
  const rc = section(conf, 'runtimeConfig');
  return rc && str(rc, 'mac', 'runtimeConfig.mac');
}

/** runtimeConfig.ips (capability "ips"): "ip[/prefix]" strings. */
export function runtimeIPs(conf: ConfWithRuntime): string[] | undefined {
  const rc = section(conf, 'runtimeConfig');
  return rc && strList(rc, 'ips', 'runtimeConfig.ips');
}

/** runtimeConfig.deviceID (capability "deviceID"): a PCI address or auxiliary device name. */
export function runtimeDeviceID(conf: ConfWithRuntime): string | undefined {
  const rc = section(conf, 'runtimeConfig');
  return rc && str(rc, 'deviceID', 'runtimeConfig.deviceID');
}

function readRange(o: JsonObject, at: string): IPRange {
  const range: IPRange = { subnet: str(o, 'subnet', `${at}.subnet`) ?? '' };
  const rangeStart = str(o, 'rangeStart', `${at}.rangeStart`);
  const rangeEnd = str(o, 'rangeEnd', `${at}.rangeEnd`);
  const gateway = str(o, 'gateway', `${at}.gateway`);
  if (rangeStart !== undefined) range.rangeStart = rangeStart;
  if (rangeEnd !== undefined) range.rangeEnd = rangeEnd;
  if (gateway !== undefined) range.gateway = gateway;
  return range;
}

/** runtimeConfig.ipRanges (capability "ipRanges"): range sets, like host-local `ranges`. */
export function runtimeIPRanges(conf: ConfWithRuntime): IPRange[][] | undefined {
  const rc = section(conf, 'runtimeConfig');
  if (!rc) return undefined;
  const v = foldGet(rc, 'ipRanges');
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalid('runtimeConfig.ipRanges', 'array', v);
  return v.map((set, i) => {
    const at = `runtimeConfig.ipRanges[${i}]`;
    if (!Array.isArray(set)) throw invalid(at, 'array', set);
    return set.map((r, j) => {
      if (!isJsonObject(r)) throw invalid(`${at}[${j}]`, 'object', r);
      return readRange(r, `${at}[${j}]`);
    });
  });
}

/** runtimeConfig.portMappings (capability "portMappings"); [] when absent. */
export function runtimePortMappings(conf: ConfWithRuntime): PortMapping[] {
  const rc = section(conf, 'runtimeConfig');
  if (!rc) return [];
  return (
    objList(rc, 'portMappings', 'runtimeConfig.portMappings', (o, at) => {
      const pm: PortMapping = {
        hostPort: int(o, 'hostPort', `${at}.hostPort`) ?? 0,
        containerPort: int(o, 'containerPort', `${at}.containerPort`) ?? 0,
        protocol: str(o, 'protocol', `${at}.protocol`) ?? '',
      };
      const hostIP = str(o, 'hostIP', `${at}.hostIP`);
      if (hostIP !== undefined) pm.hostIP = hostIP;
      return pm;
    }) ?? []
  );
}

/** runtimeConfig.bandwidth (capability "bandwidth"). */
export function runtimeBandwidth(conf: ConfWithRuntime): BandwidthEntry | undefined {
  const bw = section(conf, 'runtimeConfig', 'bandwidth');
  if (!bw) return undefined;
  const out: BandwidthEntry = {};
  for (const key of ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const) {
    const v = int(bw, key, `runtimeConfig.bandwidth.${key}`);
    if (v !== undefined) {
      if (v < 0) throw invalid(`runtimeConfig.bandwidth.${key}`, 'a non-negative integer', v);
      out[key] = v;
    }
  }
  return out;
}

/** args.cni.ips: requested IPs ("ip[/prefix]"). */
export function argsCniIPs(conf: ConfWithRuntime): string[] | undefined {
  const cni = section(conf, 'args', 'cni');
  return cni && strList(cni, 'ips', 'args.cni.ips');
}

/** args.cni.mac: requested MAC. */
export function argsCniMac(conf: ConfWithRuntime): string | undefined {
  const cni = section(conf, 'args', 'cni');
  return cni && str(cni, 'mac', 'args.cni.mac');
}
