// Where cluster-ipam keeps its state in etcd, and what a claim says. Every name that becomes part of
// a key is checked first, so no config or environment value can reach outside its network's keys.
//
//   <prefix>/<network>/<ip>              a claim: {"containerID","ifname","node","time"}
//   <prefix>/<network>/_cursor/<set>     the last address handed out from range set <set>
//
// Network names start with a letter or digit and IPs never start with '_', so the two never meet.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { type IP, formatIP, parseIP } from '../../shared/ip/index.js';
import { NAME_PATTERN } from '../host-local/names.js';

export const DEFAULT_PREFIX = '/tscni/ipam';

/** What a claim's value records about its holder. */
export interface Claim {
  containerID: string;
  ifname: string;
  node: string;
  /** RFC 3339 time of the claim: makes every claim's value unique, so a compare on it names one claim. */
  time: string;
}

/** A prefix: absolute, segments of [A-Za-z0-9_.-], no empty, "." or ".." segments; trailing '/' dropped. */
export function checkPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  const segments = trimmed.split('/').slice(1);
  const ok = trimmed.startsWith('/') && segments.length > 0 && segments.every((s) => /^[A-Za-z0-9_.-]+$/.test(s) && s !== '.' && s !== '..');
  if (!ok) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `ipam.etcd.prefix: invalid key prefix ${JSON.stringify(prefix)}`,
      'it must be an absolute path of segments made of letters, digits, "_", "." and "-"',
    );
  }
  return trimmed;
}

export function checkNetworkName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid network name ${JSON.stringify(name)}`,
      'a network name must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$ (it is part of the etcd keys of its claims)',
    );
  }
}

/** Node names: DNS-1123 subdomain style, as Kubernetes node names (up to 253 characters). */
export function checkNodeName(name: string): void {
  if (!/^[a-z0-9A-Z]([a-zA-Z0-9_.-]{0,251}[a-zA-Z0-9])?$/.test(name)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `ipam.nodeName: invalid node name ${JSON.stringify(name)}`,
      'it must be 1-253 letters, digits, "_", "." or "-", starting and ending with a letter or digit',
    );
  }
}

export class Keys {
  constructor(
    readonly prefix: string,
    readonly network: string,
  ) {}

  /** Every key of this network (claims and cursors) starts with this. */
  get networkPrefix(): string {
    return `${this.prefix}/${this.network}/`;
  }

  claim(ip: IP): string {
    return `${this.networkPrefix}${formatIP(ip)}`;
  }

  cursor(setIndex: number): string {
    return `${this.networkPrefix}_cursor/${setIndex}`;
  }

  /** The address a claim key names, or undefined for any other key under the network. */
  ipOfKey(key: string): IP | undefined {
    if (!key.startsWith(this.networkPrefix)) return undefined;
    const rest = key.slice(this.networkPrefix.length);
    if (rest.includes('/')) return undefined;
    const ip = parseIP(rest);
    return ip && formatIP(ip) === rest ? ip : undefined;
  }
}

export const encodeClaim = (c: Claim): string =>
  JSON.stringify({ containerID: c.containerID, ifname: c.ifname, node: c.node, time: c.time });

/** A claim value, or undefined when the value is not one (written by something else). */
export function decodeClaim(value: string): Claim | undefined {
  try {
    const v = JSON.parse(value) as Partial<Claim>;
    if (typeof v.containerID !== 'string' || typeof v.ifname !== 'string' || typeof v.node !== 'string') return undefined;
    return { containerID: v.containerID, ifname: v.ifname, node: v.node, time: typeof v.time === 'string' ? v.time : '' };
  } catch {
    return undefined;
  }
}

export const sameAttachment = (c: Claim, containerID: string, ifname: string): boolean => c.containerID === containerID && c.ifname === ifname;
