// subnet.env, the file flanneld (or `tscni overlay`) writes for this plugin: which cluster
// network(s) exist, which subnet this node leases, the MTU left inside the tunnel, and whether the
// agent already masquerades. Parsed as the reference does (REFERENCE-flannel.md §1): one KEY=VALUE
// per line split at the first '=', unknown keys ignored, networks as comma lists, subnets
// normalised to their network address.
import fs from 'node:fs';
import { formatNetwork, type IPNet, parseCIDR } from '../../shared/ip/index.js';

export interface SubnetEnv {
  /** FLANNEL_NETWORK then FLANNEL_IPV6_NETWORK entries, deduplicated, as "network/len". */
  networks4: string[];
  networks6: string[];
  /** FLANNEL_SUBNET / FLANNEL_IPV6_SUBNET as "network/len". */
  subnet4?: string;
  subnet6?: string;
  mtu: number;
  /** FLANNEL_IPMASQ is exactly "true": the agent masquerades, so the delegate must not. */
  ipMasq: boolean;
}

/** A line of subnet.env that the reference would also refuse; the text is Go's error wording. */
export class SubnetEnvSyntaxError extends Error {}

function cidrOrThrow(text: string): IPNet {
  const net = parseCIDR(text);
  if (!net) throw new SubnetEnvSyntaxError(`invalid CIDR address: ${text}`);
  return net;
}

/** Go's strconv.ParseUint(s, 10, 32). */
function parseUint32(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new SubnetEnvSyntaxError(`strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`);
  const n = Number(text);
  if (n > 0xffffffff) throw new SubnetEnvSyntaxError(`strconv.ParseUint: parsing ${JSON.stringify(text)}: value out of range`);
  return n;
}

function networkList(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(',')) {
    const n = formatNetwork(cidrOrThrow(part));
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/**
 * Parses the file's text. `file` only words the "missing" error. Throws SubnetEnvSyntaxError for a
 * malformed value or for missing variables (`<file> is missing FLANNEL_MTU, ...`).
 */
export function parseSubnetEnv(text: string, file: string): SubnetEnv {
  let networks4: string[] | undefined;
  let networks6: string[] | undefined;
  let subnet4: string | undefined;
  let subnet6: string | undefined;
  let mtu: number | undefined;
  let ipMasq: boolean | undefined;
  // Go's line scanner: "\n" ends a line and one "\r" before it is dropped.
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? undefined : line.slice(eq + 1);
    const known = ['FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ'];
    if (!known.includes(key)) continue;
    if (value === undefined) throw new SubnetEnvSyntaxError(`${file}: line ${JSON.stringify(line)} has no value`);
    switch (key) {
      case 'FLANNEL_NETWORK':
        networks4 = networkList(value);
        break;
      case 'FLANNEL_IPV6_NETWORK':
        networks6 = networkList(value);
        break;
      case 'FLANNEL_SUBNET':
        subnet4 = formatNetwork(cidrOrThrow(value));
        break;
      case 'FLANNEL_IPV6_SUBNET':
        subnet6 = formatNetwork(cidrOrThrow(value));
        break;
      case 'FLANNEL_MTU':
        mtu = parseUint32(value);
        break;
      case 'FLANNEL_IPMASQ':
        ipMasq = value === 'true';
        break;
    }
  }
  const missing: string[] = [];
  if (!networks4 && !networks6) missing.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK');
  if (subnet4 === undefined && subnet6 === undefined) missing.push('FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET');
  if (mtu === undefined) missing.push('FLANNEL_MTU');
  if (ipMasq === undefined) missing.push('FLANNEL_IPMASQ');
  if (missing.length > 0 || mtu === undefined || ipMasq === undefined) {
    throw new SubnetEnvSyntaxError(`${file} is missing ${missing.join(', ')}`);
  }
  return {
    networks4: networks4 ?? [],
    networks6: networks6 ?? [],
    ...(subnet4 !== undefined ? { subnet4 } : {}),
    ...(subnet6 !== undefined ? { subnet6 } : {}),
    mtu,
    ipMasq,
  };
}

/** Reads and parses the file; I/O errors are thrown as they are (ENOENT included). */
export function loadSubnetEnv(file: string): SubnetEnv {
  return parseSubnetEnv(fs.readFileSync(file, 'utf8'), file);
}
