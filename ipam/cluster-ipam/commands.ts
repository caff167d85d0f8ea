// cluster-ipam's commands on a loaded config: ADD claims one address per range set in etcd, DEL
// releases this attachment's claims (and nothing else), CHECK reads them back, GC drops this node's
// claims of attachments that are gone, STATUS tells whether an ADD could succeed now.
import { accessSync, constants } from 'node:fs';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { Attachment, Result } from '../../shared/cni/types.js';
import { EtcdClient } from '../../shared/etcd/client.js';
import { EtcdRefusedError, EtcdUnavailableError } from '../../shared/etcd/errors.js';
import { type IP, formatIP } from '../../shared/ip/index.js';
import { errorText } from '../../shared/sys/error-text.js';
import { toIPConfig } from '../host-local/allocator.js';
import { checkAttachment } from '../host-local/names.js';
import { type RangeSet, rangeSetContains, rangeSetToString } from '../host-local/range.js';
import { allocatable, firstFree, type Candidate } from './candidates.js';
import type { ClusterIpamConfig } from './config.js';
import { type Claim, Keys } from './keys.js';
import { ClaimStore, type HeldClaim } from './store.js';

/** After this many lost races in a row, re-read which addresses are taken instead of probing one by one. */
const REFRESH_AFTER_CONFLICTS = 8;

const poolName = (conf: ClusterIpamConfig, set: RangeSet): string => `${rangeSetToString(set)} of network ${conf.name}`;

/** Runs `body` with a client bounded by the config's deadline; etcd failures become CNI errors. */
async function withStore<T>(conf: ClusterIpamConfig, what: string, body: (store: ClaimStore) => Promise<T>): Promise<T> {
  for (const field of ['certFile', 'keyFile', 'trustedCAFile'] as const) {
    const file = conf.etcd[field];
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `ipam.etcd.${field}: cannot read ${JSON.stringify(file)}`, errorText(err));
    }
  }
  const deadline = Date.now() + conf.timeoutMs;
  // Each request gets a third of the budget, so a member that hangs leaves time for the others.
  const client = new EtcdClient({ ...conf.etcd, requestTimeoutMs: Math.max(1000, Math.floor(conf.timeoutMs / 3)) });
  try {
    return await body(new ClaimStore(client, new Keys(conf.prefix, conf.name), deadline));
  } catch (err) {
    if (err instanceof EtcdUnavailableError) {
      throw new CniError(ErrorCode.TryAgainLater, `cluster-ipam: ${what}: etcd unavailable (endpoints ${err.endpoints.join(', ')})`, err.message);
    }
    if (err instanceof EtcdRefusedError) {
      throw new CniError(ErrorCode.IOFailure, `cluster-ipam: ${what}: etcd refused the request`, err.message);
    }
    throw err;
  } finally {
    client.close();
  }
}

/** Claims one address of `set` for `claim`: the requested one, or the next free after the set's cursor. */
async function claimFromSet(
  conf: ClusterIpamConfig,
  store: ClaimStore,
  setIndex: number,
  set: RangeSet,
  requested: IP | undefined,
  state: { taken: Set<string>; cursors: Map<number, IP> },
  claim: Claim,
): Promise<{ candidate: Candidate; key: string; raw: string }> {
  const ours = (holder: Claim | undefined): boolean =>
    holder !== undefined && holder.containerID === claim.containerID && holder.ifname === claim.ifname && holder.time === claim.time;
  if (requested) {
    const range = allocatable(set, conf.exclude, requested);
    if (!range) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `cluster-ipam: requested IP address ${formatIP(requested)} is a gateway or excluded in range set ${rangeSetToString(set)}`,
      );
    }
    const out = await store.claim(requested, setIndex, claim, formatIP(requested));
    // A lost answer retried by the client may find our own claim already there.
    if (out.won || ours(out.holder)) return { candidate: { ip: requested, range }, key: store.keys.claim(requested), raw: out.raw };
    throw new CniError(
      ErrorCode.TryAgainLater,
      `cluster-ipam: requested IP address ${formatIP(requested)} is not available in range set ${rangeSetToString(set)}`,
      out.holder ? `held by container ${out.holder.containerID} on node ${out.holder.node}` : '',
    );
  }
  const keyOf = (ip: IP): string => store.keys.claim(ip);
  let taken = state.taken;
  let after = state.cursors.get(setIndex);
  let conflicts = 0;
  for (;;) {
    const c = firstFree(set, conf.exclude, after, taken, keyOf);
    if (!c) break;
    const out = await store.claim(c.ip, setIndex, claim, formatIP(c.ip));
    if (out.won || ours(out.holder)) return { candidate: c, key: keyOf(c.ip), raw: out.raw };
    // Another node won this address: go on after it; after several such races, re-read the pool.
    taken.add(keyOf(c.ip));
    after = c.ip;
    if (++conflicts % REFRESH_AFTER_CONFLICTS === 0) {
      taken = await store.takenKeys();
      state.taken = taken;
    }
  }
  throw new CniError(ErrorCode.TryAgainLater, `cluster-ipam: no IP addresses available in pool ${poolName(conf, set)}`);
}

