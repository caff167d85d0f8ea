// host-local's commands on a loaded config. Kept apart from the entry point so they can be driven
// with any Store-backed config; the entry point (index.ts) only decodes stdin.
import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { Attachment, Result } from '../../shared/cni/types.js';
import { type IP, compareIP, formatIP, parseIP } from '../../shared/ip/index.js';
import { AllocationError, type Allocation, IPAllocator, toIPConfig } from './allocator.js';
import type { HostLocalConfig } from './config.js';
import { DEFAULT_DATA_DIR, DiskStore } from './disk-store.js';
import { parseResolvConf } from './dns.js';
import { checkAttachment } from './names.js';
import { INDEX_ROOT } from './owner-index.js';
import { type RangeSet, rangeContains, rangeSetContains, rangeSetFamily, rangeToString } from './range.js';
import { makeDirectories } from '../../shared/sys/dirs.js';
import { errorText } from '../../shared/sys/error-text.js';

/** CNI codes for allocation failures (the reference returns them all as 999, "internal"). */
function allocationCode(kind: AllocationError['kind']): number {
  switch (kind) {
    case 'exhausted':
    case 'requested-unavailable':
      // Another container holds the address(es); it may be free later.
      return ErrorCode.TryAgainLater;
    default:
      // The request contradicts the config or the store (duplicate ADD, gateway, outside every set).
      return ErrorCode.InvalidNetworkConfig;
  }
}

function withStore<T>(conf: HostLocalConfig, fn: (store: DiskStore) => T): T {
  const store = DiskStore.open(conf.dataDir, conf.name, conf.ranges.length);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

export function cmdAdd(conf: HostLocalConfig, containerID: string, ifName: string, cniVersion: string): Result {
  checkAttachment(containerID, ifName);
  const dns = conf.resolvConf ? parseResolvConf(conf.resolvConf) : undefined;
  const allocations = withStore(conf, (store) => {
    const pending: IP[] = [...conf.requested];
    const taken: Allocation[] = [];
    const rollback = (): void => {
      // Release what this ADD took, and only that: leases held before it stay.
      for (const a of taken) store.releaseIP(containerID, ifName, a.ip);
    };
    for (const [idx, set] of conf.ranges.entries()) {
      const wanted = pending.findIndex((ip) => rangeSetContains(set, ip));
      const requested = wanted >= 0 ? pending.splice(wanted, 1)[0] : undefined;
      try {
        taken.push(new IPAllocator(set, store, idx).get(containerID, ifName, requested));
      } catch (e) {
        rollback();
        if (e instanceof AllocationError) {
          throw new CniError(allocationCode(e.kind), `failed to allocate for range ${idx}: ${e.message}`);
        }
        throw e;
      }
    }
    if (pending.length > 0) {
      rollback();
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `failed to allocate all requested IPs: ${pending.map(formatIP).join(' ')}`,
        'no range set contains them',
      );
    }
    return taken;
  });
  const result: Result = { cniVersion, ips: allocations.map(toIPConfig) };
  if (conf.routes) result.routes = conf.routes;
  if (dns) result.dns = dns;
  return result;
}

export function cmdDel(conf: HostLocalConfig, containerID: string, ifName: string): void {
  checkAttachment(containerID, ifName);
  withStore(conf, (store) => store.releaseByID(containerID, ifName));
}

export function cmdCheck(conf: HostLocalConfig, containerID: string, ifName: string): void {
  checkAttachment(containerID, ifName);
  const found = withStore(conf, (store) => store.findByID(containerID, ifName));
  if (!found) {
    throw new CniError(
      ErrorCode.UnknownContainer,
      `host-local: Failed to find address added by container ${containerID}`,
    );
  }
}

export function cmdGC(conf: HostLocalConfig, valid: readonly Attachment[]): void {
  for (const a of valid) checkAttachment(a.containerID, a.ifname);
  withStore(conf, (store) => store.gc(valid));
}

/** Addresses a range set can hand out, and how many of them are leased now. */
function usage(set: RangeSet, leases: readonly IP[]): { capacity: bigint; used: bigint } {
  let capacity = 0n;
  for (const r of set) {
    capacity += r.rangeEnd.value - r.rangeStart.value + 1n;
    if (rangeContains(r, r.gateway)) capacity -= 1n;
  }
  let used = 0n;
  for (const ip of leases) {
    const r = set.find((x) => rangeContains(x, ip));
    if (r && compareIP(ip, r.gateway) !== 0) used += 1n;
  }
  return { capacity, used };
}

/**
 * STATUS: ready unless the store cannot be written or some range set has no free address (an ADD
 * needs one address from every set, so one exhausted set blocks every ADD).
 */
export function cmdStatus(conf: HostLocalConfig): void {
  const root = conf.dataDir === '' ? DEFAULT_DATA_DIR : conf.dataDir;
  const notAvailable = (msg: string, details = ''): CniError => new CniError(ErrorCode.NotAvailable, msg, details);
  let leases: IP[];
  try {
    leases = withStore(conf, (store) => {
      fs.accessSync(store.netDir, fs.constants.W_OK);
      const probeDir = path.join(root, INDEX_ROOT, conf.name);
      makeDirectories(probeDir, 0o700);
      const probe = path.join(probeDir, `status-probe.${process.pid}`);
      fs.writeFileSync(probe, 'x');
      fs.rmSync(probe, { force: true });
      return store.leaseNames().map((n) => parseIP(n)!);
    });
  } catch (e) {
    const reason = errorText(e);
    throw notAvailable(`host-local: the lease store ${path.join(root, conf.name)} cannot be written`, reason);
  }
  const exhausted: string[] = [];
  conf.ranges.forEach((set, idx) => {
    const { capacity, used } = usage(set, leases);
    if (used >= capacity) {
      exhausted.push(`range set ${idx} (IPv${rangeSetFamily(set)} ${set.map(rangeToString).join(',')}) has no free address`);
    }
  });
  if (exhausted.length > 0) {
    throw notAvailable(`host-local: network ${conf.name} cannot allocate: ${exhausted.join('; ')}`);
  }
}
