// Pieces the "one link in the container" plugins share (macvlan, ipvlan, vlan, tap): finding the
// master (named, or the default-route interface), checking MTU against it, choosing the MAC, and
// creating under a temporary name then renaming to `<if>`, and deleting `<if>` again at DEL.
import { parseCniArgs } from '../../shared/cni/args.js';
import { CniError, ErrorCode, ifnameTaken } from '../../shared/cni/errors.js';
import { runtimeMac, type ConfWithRuntime } from '../../shared/cni/runtime-config.js';
import { openContainerNetnsIfPresent } from '../../shared/container/netns.js';
import { isErrno, type Link, Netlink, parseMac, randomVethName, writeSysctl } from '../../shared/netlink/index.js';
import { errorText } from '../../shared/sys/error-text.js';
import { tracePhase } from '../../shared/sys/trace.js';

export const invalid = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg);

/**
 * The interface of the first default route (any family, main table) seen through `nl`, as the
 * reference picks a master when none is configured. `where` names the netns for the error.
 */
export function defaultRouteInterface(nl: Netlink, where: string): string {
  for (const r of nl.listRoutes()) {
    if (!r.dst.endsWith('/0') || r.ifindex === undefined) continue;
    const link = nl.findLinkByIndex(r.ifindex);
    if (link) return link.name;
  }
  throw invalid(`no default route interface found: "master" is not set, so the interface of the first default route in ${where} was looked for, and ${where} has no default route`);
}

/** The master link by name; code 7 naming it when it does not exist. */
export function lookupMaster(nl: Netlink, name: string): Link {
  try {
    return nl.getLink(name);
  } catch (err) {
    if (isErrno(err, 'ENODEV')) throw invalid(`failed to lookup master "${name}": link not found`);
    throw new Error(`failed to lookup master "${name}": ${errorText(err)}`, { cause: err });
  }
}

/** `mtu` must lie in [0, master MTU]; the reference's message. */
export function checkMtu(mtu: number | undefined, master: Link): void {
  const m = mtu ?? 0;
  if (m < 0 || m > master.mtu) throw invalid(`invalid MTU ${m}, must be [0, master MTU(${master.mtu})]`);
}

/**
 * The MAC for the new link: runtimeConfig.mac > CNI_ARGS MAC > conf `mac` (macvlan, tap). Empty
 * strings do not count. Returns undefined for "let the kernel choose"; throws code 7 on a bad MAC.
 */
export function chooseMac(conf: ConfWithRuntime & { mac?: string }, cniArgs: string): string | undefined {
  let mac = conf.mac ?? '';
  const env = parseCniArgs(cniArgs, ['MAC'] as const);
  if (env.MAC) mac = env.MAC;
  const rt = runtimeMac(conf);
  if (rt) mac = rt;
  if (mac === '') return undefined;
  try {
    parseMac(mac);
  } catch (err) {
    throw invalid(`invalid args ${mac} for MAC addr: ${errorText(err)}`);
  }
  return mac.toLowerCase();
}

/**
 * Creates a link under a random temporary name with `create(tmpName)` (which must place it in
 * `container`'s netns), then renames it to `ifName` there. A failed rename deletes the link. The
 * temporary name avoids a clash with a host link already called `<if>` while the new link is
 * still visible to the host namespace during creation.
 */
export function createAndRename(container: Netlink, ifName: string, kind: string, create: (tmpName: string) => void): Link {
  const tmp = randomVethName();
  try {
    create(tmp);
  } catch (err) {
    throw new Error(`failed to create ${kind}: ${errorText(err)}`, { cause: err });
  }
  const link = container.getLink(tmp);
  try {
    container.rename(link, ifName);
  } catch (err) {
    try {
      container.deleteLink(link);
    } catch {
      // best effort
    }
    const msg = `failed to rename ${kind} to "${ifName}": ${errorText(err)}`;
    if (isErrno(err, 'EEXIST')) throw ifnameTaken(msg, ifName);
    throw new Error(msg, { cause: err });
  }
  return container.getLink(ifName);
}

/** Deletes `<if>` in the container; false when it was not there. */
export function deleteLinkIfPresent(nl: Netlink, ifName: string): boolean {
  const link = nl.findLink(ifName);
  if (!link) return false;
  try {
    nl.deleteLink(link);
  } catch (err) {
    if (isErrno(err, 'ENODEV')) return false;
    throw new Error(`failed to delete "${ifName}": ${errorText(err)}`, { cause: err });
  }
  return true;
}

/** arp_notify / ndisc_notify = 1 on `<if>` (errors ignored, as in the reference). */
export function setNotify(nl: Netlink, ifName: string, ipv6 = true): void {
  nl.inNetns(() => {
    for (const key of [['net', 'ipv4', 'conf', ifName, 'arp_notify'], ...(ipv6 ? [['net', 'ipv6', 'conf', ifName, 'ndisc_notify']] : [])]) {
      try {
        writeSysctl(key, '1');
      } catch {
        // ignored
      }
    }
  });
}

/**
 * DEL's link part: deletes `<if>` when the container netns and the link are still there (DEL must
 * succeed when they are gone). `plugin`: who the TSCNI_TRACE lines name.
 */
export function deleteContainerLink(netnsPath: string, ifName: string, plugin: string): void {
  using ns = openContainerNetnsIfPresent(netnsPath);
  if (!ns) return;
  using nl = Netlink.open(ns);
  // TSCNI_TRACE=1: the kernel's own link delete (most of a DEL) apart from our work.
  tracePhase(plugin, 'link found');
  deleteLinkIfPresent(nl, ifName);
  tracePhase(plugin, 'link deleted');
}
