// host-local's configuration: the decoded network config (see schema.ts) turned into canonical
// range sets, requested addresses and the rest, with the reference's order, defaults and errors.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { Route } from '../../shared/cni/types.js';
import { parseCniArgs } from '../../shared/cni/args.js';
import { argsCniIPs, runtimeIPRanges, runtimeIPs } from '../../shared/cni/runtime-config.js';
import { versionAtLeast } from '../../shared/cni/versions.js';
import { type IP, formatIP, parseCIDR, parseIP } from '../../shared/ip/index.js';
import { canonicalRoute } from '../../shared/ip/route.js';
import {
  type RangeInput,
  type RangeSet,
  RangeError,
  canonicalizeRangeSet,
  rangeSetFamily,
  rangeSetsOverlap,
} from './range.js';

/** One range as written in JSON (strings; parsed here so errors can name the field). */
export interface RangeConf {
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface HostLocalIPAMConf extends RangeConf {
  type?: string;
  routes?: Route[];
  dataDir?: string;
  resolvConf?: string;
  ranges?: RangeConf[][];
}

/** The parts of the network config host-local reads (keys already matched the Go way). */
export interface HostLocalNetConf {
  cniVersion?: string;
  name: string;
  ipam?: HostLocalIPAMConf;
  runtimeConfig?: { ipRanges?: RangeConf[][]; ips?: string[] };
  args?: { cni?: { ips?: string[] } };
}

export interface HostLocalConfig {
  name: string;
  cniVersion: string;
  ranges: RangeSet[];
  routes: Route[] | undefined;
  dataDir: string;
  resolvConf: string;
  /** Requested addresses in the order they were given (CNI_ARGS, args.cni.ips, runtimeConfig.ips), deduplicated. */
  requested: IP[];
}

const invalid = (msg: string, details = ''): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg, details);

function parseAddress(text: string, field: string): IP {
  const ip = parseIP(text);
  if (!ip) throw invalid(`${field}: invalid IP address ${JSON.stringify(text)}`);
  return ip;
}

/** A requested address: "ip" or "ip/prefix" (the prefix is ignored, the range set's own applies). */
export function parseRequested(text: string, field: string): IP {
  const ip = text.includes('/') ? parseCIDR(text)?.ip : parseIP(text);
  if (!ip) throw invalid(`${field}: invalid IP address ${JSON.stringify(text)}`);
  return ip;
}

export function parseRange(conf: RangeConf, field: string): RangeInput {
  if (conf.subnet === undefined || conf.subnet === '') throw invalid(`${field}.subnet: missing`);
  const subnet = parseCIDR(conf.subnet);
  if (!subnet) throw invalid(`${field}.subnet: invalid CIDR address ${JSON.stringify(conf.subnet)}`);
  const input: RangeInput = { subnet };
  if (conf.rangeStart) input.rangeStart = parseAddress(conf.rangeStart, `${field}.rangeStart`);
  if (conf.rangeEnd) input.rangeEnd = parseAddress(conf.rangeEnd, `${field}.rangeEnd`);
  if (conf.gateway) input.gateway = parseAddress(conf.gateway, `${field}.gateway`);
  return input;
}

/**
 * Requested addresses in the order CNI_ARGS IP, args.cni.ips, runtimeConfig.ips, deduplicated
 * (also used by cluster-ipam, which takes requests the same way).
 */
export function requestedIPs(conf: Pick<HostLocalNetConf, 'args' | 'runtimeConfig'>, cniArgs: string): IP[] {
  const requested: IP[] = [];
  const seen = new Set<string>();
  const request = (ip: IP): void => {
    const key = formatIP(ip);
    if (!seen.has(key)) {
      seen.add(key);
      requested.push(ip);
    }
  };
  const envIP = parseCniArgs(cniArgs, ['IP'] as const).IP;
  if (envIP !== undefined && envIP !== '') request(parseRequested(envIP, 'CNI_ARGS IP'));
  // Checked accessors: runtimeConfig and args are only shape-checked by the schema, and a runtime
  // may send `"ips": "10.0.0.5"` (code 7 naming the field, not a crash).
  (argsCniIPs(conf) ?? []).forEach((s, i) => request(parseRequested(s, `args.cni.ips[${i}]`)));
  (runtimeIPs(conf) ?? []).forEach((s, i) => request(parseRequested(s, `runtimeConfig.ips[${i}]`)));
  return requested;
}

/** One range set as configured, with the config path that names it in errors. */
export interface RangeSetInput {
  inputs: RangeConf[];
  field: string;
}

/** Parses and canonicalises each configured range set (shared with cluster-ipam). */
export function parseRangeSets(sets: readonly RangeSetInput[]): RangeSet[] {
  return sets.map(({ inputs, field }, i) => {
    const parsed = inputs.map((r, j) => parseRange(r, field === 'ipam' ? 'ipam' : `${field}[${j}]`));
    try {
      return canonicalizeRangeSet(parsed);
    } catch (e) {
      if (e instanceof RangeError) throw invalid(`invalid range set ${i}: ${e.message}`, `in ${field}`);
      throw e;
    }
  });
}

/** No address may belong to two range sets: each set is one address in the result. */
export function checkRangeSetsDisjoint(ranges: readonly RangeSet[]): void {
  for (let i = 0; i < ranges.length - 1; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (rangeSetsOverlap(ranges[i]!, ranges[j]!)) throw invalid(`range set ${i} overlaps with ${j}`);
    }
  }
}

export function loadHostLocalConfig(conf: HostLocalNetConf, cniArgs: string): HostLocalConfig {
  const ipam = conf.ipam;
  if (!ipam) throw invalid("IPAM config missing 'ipam' key");
  const cniVersion = conf.cniVersion ?? '';

  const requested = requestedIPs(conf, cniArgs);

  // Order: runtimeConfig.ipRanges, then the legacy single range, then ipam.ranges.
  const sets: RangeSetInput[] = [];
  (runtimeIPRanges(conf) ?? []).forEach((s, i) => sets.push({ inputs: s, field: `runtimeConfig.ipRanges[${i}]` }));
  if (ipam.subnet) sets.push({ inputs: [ipam], field: 'ipam' });
  (ipam.ranges ?? []).forEach((s, i) => sets.push({ inputs: s, field: `ipam.ranges[${i}]` }));
  if (sets.length === 0) throw invalid('no IP ranges specified');

  const ranges = parseRangeSets(sets);

  const v4 = ranges.filter((s) => rangeSetFamily(s) === 4).length;
  const v6 = ranges.length - v4;
  if ((v4 > 1 || v6 > 1) && !versionAtLeastSafe(cniVersion, '0.3.0')) {
    throw invalid(`CNI version ${cniVersion} does not support more than 1 address per family`);
  }

  checkRangeSetsDisjoint(ranges);

  const routes = ipam.routes?.map((r, i) => {
    const out = canonicalRoute(r, `ipam.routes[${i}]`);
    if (typeof out === 'string') throw invalid(out);
    return out;
  });

  return {
    name: conf.name,
    cniVersion,
    ranges,
    routes,
    dataDir: ipam.dataDir ?? '',
    resolvConf: ipam.resolvConf ?? '',
    requested,
  };
}

/** Like the reference, an unparsable version counts as "not at least". */
export function versionAtLeastSafe(version: string, min: string): boolean {
  try {
    return version !== '' && versionAtLeast(version, min);
  } catch {
    return false;
  }
}
