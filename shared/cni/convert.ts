// Result conversion between the internal (1.1) model and every spec version's JSON, with
// libcni's rules (types/020, types/040, types/100) and its serialisation (key order, omitted
// empties, 4-space indentation).
import { CniError, ErrorCode } from './errors.js';
import { describeValue, foldGet, isJsonObject, jsonTypeName, type JsonObject } from './fold.js';
import { canonicalCIDR, canonicalIP, ipFamily } from '../ip/index.js';
import { goJSONIndent } from './json-out.js';
import type { DNS, IPConfig, Interface, Result, Route } from './types.js';
import { FAMILY_VERSIONS, effectiveVersion, resultFamily, type ResultFamily } from './versions.js';

// ---- Versioned JSON shapes (keys listed in the order the reference prints them) ----

/** The same shape in every version (types.DNS). */
export type DNSJSON = DNS;

/** 0.1.0 / 0.2.0 route: only dst and gw exist. */
export interface Route020JSON {
  dst: string;
  gw?: string;
}

export interface IPConfig020JSON {
  ip: string;
  gateway?: string;
  routes?: Route020JSON[];
}

export interface Result020JSON {
  cniVersion: string;
  ip4?: IPConfig020JSON;
  ip6?: IPConfig020JSON;
  dns: DNSJSON;
}

/** 0.3.0+ route (types.Route: the same Go type for 0.3, 0.4 and 1.x). */
export type RouteJSON = Route;

