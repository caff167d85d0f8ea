// cluster-ipam's configuration: the decoded network config (schema.ts) turned into canonical range
// sets (host-local's range math), exclusions, requested addresses (as host-local takes them), the
// etcd connection and the node name, with errors that name the field and the value.
import { hostname } from 'node:os';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { Route } from '../../shared/cni/types.js';
import type { EtcdClientOptions } from '../../shared/etcd/types.js';
import { type IP, type IPNet, parseCIDR } from '../../shared/ip/index.js';
import { canonicalRoute } from '../../shared/ip/route.js';
import { type RangeConf, type RangeSetInput, checkRangeSetsDisjoint, parseRangeSets, requestedIPs, versionAtLeastSafe } from '../host-local/config.js';
import { type RangeSet, rangeSetFamily } from '../host-local/range.js';
import { DEFAULT_PREFIX, checkNetworkName, checkNodeName, checkPrefix } from './keys.js';

/** The config's `etcd` object: the client's options (all optional here), the key prefix and the bound of one command. */
export type EtcdConf = Partial<Omit<EtcdClientOptions, 'requestTimeoutMs'>> & {
  prefix?: string;
  timeoutMs?: number;
};

export interface ClusterIpamIPAMConf {
  type?: string;
  range?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  exclude?: string[];
  routes?: Route[];
  ranges?: RangeConf[][];
  etcd?: EtcdConf;
  nodeName?: string;
}

export interface ClusterIpamNetConf {
  cniVersion?: string;
  name: string;
  ipam?: ClusterIpamIPAMConf;
  runtimeConfig?: { ips?: string[] };
  args?: { cni?: { ips?: string[] } };
}

export interface ClusterIpamConfig {
  name: string;
  cniVersion: string;
  /** One address is taken from each set (one per family for dual stack). */
  ranges: RangeSet[];
  exclude: IPNet[];
  routes: Route[] | undefined;
  requested: IP[];
  etcd: EtcdClientOptions;
  /** Key prefix, no trailing '/'. */
  prefix: string;
  /** Bound of one whole command (ADD, DEL, ...) against etcd. */
  timeoutMs: number;
  nodeName: string;
}

export const DEFAULT_DIAL_TIMEOUT_MS = 2000;
export const DEFAULT_TIMEOUT_MS = 10_000;

const invalid = (msg: string, details = ''): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg, details);

function loadRangeSets(ipam: ClusterIpamIPAMConf): RangeSet[] {
  const sets: RangeSetInput[] = [];
  if (ipam.range !== undefined && ipam.range !== '') {
    if (!parseCIDR(ipam.range)) throw invalid(`ipam.range: invalid CIDR address ${JSON.stringify(ipam.range)}`);
    sets.push({ inputs: [{ subnet: ipam.range, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }], field: 'ipam' });
  } else if (ipam.rangeStart || ipam.rangeEnd || ipam.gateway) {
    throw invalid('ipam.range: missing', 'rangeStart, rangeEnd and gateway need a range');
  }
  (ipam.ranges ?? []).forEach((s, i) => sets.push({ inputs: s, field: `ipam.ranges[${i}]` }));
  if (sets.length === 0) throw invalid('no IP ranges specified', 'set ipam.range or ipam.ranges');
  const ranges = parseRangeSets(sets);
  checkRangeSetsDisjoint(ranges);
  return ranges;
}

function loadEtcd(etcd: EtcdConf | undefined): { client: EtcdClientOptions; prefix: string; timeoutMs: number } {
  if (!etcd) throw invalid('ipam.etcd: missing', 'cluster-ipam keeps its claims in etcd: set ipam.etcd.endpoints');
  const endpoints = etcd.endpoints ?? [];
  if (endpoints.length === 0) throw invalid('ipam.etcd.endpoints: missing', 'give at least one http:// or https:// client URL');
  endpoints.forEach((e, i) => {
    let url: URL | undefined;
    try {
      url = new URL(e);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) {
      throw invalid(`ipam.etcd.endpoints[${i}]: invalid endpoint ${JSON.stringify(e)}`, 'expected http://host:port or https://host:port');
    }
  });
  if ((etcd.certFile && !etcd.keyFile) || (etcd.keyFile && !etcd.certFile)) {
    throw invalid(`ipam.etcd: certFile and keyFile go together (certFile ${JSON.stringify(etcd.certFile ?? '')}, keyFile ${JSON.stringify(etcd.keyFile ?? '')})`);
  }
  if (etcd.password !== undefined && !etcd.username) throw invalid('ipam.etcd.password: set without ipam.etcd.username');
  const client: EtcdClientOptions = { endpoints, dialTimeoutMs: etcd.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS };
  if (etcd.certFile) client.certFile = etcd.certFile;
  if (etcd.keyFile) client.keyFile = etcd.keyFile;
  if (etcd.trustedCAFile) client.trustedCAFile = etcd.trustedCAFile;
  if (etcd.username) client.username = etcd.username;
  if (etcd.password !== undefined) client.password = etcd.password;
  return { client, prefix: checkPrefix(etcd.prefix ?? DEFAULT_PREFIX), timeoutMs: etcd.timeoutMs ?? DEFAULT_TIMEOUT_MS };
}

/** `nodeName`: the config's, else this machine's host name. */
export function loadClusterIpamConfig(conf: ClusterIpamNetConf, cniArgs: string, host: () => string = hostname): ClusterIpamConfig {
  const ipam = conf.ipam;
  if (!ipam) throw invalid("IPAM config missing 'ipam' key");
  checkNetworkName(conf.name);
  const cniVersion = conf.cniVersion ?? '';
  const requested = requestedIPs(conf, cniArgs);
  const ranges = loadRangeSets(ipam);
  const v4 = ranges.filter((s) => rangeSetFamily(s) === 4).length;
  if ((v4 > 1 || ranges.length - v4 > 1) && !versionAtLeastSafe(cniVersion, '0.3.0')) {
    throw invalid(`CNI version ${cniVersion} does not support more than 1 address per family`);
  }
  const exclude = (ipam.exclude ?? []).map((text, i) => {
    const net = parseCIDR(text);
    if (!net) throw invalid(`ipam.exclude[${i}]: invalid CIDR address ${JSON.stringify(text)}`);
    return net;
  });
  const routes = ipam.routes?.map((r, i) => {
    const out = canonicalRoute(r, `ipam.routes[${i}]`);
    if (typeof out === 'string') throw invalid(out);
    return out;
  });
  const etcd = loadEtcd(ipam.etcd);
  const nodeName = ipam.nodeName || host();
  checkNodeName(nodeName);
  return { name: conf.name, cniVersion, ranges, exclude, routes, requested, etcd: etcd.client, prefix: etcd.prefix, timeoutMs: etcd.timeoutMs, nodeName };
}
