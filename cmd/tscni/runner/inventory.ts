// What is attached on this node, from the files runtimes and plugins leave: libcni's result cache
// (attachments, their netns, their IPs) and host-local's leases (who holds which address).
import { existsSync } from 'node:fs';
import { isJsonObject, type JsonObject } from '../../../shared/cni/fold.js';
import { allocationsOf, type Allocation } from './allocations.js';
import { listCache, type CacheFile } from './cache.js';
import type { NetworkList } from './conf.js';

export interface AttachmentView {
  network: string;
  containerId: string;
  ifName: string;
  /** '' when the cache entry does not record it (libcni before 1.1 did not). */
  netns: string;
  /** null when unknown (no netns recorded). */
  netnsExists: boolean | null;
  ips: string[];
}

export interface AllocationView extends Allocation {
  /** Whether a cache entry of the same network names the owner. */
  cached: boolean;
}

/** The addresses of a cached result in any version (0.3.0+: ips[].address; 0.1/0.2: ip4.ip, ip6.ip). */
export function resultIPs(result: JsonObject | undefined): string[] {
  if (!result) return [];
  const out: string[] = [];
  const ips = result['ips'];
  if (Array.isArray(ips)) for (const ip of ips) if (isJsonObject(ip) && typeof ip['address'] === 'string') out.push(ip['address']);
  for (const fam of ['ip4', 'ip6']) {
    const c = result[fam];
    if (isJsonObject(c) && typeof c['ip'] === 'string') out.push(c['ip']);
  }
  return out;
}

export function viewOf(e: CacheFile): AttachmentView {
  const netns = e.netns ?? '';
  return {
    network: e.networkName,
    containerId: e.containerId,
    ifName: e.ifName,
    netns,
    netnsExists: netns === '' ? null : existsSync(netns),
    ips: resultIPs(e.result),
  };
}

export function attachments(cacheDir: string, network?: string): AttachmentView[] {
  return listCache(cacheDir)
    .filter((e) => network === undefined || e.networkName === network)
    .map(viewOf);
}

/** A lease's owner is cached when an entry of its network has its container ID (and ifname, when recorded). */
export function isOwnerCached(a: Allocation, cached: readonly AttachmentView[]): boolean {
  return cached.some((c) => c.network === a.network && c.containerId === a.containerId && (a.ifName === '' || c.ifName === a.ifName));
}

export function allocations(lists: readonly NetworkList[], cached: readonly AttachmentView[]): AllocationView[] {
  const seen = new Set<string>();
  const out: AllocationView[] = [];
  for (const list of lists) {
    for (const a of allocationsOf(list)) {
      const key = `${a.dataDir}\0${a.network}\0${a.ip}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...a, cached: isOwnerCached(a, cached) });
    }
  }
  return out;
}
