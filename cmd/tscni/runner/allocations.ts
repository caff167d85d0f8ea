// host-local's on-disk leases, read independently of the plugin: <dataDir>/<network>/<ip> files
// holding "<containerID>\r\n<ifname>" (older versions: the container ID alone).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isJsonObject } from '../../../shared/cni/fold.js';
import { containsIP, parseCIDR, parseIP } from '../../../shared/ip/index.js';
import type { NetworkList } from './conf.js';

export const DEFAULT_HOST_LOCAL_DATA_DIR = '/var/lib/cni/networks';

export interface Allocation {
  network: string;
  dataDir: string;
  ip: string;
  containerId: string;
  /** '' when the lease predates host-local recording the interface. */
  ifName: string;
}

/** The host-local data dirs a list's plugins use (a plugin's own ipam, as bridge/ptp/macvlan carry it). */
export function hostLocalDataDirs(list: NetworkList): string[] {
  const dirs = new Set<string>();
  for (const plugin of list.plugins) {
    const ipam = plugin['ipam'];
    if (!isJsonObject(ipam) || ipam['type'] !== 'host-local') continue;
    const dir = typeof ipam['dataDir'] === 'string' && ipam['dataDir'] !== '' ? ipam['dataDir'] : DEFAULT_HOST_LOCAL_DATA_DIR;
    dirs.add(dir);
  }
  return [...dirs];
}

const notALease = (name: string): boolean => name === 'lock' || name.startsWith('last_reserved_ip') || name.includes('.tmp');

export function allocationsOf(list: NetworkList): Allocation[] {
  const out: Allocation[] = [];
  for (const dataDir of hostLocalDataDirs(list)) {
    const dir = path.join(dataDir, list.name);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (notALease(name)) continue;
      let text: string;
      try {
        text = readFileSync(path.join(dir, name), 'utf8');
      } catch {
        continue;
      }
      const [cid = '', ifName = ''] = text.split(/\r?\n/).map((s) => s.trim());
      // host-local names IPv6 leases with ':' (a file name can hold it); nothing to unescape.
      out.push({ network: list.name, dataDir, ip: name, containerId: cid, ifName });
    }
  }
  return out;
}

/** The subnets of a list's host-local ranges (ranges[][].subnet, or the legacy top-level subnet). */
function hostLocalSubnets(list: NetworkList): string[] {
  const out: string[] = [];
  for (const plugin of list.plugins) {
    const ipam = plugin['ipam'];
    if (!isJsonObject(ipam) || ipam['type'] !== 'host-local') continue;
    if (typeof ipam['subnet'] === 'string') out.push(ipam['subnet']);
    const sets = Array.isArray(ipam['ranges']) ? ipam['ranges'] : [];
    for (const set of sets) {
      if (!Array.isArray(set)) continue;
      for (const r of set) if (isJsonObject(r) && typeof r['subnet'] === 'string') out.push(r['subnet']);
    }
  }
  return out;
}

/** A leased address as a CIDR with its range's prefix ("10.1.2.3/24"); a host prefix when no range holds it. */
export function leaseCIDR(list: NetworkList, ip: string): string {
  const addr = parseIP(ip);
  if (!addr) return ip;
  for (const subnet of hostLocalSubnets(list)) {
    const net = parseCIDR(subnet);
    if (net && net.ip.family === addr.family && containsIP(net, addr)) return `${ip}/${net.prefix}`;
  }
  return `${ip}/${ip.includes(':') ? 128 : 32}`;
}
