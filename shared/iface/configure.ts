// Applying an IPAM result to the container interface (REFERENCE §2 "ipam.ConfigureIface"), shared by
// bridge, ptp, macvlan, ipvlan, vlan, host-device, tap and dummy. Acts through a netlink handle
// bound to the container netns, plus sysctls written inside it:
// - only IPs whose `interface` index names `<if>` are applied (a mismatching index is an error, an
//   absent one is skipped);
// - before the first IPv6 address: disable_ipv6=0 for `lo` and `<if>`, keep_addr_on_down=1 for `<if>`;
// - the link is set UP, then every address is added (DAD starts at once for each IPv6 address);
// - with an IPv6 gateway, wait (≤5 s) for duplicate address detection to finish: DADFAILED is an
//   error, and so is a still-tentative address on a link that is up when the time runs out;
// - routes are added ECMP-style (an IPv6 route with the same destination gains a next hop); a route
//   without gw uses the first gateway of its family; priority, table and scope are honoured, mtu and
//   advmss are not (as in the reference).
import type { IPConfig, Result, Route } from '../cni/types.js';
import { assignInterface } from '../ipam/index.js';
import { formatNetwork, ipFamily, mustParsePrefix } from '../ip/index.js';
import { isErrno, type Link, type Netlink, readSysctl, writeSysctl } from '../netlink/index.js';
import { errorText } from '../sys/error-text.js';

/** Go's `%v` of an IPConfig is unreadable; this names the address (and gateway) instead. */
const describeIP = (ipc: IPConfig): string => (ipc.gateway ? `${ipc.address} (gateway ${ipc.gateway})` : ipc.address);

const isV6 = (cidrOrIP: string): boolean => ipFamily(cidrOrIP) === 6;

export interface ConfigureIfaceOptions {
  /** Longest wait for IPv6 DAD to settle, in ms (default 5000, as the reference). */
  dadTimeoutMs?: number;
}

