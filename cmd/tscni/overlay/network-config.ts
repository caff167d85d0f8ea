// The cluster's network config, `<prefix>/config` in etcd, as flanneld reads it (REFERENCE-flannel.md
// §2 "Network config"): JSON keys case-insensitive, SubnetLen/SubnetMin/SubnetMax defaults and
// checks, the vxlan backend's settings. IPv4 only: this agent does not run IPv6 overlays.
import { formatIP, formatNetwork, ipOf, type IPNet, networkOf, parseCIDR, parseIP, prefixLength } from '../../../shared/ip/index.js';

export interface VxlanBackend {
  type: 'vxlan';
  vni: number;
  /** 0: the kernel default (8472). */
  port: number;
  learning: boolean;
  gbp: boolean;
  directRouting: boolean;
  /** 0: the external interface's MTU. */
  mtu: number;
}

export interface NetworkConfig {
  /** "10.156.0.0/16". */
  network: string;
  networkNet: IPNet;
  subnetLen: number;
  /** First and last subnet network addresses that may be leased, as numbers. */
  subnetMin: bigint;
  subnetMax: bigint;
  enableNFTables: boolean;
  backend: VxlanBackend;
}

export class ConfigError extends Error {}

type Json = Record<string, unknown>;

/** Go's encoding/json: a struct field matches a key case-insensitively; the last match wins. */
function field(obj: Json, name: string): unknown {
  let v: unknown;
  for (const [k, val] of Object.entries(obj)) if (k.toLowerCase() === name.toLowerCase()) v = val;
  return v;
}

function str(obj: Json, name: string): string | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError(`${name}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function int(obj: Json, name: string): number | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(`${name}: expected an integer, got ${JSON.stringify(v)}`);
  return v;
}

function bool(obj: Json, name: string): boolean | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ConfigError(`${name}: expected a boolean, got ${JSON.stringify(v)}`);
  return v;
}

function parseBackend(raw: unknown): VxlanBackend {
  // flanneld's code falls back to "udp" without a Backend; its documentation says vxlan, the only
  // backend this agent has, so an absent Backend means vxlan here.
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`Backend: expected an object, got ${JSON.stringify(raw)}`);
  const b = raw as Json;
  const type = str(b, 'Type') ?? 'vxlan';
  if (type !== 'vxlan') throw new ConfigError(`Backend.Type ${JSON.stringify(type)} is not supported (tscni overlay implements the vxlan backend only)`);
  const vni = int(b, 'VNI') ?? 1;
  if (vni < 0 || vni > 0xffffff) throw new ConfigError(`Backend.VNI ${vni} is out of range (0..16777215)`);
  const port = int(b, 'Port') ?? 0;
  if (port < 0 || port > 0xffff) throw new ConfigError(`Backend.Port ${port} is out of range (0..65535)`);
  const mtu = int(b, 'MTU') ?? 0;
  if (mtu < 0) throw new ConfigError(`Backend.MTU ${mtu} is negative`);
  if (bool(b, 'DirectRouting')) throw new ConfigError('Backend.DirectRouting is not supported by tscni overlay');
  return { type: 'vxlan', vni, port, learning: bool(b, 'Learning') ?? false, gbp: bool(b, 'GBP') ?? false, directRouting: false, mtu };
}

function subnetAddress(obj: Json, name: string, net: IPNet, len: number): bigint | undefined {
  const text = str(obj, name);
  if (text === undefined) return undefined;
  const ip = parseIP(text);
  if (!ip || ip.family !== 4) throw new ConfigError(`${name}: invalid IPv4 address ${JSON.stringify(text)}`);
  const size = 1n << BigInt(32 - len);
  const base = networkOf(net).value;
  const last = base + (1n << BigInt(32 - prefixLength(net))) - 1n;
  if (ip.value < base || ip.value > last) throw new ConfigError(`${name} (${text}) is not within Network (${formatNetwork(net)})`);
  if ((ip.value - base) % size !== 0n) throw new ConfigError(`${name} (${text}) is not on a SubnetLen boundary`);
  return ip.value;
}

/** Parses the config text. Throws ConfigError naming the key and value. */
export function parseNetworkConfig(text: string): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`invalid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('expected a JSON object');
  const obj = raw as Json;
  if (bool(obj, 'EnableIPv6') === true) throw new ConfigError('EnableIPv6: IPv6 overlays are not supported by tscni overlay');
  if (bool(obj, 'EnableIPv4') === false) throw new ConfigError('EnableIPv4 is false: tscni overlay needs an IPv4 Network');
  const netText = str(obj, 'Network');
  if (netText === undefined) throw new ConfigError('please define a correct Network parameter in the flannel config');
  const parsed = parseCIDR(netText);
  if (!parsed || parsed.ip.family !== 4) throw new ConfigError(`Network: invalid IPv4 CIDR ${JSON.stringify(netText)}`);
  const net: IPNet = { ip: networkOf(parsed), prefix: prefixLength(parsed), maskBits: 32 };
  const plen = net.prefix;
  if (plen > 28) throw new ConfigError(`Network is too small. Minimum useful network prefix is /28 (got /${plen})`);
  let subnetLen = int(obj, 'SubnetLen') ?? 0;
  if (subnetLen === 0) subnetLen = plen <= 22 ? 24 : plen + 2;
  if (subnetLen > 30) throw new ConfigError(`SubnetLen must be less than /31 (got /${subnetLen})`);
  if (subnetLen < plen + 2) throw new ConfigError(`Network must be able to accommodate at least four subnets (SubnetLen /${subnetLen}, Network /${plen})`);
  const size = 1n << BigInt(32 - subnetLen);
  const base = net.ip.value;
  const last = base + (1n << BigInt(32 - plen)) - size;
  const subnetMin = subnetAddress(obj, 'SubnetMin', net, subnetLen) ?? base + size;
  const subnetMax = subnetAddress(obj, 'SubnetMax', net, subnetLen) ?? last;
  if (subnetMin > subnetMax) throw new ConfigError(`SubnetMin (${formatIP(ipOf(4, subnetMin))}) is above SubnetMax (${formatIP(ipOf(4, subnetMax))})`);
  return {
    network: formatNetwork(net),
    networkNet: net,
    subnetLen,
    subnetMin,
    subnetMax,
    enableNFTables: bool(obj, 'EnableNFTables') ?? false,
    backend: parseBackend(field(obj, 'Backend')),
  };
}
