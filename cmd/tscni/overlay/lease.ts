// Subnet leases as flanneld stores them in etcd (REFERENCE-flannel.md §2 "etcd layout"):
// key `<prefix>/subnets/10.5.52.0-24`, value
// {"PublicIP":"…","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}
// so a real flanneld can share the cluster. Pure: key/value codecs and the choice of a free subnet.
import { formatIP, ipOf, parseIP } from '../../../shared/ip/index.js';
import type { NetworkConfig } from './network-config.js';

export interface Subnet {
  /** Network address as a number (IPv4). */
  base: bigint;
  len: number;
}

export interface LeaseAttrs {
  publicIP: string;
  backendType: string;
  /** From BackendData, for vxlan leases. */
  vni?: number;
  vtepMAC?: string;
}

export interface Lease {
  subnet: Subnet;
  attrs: LeaseAttrs;
}

export const subnetsPrefix = (prefix: string): string => `${prefix.replace(/\/+$/, '')}/subnets/`;
export const configKey = (prefix: string): string => `${prefix.replace(/\/+$/, '')}/config`;

export const subnetText = (s: Subnet): string => `${formatIP(ipOf(4, s.base))}/${s.len}`;
export const subnetKeyName = (s: Subnet): string => `${formatIP(ipOf(4, s.base))}-${s.len}`;
export const subnetKey = (prefix: string, s: Subnet): string => subnetsPrefix(prefix) + subnetKeyName(s);
export const sameSubnet = (a: Subnet, b: Subnet): boolean => a.base === b.base && a.len === b.len;
/** The subnet's first address: the VTEP address of its node (flannel.N carries it as /32). */
export const subnetGatewayIP = (s: Subnet): string => formatIP(ipOf(4, s.base));

/** "10.5.52.0-24" (the part after subnets/) -> subnet; undefined for other names (dual-stack keys too). */
export function parseSubnetKeyName(name: string): Subnet | undefined {
  const m = /^([0-9.]+)-([0-9]{1,2})$/.exec(name);
  if (!m) return undefined;
  const ip = parseIP(m[1]!);
  const len = Number(m[2]);
  if (!ip || ip.family !== 4 || len > 32) return undefined;
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(32 - len);
  if ((ip.value & mask) !== ip.value) return undefined;
  return { base: ip.value, len };
}

/** "10.156.17.1/24" -> its subnet (host bits cleared). */
export function parseSubnetCIDR(text: string): Subnet | undefined {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = parseIP(m[1]!);
  const len = Number(m[2]);
  if (!ip || ip.family !== 4 || len > 32) return undefined;
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(32 - len);
  return { base: ip.value & mask, len };
}

/** flanneld's JSON, field order as Go's struct (LeaseAttrs) marshals it. */
export function encodeLeaseAttrs(a: LeaseAttrs): string {
  const data = a.backendType === 'vxlan' ? { VNI: a.vni ?? 1, VtepMAC: a.vtepMAC ?? '' } : undefined;
  return JSON.stringify({ PublicIP: a.publicIP, PublicIPv6: null, BackendType: a.backendType, ...(data ? { BackendData: data } : {}) });
}

/** Decodes a lease value; undefined when it is not flanneld's layout. Keys are matched case-insensitively, as Go does. */
export function decodeLeaseAttrs(text: string): LeaseAttrs | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const get = (o: unknown, name: string): unknown => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
    let v: unknown;
    for (const [k, val] of Object.entries(o)) if (k.toLowerCase() === name.toLowerCase()) v = val;
    return v;
  };
  const publicIP = get(raw, 'PublicIP');
  const backendType = get(raw, 'BackendType');
  if (typeof publicIP !== 'string' || !parseIP(publicIP) || typeof backendType !== 'string') return undefined;
  const out: LeaseAttrs = { publicIP, backendType };
  const data = get(raw, 'BackendData');
  const vni = get(data, 'VNI');
  const mac = get(data, 'VtepMAC');
  if (typeof vni === 'number') out.vni = vni;
  if (typeof mac === 'string' && /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) out.vtepMAC = mac.toLowerCase();
  return out;
}

export const overlapsSubnet = (a: Subnet, b: Subnet): boolean => {
  const end = (s: Subnet): bigint => s.base + (1n << BigInt(32 - s.len)) - 1n;
  return a.base <= end(b) && b.base <= end(a);
};

/** A lease this config may keep: inside SubnetMin..SubnetMax with the configured length (flanneld's isSubnetConfigCompat). */
export function isCompatible(cfg: NetworkConfig, s: Subnet): boolean {
  return s.len === cfg.subnetLen && s.base >= cfg.subnetMin && s.base <= cfg.subnetMax;
}

/** Up to 100 free subnets in SubnetMin..SubnetMax, then one at random (flanneld's allocation). */
export function pickFreeSubnet(cfg: NetworkConfig, taken: readonly Subnet[], random: (n: number) => number = (n) => Math.floor(Math.random() * n)): Subnet | undefined {
  const size = 1n << BigInt(32 - cfg.subnetLen);
  const free: Subnet[] = [];
  for (let base = cfg.subnetMin; base <= cfg.subnetMax && free.length < 100; base += size) {
    const s = { base, len: cfg.subnetLen };
    if (!taken.some((t) => overlapsSubnet(t, s))) free.push(s);
  }
  return free.length === 0 ? undefined : free[random(free.length)];
}