export interface Interface040JSON {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface IPConfig040JSON {
  version: string;
  interface?: number;
  address: string;
  gateway?: string;
}

export interface Result040JSON {
  cniVersion: string;
  interfaces?: Interface040JSON[];
  ips?: IPConfig040JSON[];
  routes?: RouteJSON[];
  dns: DNSJSON;
}

export interface Interface100JSON {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig100JSON {
  interface?: number;
  address: string;
  gateway?: string;
}

export interface Result100JSON {
  cniVersion: string;
  interfaces?: Interface100JSON[];
  ips?: IPConfig100JSON[];
  routes?: RouteJSON[];
  dns?: DNSJSON;
}

export type VersionedResultJSON = Result020JSON | Result040JSON | Result100JSON;

// ---- Internal -> versioned ----

function dnsIsEmpty(dns: DNS | undefined): boolean {
  return !dns || (!dns.nameservers?.length && !dns.domain && !dns.search?.length && !dns.options?.length);
}

/** Go's DNS struct with every field omitempty. */
function dnsJSON(dns: DNS | undefined): DNSJSON {
  const out: DNSJSON = {};
  if (!dns) return out;
  if (dns.nameservers?.length) out.nameservers = [...dns.nameservers];
  if (dns.domain) out.domain = dns.domain;
  if (dns.search?.length) out.search = [...dns.search];
  if (dns.options?.length) out.options = [...dns.options];
  return out;
}

/** types.Route: mtu/advmss/priority are omitempty ints, table/scope are pointers (0 is printed). */
function routeJSON(r: Route): RouteJSON {
  const out: RouteJSON = { dst: r.dst };
  if (r.gw) out.gw = r.gw;
  if (r.mtu) out.mtu = r.mtu;
  if (r.advmss) out.advmss = r.advmss;
  if (r.priority) out.priority = r.priority;
  if (r.table !== undefined) out.table = r.table;
  if (r.scope !== undefined) out.scope = r.scope;
  return out;
}

function interfaces100(list: Interface[]): Interface100JSON[] {
  return list.map((i) => ({
    name: i.name,
    ...(i.mac ? { mac: i.mac } : {}),
    ...(i.mtu ? { mtu: i.mtu } : {}),
    ...(i.sandbox ? { sandbox: i.sandbox } : {}),
    ...(i.socketPath ? { socketPath: i.socketPath } : {}),
    ...(i.pciID ? { pciID: i.pciID } : {}),
  }));
}

/** 0.4 interfaces have no mtu/socketPath/pciID. */
function interfaces040(list: Interface[]): Interface040JSON[] {
  return list.map((i) => ({
    name: i.name,
    ...(i.mac ? { mac: i.mac } : {}),
    ...(i.sandbox ? { sandbox: i.sandbox } : {}),
  }));
}

function ips100(list: IPConfig[]): IPConfig100JSON[] {
  return list.map((ip) => ({
    ...(ip.interface !== undefined ? { interface: ip.interface } : {}),
    address: ip.address,
    ...(ip.gateway ? { gateway: ip.gateway } : {}),
  }));
}

/** 0.3/0.4 IPs carry "version", decided by the address family (IPv4-mapped counts as 4). */
function ips040(list: IPConfig[]): IPConfig040JSON[] {
  return list.map((ip) => ({
    version: String(ipFamily(ip.address)),
    ...(ip.interface !== undefined ? { interface: ip.interface } : {}),
    address: ip.address,
    ...(ip.gateway ? { gateway: ip.gateway } : {}),
  }));
}

function toV1(result: Result, version: string): Result100JSON {
  return {
    cniVersion: version,
    ...(result.interfaces?.length ? { interfaces: interfaces100(result.interfaces) } : {}),
    ...(result.ips?.length ? { ips: ips100(result.ips) } : {}),
    ...(result.routes?.length ? { routes: result.routes.map(routeJSON) } : {}),
    // cni lib >= 1.2 omits an empty dns object from 1.x results.
    ...(dnsIsEmpty(result.dns) ? {} : { dns: dnsJSON(result.dns) }),
  };
}

function to04(result: Result, version: string): Result040JSON {
  return {
    cniVersion: version,
    ...(result.interfaces?.length ? { interfaces: interfaces040(result.interfaces) } : {}),
    ...(result.ips?.length ? { ips: ips040(result.ips) } : {}),
    // Routes are copied whole: mtu/advmss/priority/table/scope survive into 0.3/0.4 JSON.
    ...(result.routes?.length ? { routes: result.routes.map(routeJSON) } : {}),
    dns: dnsJSON(result.dns),
  };
}

function to02(result: Result, version: string): Result020JSON {
  let ip4: IPConfig020JSON | undefined;
  let ip6: IPConfig020JSON | undefined;
  // Only the first address of each family fits in 0.1/0.2.
  for (const ip of result.ips ?? []) {
    const entry: IPConfig020JSON = { ip: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}) };
    if (ipFamily(ip.address) === 4) ip4 ??= entry;
    else ip6 ??= entry;
    if (ip4 && ip6) break;
  }
  // A route goes to the block of its destination's family, and only if that block exists.
  for (const r of result.routes ?? []) {
    const target = ipFamily(r.dst) === 4 ? ip4 : ip6;
    if (!target) continue;
    (target.routes ??= []).push({ dst: r.dst, ...(r.gw ? { gw: r.gw } : {}) });
  }
  if (!ip4 && !ip6) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, 'cannot convert: no valid IP addresses');
  }
  return {
    cniVersion: version,
    ...(ip4 ? { ip4 } : {}),
    ...(ip6 ? { ip6 } : {}),
    dns: dnsJSON(result.dns),
  };
}

/**
 * The result as the JSON object of spec `version` ('' means 0.1.0). Throws CniError code 1 when
 * the version is unknown or the result cannot be expressed in it (no IP for 0.1/0.2).
 */
export function toVersion(result: Result, version: string): VersionedResultJSON {
  const target = effectiveVersion(version);
  switch (resultFamily(target)) {
    case '1.x':
      return toV1(result, target);
    case '0.4':
      return to04(result, target);
    case '0.2':
      return to02(result, target);
    default:
      throw new CniError(ErrorCode.IncompatibleCNIVersion, `unsupported CNI result version "${target}"`);
  }
}

/** The result printed in `version` exactly as the reference prints it (4-space indent, no newline). */
export function formatResult(result: Result, version: string): string {
  return goJSONIndent(toVersion(result, version));
}

// ---- Versioned JSON -> internal ----

function decodeError(path: string, problem: string): CniError {
  return new CniError(ErrorCode.DecodingFailure, path ? `${path}: ${problem}` : problem);
}

function typeMismatch(path: string, want: string, v: unknown): CniError {
  return decodeError(path, `cannot unmarshal ${jsonTypeName(v)} ${describeValue(v)} into ${want}`);
}

/** Reads one Go struct's fields from a JSON object with Go's matching and type rules. */
class FieldReader {
  constructor(
    private readonly obj: JsonObject,
    private readonly path: string,
  ) {}

