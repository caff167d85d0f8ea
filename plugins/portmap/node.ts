// What portmap changes on the node besides firewall rules: stale UDP conntrack entries of the mapped
// host ports are deleted (so traffic already flowing to an old owner of the port is re-NATed), and
// route_localnet is set on the interface that routes to the container, so that connections from
// 127.0.0.1 may be DNATed across it.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { deleteConntrackEntries, IPPROTO_UDP } from '../../shared/netfilter/conntrack.js';
import type { Family } from '../../shared/ip/index.js';
import { Netlink, writeSysctl } from '../../shared/netlink/index.js';
import { routeGetOutputIfindex } from '../../shared/netlink/route-get.js';
import type { PortMapping } from './config.js';
import { errorText } from '../../shared/sys/error-text.js';

/**
 * Deletes the UDP conntrack entries whose original destination port is one of the mapped UDP host
 * ports, in each given family. Failures are reported on stderr only, as in the reference: the rules
 * are in place, and a stale entry only delays traffic until it expires.
 */
export function deleteStaleUdpConntrack(mappings: readonly PortMapping[], families: readonly Family[]): void {
  const ports = new Set(mappings.filter((m) => m.protocol === 'udp').map((m) => m.hostPort));
  if (ports.size === 0) return;
  for (const family of families) {
    try {
      deleteConntrackEntries(family, { proto: IPPROTO_UDP, dstPorts: ports });
    } catch (e) {
      process.stderr.write(`portmap: failed to delete stale UDP conntrack entries (IPv${family}): ${errorText(e)}\n`);
    }
  }
}

/** The reference's getRoutableHostIF: the name of the link a packet to `ip` leaves by, if any. */
export function routableHostInterface(ip: string): string | undefined {
  const index = routeGetOutputIfindex(ip);
  if (index === undefined) return undefined;
  const nl = Netlink.open();
  try {
    return nl.findLinkByIndex(index)?.name;
  } finally {
    nl.close();
  }
}

/** net.ipv4.conf.<if>.route_localnet=1 on the interface routing to the container's IPv4 address. */
export function enableLocalnetRouting(containerIPv4: string): void {
  const ifName = routableHostInterface(containerIPv4);
  if (ifName === undefined) return;
  try {
    writeSysctl(['net', 'ipv4', 'conf', ifName, 'route_localnet'], '1');
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, 'unable to enable route_localnet', `net.ipv4.conf.${ifName}.route_localnet: ${errorText(e)}`);
  }
}