export async function cmdAdd(conf: ClusterIpamConfig, containerID: string, ifName: string, cniVersion: string): Promise<Result> {
  checkAttachment(containerID, ifName);
  return withStore(conf, 'ADD', async (store) => {
    const state = await store.read();
    const held = ClaimStore.of(state, containerID, ifName);
    if (held.length > 0) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `cluster-ipam: ${held.map((h) => formatIP(h.ip)).join(', ')} has been allocated to ${containerID}, duplicate allocation is not allowed`,
      );
    }
    const claim: Claim = { containerID, ifname: ifName, node: conf.nodeName, time: new Date().toISOString() };
    const pending = [...conf.requested];
    const taken: { candidate: Candidate; key: string; raw: string }[] = [];
    try {
      for (const [idx, set] of conf.ranges.entries()) {
        const wanted = pending.findIndex((ip) => rangeSetContains(set, ip));
        const requested = wanted >= 0 ? pending.splice(wanted, 1)[0] : undefined;
        taken.push(await claimFromSet(conf, store, idx, set, requested, state, claim));
      }
      if (pending.length > 0) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, `failed to allocate all requested IPs: ${pending.map(formatIP).join(' ')}`, 'no range set contains them');
      }
    } catch (err) {
      // Release what this ADD claimed, and only that (the compare on the value sees to it).
      for (const t of taken) {
        await store.release(t.key, t.raw).catch((e: unknown) => process.stderr.write(`cluster-ipam: releasing ${t.key} after a failed ADD: ${errorText(e)}\n`));
      }
      throw err;
    }
    const result: Result = { cniVersion, ips: taken.map((t) => toIPConfig(t.candidate)) };
    if (conf.routes) result.routes = conf.routes;
    return result;
  });
}

export async function cmdDel(conf: ClusterIpamConfig, containerID: string, ifName: string): Promise<void> {
  checkAttachment(containerID, ifName);
  await withStore(conf, 'DEL', async (store) => {
    const mine = ClaimStore.of(await store.read(), containerID, ifName);
    // A claim whose value changed since the read belongs to someone else now: release() leaves it.
    for (const c of mine) await store.release(c.key, c.raw);
  });
}

export async function cmdCheck(conf: ClusterIpamConfig, containerID: string, ifName: string): Promise<void> {
  checkAttachment(containerID, ifName);
  await withStore(conf, 'CHECK', async (store) => {
    const mine = ClaimStore.of(await store.read(), containerID, ifName);
    conf.ranges.forEach((set, idx) => {
      if (!mine.some((c) => rangeSetContains(set, c.ip))) {
        throw new CniError(
          ErrorCode.UnknownContainer,
          `cluster-ipam: Failed to find address added by container ${containerID}`,
          `no claim of ${containerID}/${ifName} in range set ${idx} (${rangeSetToString(set)})`,
        );
      }
    });
  });
}

export async function cmdGC(conf: ClusterIpamConfig, valid: readonly Attachment[]): Promise<void> {
  for (const a of valid) checkAttachment(a.containerID, a.ifname);
  const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
  await withStore(conf, 'GC', async (store) => {
    const stale: HeldClaim[] = (await store.read()).claims.filter(
      (c) => c.claim !== undefined && c.claim.node === conf.nodeName && !keep.has(`${c.claim.containerID}\0${c.claim.ifname}`),
    );
    for (const c of stale) await store.release(c.key, c.raw);
  });
}

export async function cmdStatus(conf: ClusterIpamConfig): Promise<void> {
  let full: string[];
  try {
    full = await withStore(conf, 'STATUS', async (store) => {
      const state = await store.read();
      return conf.ranges
        .filter((set) => firstFree(set, conf.exclude, undefined, state.taken, (ip) => store.keys.claim(ip)) === undefined)
        .map((set) => poolName(conf, set));
    });
  } catch (err) {
    if (err instanceof CniError && (err.code === ErrorCode.TryAgainLater || err.code === ErrorCode.IOFailure)) {
      throw new CniError(ErrorCode.NotAvailable, err.msg, err.details);
    }
    throw err;
  }
  if (full.length > 0) throw new CniError(ErrorCode.NotAvailable, `cluster-ipam: no IP addresses available in pool ${full.join('; ')}`);
}