  private at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  raw(name: string): unknown {
    return foldGet(this.obj, name);
  }

  string(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined || typeof v === 'string') return v;
    throw typeMismatch(this.at(name), 'string', v);
  }

  int(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    throw typeMismatch(this.at(name), 'int', v);
  }

  strings(name: string): string[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw typeMismatch(this.at(name), '[]string', v);
    return v.map((s, i) => {
      if (s === null) return '';
      if (typeof s !== 'string') throw typeMismatch(`${this.at(name)}[${i}]`, 'string', s);
      return s;
    });
  }

  /** A CIDR with host bits kept (types.IPNet), canonicalised as Go prints it. */
  cidr(name: string): string | undefined {
    const s = this.string(name);
    if (s === undefined) return undefined;
    const c = canonicalCIDR(s);
    if (c === undefined) throw decodeError(this.at(name), `invalid CIDR address: ${s}`);
    return c;
  }

  /** A net.IP; '' decodes to "no IP" as in Go. */
  ip(name: string): string | undefined {
    const s = this.string(name);
    if (s === undefined || s === '') return undefined;
    const c = canonicalIP(s);
    if (c === undefined) throw decodeError(this.at(name), `invalid IP address: ${s}`);
    return c;
  }

  objects<T>(name: string, each: (r: FieldReader) => T): T[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw typeMismatch(this.at(name), 'array', v);
    const out: T[] = [];
    v.forEach((item, i) => {
      if (item === null) return;
      if (!isJsonObject(item)) throw typeMismatch(`${this.at(name)}[${i}]`, 'object', item);
      out.push(each(new FieldReader(item, `${this.at(name)}[${i}]`)));
    });
    return out;
  }

  object<T>(name: string, each: (r: FieldReader) => T): T | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!isJsonObject(v)) throw typeMismatch(this.at(name), 'object', v);
    return each(new FieldReader(v, this.at(name)));
  }
}

function readDNS(r: FieldReader): DNS | undefined {
  const dns: DNS = {};
  const nameservers = r.strings('nameservers');
  const domain = r.string('domain');
  const search = r.strings('search');
  const options = r.strings('options');
  if (nameservers?.length) dns.nameservers = nameservers;
  if (domain) dns.domain = domain;
  if (search?.length) dns.search = search;
  if (options?.length) dns.options = options;
  return dnsIsEmpty(dns) ? undefined : dns;
}

function readRoute(r: FieldReader): Route {
  // A route without dst decodes to Go's zero IPNet, which prints as "<nil>"; keep it visible.
  const route: Route = { dst: r.cidr('dst') ?? '<nil>' };
  const gw = r.ip('gw');
  if (gw) route.gw = gw;
  const mtu = r.int('mtu');
  if (mtu) route.mtu = mtu;
  const advmss = r.int('advmss');
  if (advmss) route.advmss = advmss;
  const priority = r.int('priority');
  if (priority) route.priority = priority;
  const table = r.int('table');
  if (table !== undefined) route.table = table;
  const scope = r.int('scope');
  if (scope !== undefined) route.scope = scope;
  return route;
}

function readIPConfig(r: FieldReader, addressKey: 'address' | 'ip'): IPConfig {
  const ip: IPConfig = { address: r.cidr(addressKey) ?? '<nil>' };
  const iface = r.int('interface');
  if (iface !== undefined) ip.interface = iface;
  const gateway = r.ip('gateway');
  if (gateway) ip.gateway = gateway;
  return ip;
}

function readInterface(r: FieldReader, family: ResultFamily): Interface {
  const i: Interface = { name: r.string('name') ?? '' };
  const mac = r.string('mac');
  if (mac) i.mac = mac;
  const sandbox = r.string('sandbox');
  if (sandbox) i.sandbox = sandbox;
  // Only the 1.x Go type has these; older types drop them on decode.
  if (family === '1.x') {
    const mtu = r.int('mtu');
    if (mtu) i.mtu = mtu;
    const socketPath = r.string('socketPath');
    if (socketPath) i.socketPath = socketPath;
    const pciID = r.string('pciID');
    if (pciID) i.pciID = pciID;
  }
  // Rebuild in the declared key order of the internal model.
  const ordered: Interface = { name: i.name };
  if (i.mac) ordered.mac = i.mac;
  if (i.mtu) ordered.mtu = i.mtu;
  if (i.sandbox) ordered.sandbox = i.sandbox;
  if (i.socketPath) ordered.socketPath = i.socketPath;
  if (i.pciID) ordered.pciID = i.pciID;
  return ordered;
}

