// `tscni gc <network>` (libcni's GCNetworkList with the cache as the valid list) and
// `tscni gc --stale <network>`: release the attachments a missed DEL left behind.
import type { Attachment } from '../../../shared/cni/types.js';
import { versionAtLeast } from '../../../shared/cni/versions.js';
import { listCache, removeCache } from './cache.js';
import type { NetworkList } from './conf.js';
import { RunnerError } from './errors.js';
import { leaseCIDR } from './allocations.js';
import { allocations, attachments, type AttachmentView } from './inventory.js';
import type { JsonObject } from '../../../shared/cni/fold.js';
import { delList, gcPlugins, gcSupported, type Context } from './ops.js';

export interface StaleAttachment {
  network: string;
  containerId: string;
  ifName: string;
  netns: string;
  ips: string[];
  why: 'netns gone' | 'no cache entry';
}

export interface GcReport {
  network: string;
  /** What the plugins were told to keep. */
  validAttachments: Attachment[];
  /** `--stale`: what was released, and how ("gc": the plugins' GC; "del": one DEL each, below 1.1.0). */
  released?: StaleAttachment[];
  method: 'gc' | 'del' | 'none';
  note?: string;
}

const DISABLED = 'the list sets disableGC: nothing done';

const toValid = (a: AttachmentView): Attachment => ({ containerID: a.containerId, ifname: a.ifName });

function requireGc(list: NetworkList): void {
  if (!gcSupported(list)) {
    throw new RunnerError(`network "${list.name}" has cniVersion "${list.cniVersion}": GC needs cniVersion 1.1.0 or later (as libcni)`);
  }
}

/** Plain gc: every cache entry of the network is valid; the plugins drop whatever else they hold. */
export async function gcNetwork(ctx: Context, list: NetworkList): Promise<GcReport> {
  const valid = attachments(ctx.cacheDir, list.name).map(toValid);
  // libcni: disableGC comes before anything else (no DEL, no GC, whatever the version).
  if (list.disableGC) return { network: list.name, validAttachments: valid, method: 'none', note: DISABLED };
  requireGc(list);
  await gcPlugins(ctx, list, valid);
  return { network: list.name, validAttachments: valid, method: 'gc' };
}

/** The stale attachments of a network: cached ones whose netns is gone, and leases nobody's cache names. */
export function findStale(ctx: Context, list: NetworkList): { stale: StaleAttachment[]; live: AttachmentView[] } {
  const cached = attachments(ctx.cacheDir, list.name);
  const stale: StaleAttachment[] = [];
  const live: AttachmentView[] = [];
  for (const a of cached) {
    if (a.netnsExists === false) stale.push({ network: a.network, containerId: a.containerId, ifName: a.ifName, netns: a.netns, ips: a.ips, why: 'netns gone' });
    else live.push(a);
  }
  const orphans = new Map<string, StaleAttachment>();
  for (const l of allocations([list], cached)) {
    if (l.cached || l.containerId === '') continue;
    const ifName = l.ifName || 'eth0';
    const key = `${l.containerId}\0${ifName}`;
    const o = orphans.get(key) ?? { network: list.name, containerId: l.containerId, ifName, netns: '', ips: [], why: 'no cache entry' as const };
    o.ips.push(l.ip);
    orphans.set(key, o);
  }
  return { stale: [...stale, ...orphans.values()], live };
}

/**
 * gc --stale. At 1.1.0+ the plugins' own GC releases them (valid-attachments = the live cache
 * entries); below, where plugins know no GC (e.g. the Go reference 1.1.1 at 1.0.0), each stale
 * attachment gets a DEL without netns (cached prevResult and args when there is an entry). Their
 * cache entries go once the plugins are done.
 */
export async function gcStale(ctx: Context, list: NetworkList): Promise<GcReport> {
  const { stale, live } = findStale(ctx, list);
  const valid = live.map(toValid);
  if (list.disableGC) return { network: list.name, validAttachments: valid, released: [], method: 'none', note: `${DISABLED}; ${stale.length} stale attachment(s) left` };
  let method: GcReport['method'] = 'none';
  if (gcSupported(list)) {
    await gcPlugins(ctx, list, valid);
    method = 'gc';
  } else if (stale.length > 0) {
    const cached = new Map(attachments(ctx.cacheDir, list.name).map((a) => [`${a.containerId}\0${a.ifName}`, a]));
    for (const s of stale) {
      const entry = cached.get(`${s.containerId}\0${s.ifName}`);
      const rt = { containerId: s.containerId, netns: '', ifName: s.ifName, cniArgs: [], capabilityArgs: {}, ...(entry ? cachedRuntime(ctx, list, s) : {}) };
      // Without a cache entry, the leased addresses are all that is known: plugins that find
      // their rules by address (firewall, portmap) get them as prevResult.
      await delList(ctx, list, rt, entry ? undefined : leasePrevResult(list, s));
    }
    method = 'del';
  }
  for (const s of stale) if (s.why === 'netns gone') removeCache(ctx.cacheDir, { network: list.name, containerId: s.containerId, ifName: s.ifName });
  return { network: list.name, validAttachments: valid, released: stale, method };
}

/** The CNI_ARGS and capability args the attachment was added with, as libcni's GC DEL passes them. */
function cachedRuntime(ctx: Context, list: NetworkList, s: StaleAttachment): { cniArgs: [string, string][]; capabilityArgs: Record<string, unknown> } {
  const e = listCache(ctx.cacheDir).find((c) => c.networkName === list.name && c.containerId === s.containerId && c.ifName === s.ifName);
  return { cniArgs: e?.cniArgs ?? [], capabilityArgs: e?.capabilityArgs ?? {} };
}

/** A prevResult made of an orphan's leases, in the list's version (0.4.0+: only then is it passed). */
function leasePrevResult(list: NetworkList, s: StaleAttachment): JsonObject | undefined {
  if (!versionAtLeast(list.cniVersion || '0.1.0', '0.4.0')) return undefined;
  return { cniVersion: list.cniVersion, ips: s.ips.map((ip) => ({ address: leaseCIDR(list, ip) })) };
}
