// CHECK helpers (REFERENCE §2 "CHECK helpers"), read through a netlink handle bound to the
// container netns:
// - validateExpectedInterfaceIPs: every prevResult IP is on `<if>` (same address and prefix) and a
//   main-table route to its prefix exists;
// - validateExpectedRoute: every prevResult route exists in the main table with the same dst (and
//   the same gw when one is given); a default route is matched on dst only, as in the reference.
// Plus the interface checks every main plugin's CHECK repeats (the `<if>` entry of prevResult, its
// sandbox and MAC). Failures are CniErrors with code 101 (tscni's "CHECK failed") and the reference's wording.
import { checkFailed, CniError, ErrorCode } from '../cni/errors.js';
import type { Interface, IPConfig, Result, Route } from '../cni/types.js';
import { equalIP, type IP, mustParsePrefix, parseIP, prefixLength } from '../ip/index.js';
import type { Link, Netlink } from '../netlink/index.js';
import type { Route as KernelRoute } from '../netlink/index.js';
import { networkOfCidr } from './configure.js';

/**
 * CHECK validates against the ADD result (spec: prevResult is required): code 7 naming the key,
 * checked before IPAM or the kernel is asked anything. `msg` is the plugin's reference wording.
 */
export function requirePrevResult(prev: Result | undefined, msg = 'required prevResult missing'): Result {
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, msg, 'CHECK needs the ADD result as "prevResult" in the config');
  return prev;
}

/** Is `text` (as the kernel printed it) the address `ip`? */
const textIs = (text: string, ip: IP): boolean => {
  const x = parseIP(text);
  return x !== undefined && equalIP(x, ip);
};

const sameIP = (a: string, b: string): boolean => {
  const y = parseIP(b);
  return y !== undefined && textIs(a, y);
};

export function validateExpectedInterfaceIPs(nl: Netlink, ifName: string, ips: readonly IPConfig[]): void {
  if (ips.length === 0) return;
  const link = nl.findLink(ifName);
  if (!link) throw checkFailed(`Cannot find container link ${ifName}`);
  const addrs = nl.listAddresses({ ifindex: link.index });
  let routes: KernelRoute[] | undefined;
  for (const ipc of ips) {
    const want = mustParsePrefix(ipc.address);
    const wantLen = prefixLength(want);
    const found = addrs.some((a) => a.prefixLen === wantLen && textIs(a.ip, want.ip));
    if (!found) throw checkFailed(`Failed to match addr ${ipc.address} on interface ${ifName}`);
    const prefix = networkOfCidr(ipc.address);
    routes ??= nl.listRoutes();
    if (!routes.some((r) => r.dst === prefix)) {
      throw checkFailed(`Failed to find Gateway ${ipc.gateway ?? '<nil>'} for interface ${ifName}`);
    }
  }
}

const isDefault = (dst: string): boolean => dst === '0.0.0.0/0' || dst === '::/0';

function describeRoute(r: Route): string {
  return r.gw ? `${r.dst} via ${r.gw}` : r.dst;
}

export function validateExpectedRoute(nl: Netlink, routes: readonly Route[]): void {
  if (routes.length === 0) return;
  const kernel = nl.listRoutes();
  for (const r of routes) {
    let dst: string;
    try {
      dst = networkOfCidr(r.dst);
    } catch {
      throw checkFailed(`Invalid static route found ${describeRoute(r)}`);
    }
    const found = kernel.some((k) => {
      if (k.dst !== dst) return false;
      if (isDefault(dst) || r.gw === undefined) return true;
      return k.gw !== undefined && sameIP(k.gw, r.gw);
    });
    if (!found) throw checkFailed(`Expected Route ${describeRoute(r)} not found in routing table`);
  }
}

/**
 * The prevResult interface CHECK validates: the entry named `<if>` whose sandbox is CNI_NETNS.
 * Throws the reference's "sandbox ... doesn't match" error when there is none. `prefix` is the
 * plugin's error prefix, e.g. "ptp: " (the reference words each plugin slightly differently).
 */
export function containerInterfaceOf(prev: Result, ifName: string, netns: string, capitalised = false): Interface {
  const found = (prev.interfaces ?? []).find((i) => i.name === ifName && i.sandbox === netns);
  if (!found) {
    const s = capitalised ? 'Sandbox' : 'sandbox';
    throw checkFailed(`${s} in prevResult  doesn't match configured netns: ${netns}`);
  }
  return found;
}

/** The prevResult IPs that belong to interface `index` (or carry no index). */
export function ipsOfInterface(prev: Result, index: number): IPConfig[] {
  return (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === index);
}

/**
 * Looks `<if>` up (it must be in a sandbox). `prefix` and `capital` reproduce each plugin's
 * reference wording: macvlan "container Interface ...", ptp "ptp: Container Interface ...".
 */
export function checkContainerLink(nl: Netlink, intf: Interface, prefix = '', capital = false): Link {
  const c = (w: string): string => (capital ? w[0]?.toUpperCase() + w.slice(1) : w);
  if (intf.name === '') throw checkFailed(`${c('container')} interface name missing in prevResult: ${intf.name}`);
  const link = nl.findLink(intf.name);
  if (!link) throw checkFailed(`${prefix}${c('container')} Interface name in prevResult: ${intf.name} not found`);
  if (!intf.sandbox) throw checkFailed(`${prefix}${c('error')}: Container interface ${link.name} should not be in host namespace`);
  return link;
}

/** `word` is how the plugin's reference message starts ("interface", ptp's "Interface"). */
export function checkLinkMac(link: Link, intf: Interface, prefix = '', word = 'interface'): void {
  if (intf.mac && intf.mac.toLowerCase() !== (link.mac ?? '')) {
    throw checkFailed(`${prefix}${word} ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac ?? ''}`);
  }
}