function finish(result: Result, ips: IPConfig[], routes: Route[], interfaces: Interface[], dns: DNS | undefined): Result {
  if (interfaces.length) result.interfaces = interfaces;
  if (ips.length) result.ips = ips;
  if (routes.length) result.routes = routes;
  if (dns) result.dns = dns;
  return result;
}

function decodeInFamily(r: FieldReader, family: ResultFamily, version: string): Result {
  const result: Result = { cniVersion: effectiveVersion(version) };
  const dns = r.object('dns', readDNS);
  if (family === '0.2') {
    // 0.2 -> 0.4 -> 1.x: ip4 then ip6, and their routes appended in the same order.
    const ips: IPConfig[] = [];
    const routes: Route[] = [];
    for (const key of ['ip4', 'ip6'] as const) {
      r.object(key, (block) => {
        ips.push(readIPConfig(block, 'ip'));
        routes.push(...(block.objects('routes', readRoute) ?? []));
      });
    }
    return finish(result, ips, routes, [], dns);
  }
  // 0.3/0.4 and 1.x share the layout; 0.4's ips[].version is read (type-checked) and dropped.
  const ips =
    r.objects('ips', (ip) => {
      if (family === '0.4') ip.string('version');
      return readIPConfig(ip, 'address');
    }) ?? [];
  const routes = r.objects('routes', readRoute) ?? [];
  const interfaces = r.objects('interfaces', (i) => readInterface(i, family)) ?? [];
  return finish(result, ips, routes, interfaces, dns);
}

function goList(versions: readonly string[]): string {
  return `[${versions.join(' ')}]`;
}

/**
 * Parses a result JSON object as libcni's `create.Create(configVersion, json)` does: with the
 * result type of the config version's family, whose accepted versions the result's own
 * cniVersion must be in. Returns the internal (1.x) shape. Throws CniError code 6.
 */
export function fromJSON(obj: unknown, configVersion: string): Result {
  const family = resultFamily(configVersion);
  if (!family) throw new CniError(ErrorCode.DecodingFailure, `unsupported CNI result version "${configVersion}"`);
  if (!isJsonObject(obj)) throw typeMismatch('', 'result object', obj);
  const r = new FieldReader(obj, '');
  const version = r.string('cniVersion') ?? '';
  if (!FAMILY_VERSIONS[family].includes(version)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `result type supports ${goList(FAMILY_VERSIONS[family])} but unmarshalled CNIVersion is "${version}"`,
    );
  }
  return decodeInFamily(r, family, version);
}

/**
 * libcni's version.ParsePrevResult: a prevResult without a cniVersion takes the config's one,
 * then it is decoded with the config version's result type (so a prevResult from another
 * family is an error). `configVersion` is the config's cniVersion with '' meaning 0.1.0.
 */
export function parsePrevResult(raw: unknown, configVersion: string): Result {
  if (!isJsonObject(raw)) throw typeMismatch('prevResult', 'object', raw);
  // libcni injects "CNIVersion" (exact spelling) when missing, re-marshals the map with sorted keys
  // and decodes case-insensitively, so the last cniVersion-like key in byte order wins.
  const withVersion: JsonObject = { ...raw };
  if (withVersion['CNIVersion'] === undefined || withVersion['CNIVersion'] === '') {
    withVersion['CNIVersion'] = configVersion;
  }
  const versionKeys = Object.keys(withVersion)
    .filter((k) => k.toLowerCase() === 'cniversion')
    .sort();
  const winner = versionKeys[versionKeys.length - 1];
  const sorted: JsonObject = {};
  for (const k of Object.keys(withVersion)) {
    if (k.toLowerCase() !== 'cniversion') sorted[k] = withVersion[k];
  }
  if (winner !== undefined) sorted['cniVersion'] = withVersion[winner];
  return fromJSON(sorted, configVersion);
}