/** Writes disable_ipv6=0 on `lo` and `<if>` (only when not already 0) and keep_addr_on_down=1 on `<if>`. */
function enableIPv6(nl: Netlink, ifName: string): void {
  nl.inNetns(() => {
    for (const iface of ['lo', ifName]) {
      const key = ['net', 'ipv6', 'conf', iface, 'disable_ipv6'];
      let value: string;
      try {
        value = readSysctl(key);
      } catch (err) {
        // IPv6 absent in this kernel/netns: the address add below reports the real problem.
        process.stderr.write(`configure: failed to read sysctl net/ipv6/conf/${iface}/disable_ipv6: ${errorText(err)}\n`);
        continue;
      }
      if (value === '0') continue;
      try {
        writeSysctl(key, '0');
      } catch (err) {
        throw new Error(`failed to enable IPv6 for interface "${iface}" (net/ipv6/conf/${iface}/disable_ipv6=${value}): ${errorText(err)}`, { cause: err });
      }
    }
    try {
      writeSysctl(['net', 'ipv6', 'conf', ifName, 'keep_addr_on_down'], '1');
    } catch {
      // Older kernels lack the knob; addresses then vanish on link down, as they always did.
    }
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until no global IPv6 address of `link` is tentative. Link-local addresses are not waited
 * for (the reference skips them too). Throws on DADFAILED, and on a timeout while the link is up.
 */
export async function settleIPv6Addresses(nl: Netlink, link: Link, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 100)) {
    let pending = false;
    for (const a of nl.listAddresses({ ifindex: link.index, family: 6 })) {
      if (a.ip.toLowerCase().startsWith('fe80:')) continue;
      if (a.flags.dadfailed) throw new Error(`link ${link.name} has address ${a.address} in DADFAILED state`);
      if (a.flags.tentative) pending = true;
    }
    if (!pending) return;
    if (Date.now() >= deadline) {
      const now = nl.findLinkByIndex(link.index);
      if (now && now.up) throw new Error(`link ${link.name} still has tentative IPv6 addresses after ${timeoutMs / 1000} seconds`);
      return;
    }
    await sleep(delay);
  }
}

/** The route the kernel is asked for, with the reference's gateway fallback. */
export function routeSpecFor(r: Route, ifindex: number, v4gw: string | undefined, v6gw: string | undefined) {
  const gw = r.gw ?? (isV6(r.dst) ? v6gw : v4gw);
  return {
    dst: r.dst,
    ifindex,
    ...(gw !== undefined ? { gw } : {}),
    ...(r.priority !== undefined ? { priority: r.priority } : {}),
    ...(r.table !== undefined ? { table: r.table } : {}),
    ...(r.scope !== undefined ? { scope: r.scope } : {}),
  };
}

/**
 * ConfigureIface: applies `result`'s addresses and routes to `ifName` through `nl`, a handle bound
 * to the container netns. Throws a plain Error with the reference's wording on failure (the skel
 * reports it as code 999, as the reference does).
 */
export async function configureIface(nl: Netlink, ifName: string, result: Result, opts: ConfigureIfaceOptions = {}): Promise<void> {
  const interfaces = result.interfaces ?? [];
  if (interfaces.length === 0) throw new Error('no interfaces to configure');

  let link: Link;
  try {
    link = nl.getLink(ifName);
  } catch (err) {
    throw new Error(`failed to lookup "${ifName}": ${errorText(err)}`, { cause: err });
  }

  try {
    nl.setLinkUp(link);
  } catch (err) {
    throw new Error(`failed to set "${ifName}" UP: ${errorText(err)}`, { cause: err });
  }

  let v4gw: string | undefined;
  let v6gw: string | undefined;
  let ipv6Enabled = false;
  for (const ipc of result.ips ?? []) {
    if (ipc.interface === undefined) continue;
    const idx = ipc.interface;
    if (idx < 0 || idx >= interfaces.length || interfaces[idx]?.name !== ifName) {
      throw new Error(`failed to add IP addr ${describeIP(ipc)} to "${ifName}": invalid interface index`);
    }
    const v6 = isV6(ipc.address);
    if (v6 && !ipv6Enabled) {
      enableIPv6(nl, ifName);
      ipv6Enabled = true;
    }
    try {
      nl.addAddress(link, ipc.address);
    } catch (err) {
      throw new Error(`failed to add IP addr ${describeIP(ipc)} to "${ifName}": ${errorText(err)}`, { cause: err });
    }
    if (ipc.gateway !== undefined) {
      if (isV6(ipc.gateway)) v6gw ??= ipc.gateway;
      else v4gw ??= ipc.gateway;
    }
  }

  if (v6gw !== undefined) await settleIPv6Addresses(nl, link, opts.dadTimeoutMs ?? 5000);

  for (const r of result.routes ?? []) {
    const spec = routeSpecFor(r, link.index, v4gw, v6gw);
    try {
      nl.addRouteEcmp(spec);
    } catch (err) {
      throw new Error(`failed to add route '${r.dst} via ${spec.gw ?? '<nil>'} dev ${ifName}': ${errorText(err)}`, { cause: err });
    }
  }
}

/** The network form of "ip/len" ("10.1.2.3/24" -> "10.1.2.0/24"). */
export function networkOfCidr(cidr: string): string {
  return formatNetwork(mustParsePrefix(cidr));
}

/** True for "already there" kernel refusals (EEXIST). */
export const isExists = (err: unknown): boolean => isErrno(err, 'EEXIST');

/**
 * The ADD step every single-interface plugin (macvlan, ipvlan, vlan, dummy, tap, host-device) runs
 * after IPAM: the IPAM result's addresses become the container interface's (index 0) and its routes
 * the result's, then both are applied to `<if>`. `beforeConfigure` runs just before the addresses go
 * on (arp_notify/ndisc_notify for the plugins that set them).
 */
export async function applyIpamResult(
  nl: Netlink,
  ifName: string,
  result: Result,
  ipamResult: Result,
  beforeConfigure?: () => void,
): Promise<void> {
  result.ips = assignInterface(ipamResult.ips, 0);
  if (ipamResult.routes) result.routes = ipamResult.routes;
  beforeConfigure?.();
  await configureIface(nl, ifName, result);
}
