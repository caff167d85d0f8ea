// The VRF operations inside the container netns: find or create the VRF, enslave the interface
// while keeping its IPv6 addresses and routes, and release it again (REFERENCE §3.18).
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { equalIP, parseIP } from '../../shared/ip/index.js';
import { type Address, type Link, type Netlink, RT_SCOPE_UNIVERSE, routeSpecInTable } from '../../shared/netlink/index.js';
import { firstFreeVrfTable } from './config.js';
import { errorText } from '../../shared/sys/error-text.js';

const fail = (msg: string, err: unknown): Error => new Error(`${msg}: ${errorText(err)}`, { cause: err });

/** Waits for a restored IPv6 address's local route: 10 ms, 20 ms ... doubling, 8 retries (~2.5 s). */
export const RESTORE_BACKOFF_MS = 10;
export const RESTORE_RETRIES = 8;

/** The VRF device named `name`, undefined when there is none; a non-VRF link of that name is an error. */
export function findVrf(nl: Netlink, name: string): Link | undefined {
  const link = nl.findLink(name);
  if (link && link.kind !== 'vrf') throw new CniError(ErrorCode.InvalidNetworkConfig, `Netlink ${name} is not a VRF`, `vrfname: ${JSON.stringify(name)}`);
  return link;
}

/** Creates the VRF (table 0: the first id no other VRF uses) and sets it up. */
export function createVrf(nl: Netlink, name: string, table: number): Link {
  let links: Link[];
  try {
    links = nl.listLinks();
  } catch (err) {
    throw fail('createVRF: Failed to find links', err);
  }
  const t = table !== 0 ? table : firstFreeVrfTable(links);
  try {
    nl.createVrf({ name, table: t });
  } catch (err) {
    throw fail(`could not add VRF ${name}`, err);
  }
  const vrf = nl.getLink(name);
  try {
    nl.setLinkUp(vrf);
  } catch (err) {
    nl.deleteLink(vrf);
    throw fail(`could not set link up for VRF ${name}`, err);
  }
  return vrf;
}

/** Links enslaved to the VRF. */
export function slavesOf(nl: Netlink, vrf: Link): Link[] {
  return nl.listLinks().filter((l) => l.masterIndex === vrf.index);
}

/** Global (universe scope) IPv6 addresses: the kernel drops them when the link changes master. */
function globalV6Addresses(nl: Netlink, link: Link): Address[] {
  return nl.listAddresses({ ifindex: link.index, family: 6 }).filter((a) => a.scope === RT_SCOPE_UNIVERSE);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True once the VRF table holds the host route of `ip` on `link` (the kernel adds it with the address). */
function hasHostRoute(nl: Netlink, link: Link, table: number, ip: string): boolean {
  const want = parseIP(ip);
  return nl.listRoutes({ table, ifindex: link.index, family: 6 }).some((r) => {
    const [dst, len] = r.dst.split('/');
    const got = parseIP(dst ?? '');
    return len === '128' && !!want && !!got && equalIP(want, got);
  });
}

/**
 * Enslaves `ifName` to the VRF: saves its global IPv6 addresses and its universe routes that carry
 * a source address, sets the master, restores the addresses the kernel dropped (waiting for their
 * host routes in the VRF table), then replaces the saved routes into the VRF table.
 * `onEnslaved` runs as soon as the master is set, so a caller can undo it if a later step fails.
 */
export async function addInterface(nl: Netlink, vrf: Link, vrfName: string, ifName: string, onEnslaved: () => void): Promise<void> {
  const table = vrf.vrfTable ?? 0;
  const link = nl.findLink(ifName);
  if (!link) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `could not get link by name ${ifName}`, `CNI_IFNAME=${JSON.stringify(ifName)}`);
  if (link.masterIndex) {
    const master = nl.findLinkByIndex(link.masterIndex);
    if (!master) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `interface ${ifName} has already a master set, could not retrieve the name`);
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `interface ${ifName} has already a master set: ${master.name}`);
  }
  const before = globalV6Addresses(nl, link);
  const saved = nl.listRoutes({ ifindex: link.index }).filter((r) => r.scope === RT_SCOPE_UNIVERSE && r.src !== undefined);
  try {
    nl.setMaster(link, vrf);
  } catch (err) {
    throw fail(`could not set vrf ${vrfName} as master of ${ifName}`, err);
  }
  onEnslaved();
  const after = globalV6Addresses(nl, link);
  for (const a of before) {
    if (after.some((b) => b.address === a.address)) continue;
    try {
      nl.addAddress(link, a.address, { noDad: a.flags.nodad });
    } catch (err) {
      throw fail(`could not restore address ${a.address} to ${ifName} @ ${vrfName}`, err);
    }
    for (let retry = 0; ; retry++) {
      if (hasHostRoute(nl, link, table, a.ip)) break;
      if (retry === RESTORE_RETRIES) {
        throw new CniError(ErrorCode.TryAgainLater, `failed getting local/host addresses for ${ifName} in table ${table} with dst ${a.address}`);
      }
      await sleep(RESTORE_BACKOFF_MS * 2 ** retry);
    }
  }
  for (const r of saved) {
    try {
      nl.replaceRoute(routeSpecInTable(r, table));
    } catch (err) {
      throw fail(`could not add route '${r.dst}${r.gw ? ` via ${r.gw}` : ''}' to table ${table}`, err);
    }
  }
}
