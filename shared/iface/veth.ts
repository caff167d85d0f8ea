// Veth pairs as the main plugins (bridge, ptp) use them, REFERENCE §2 "Veth creation":
// - the pair is created from the container netns handle, the host end placed directly in the host
//   netns (no link moves), named "veth" + 8 random lowercase hex, redrawn on EEXIST (10 attempts);
// - the container end is `<if>` with the optional MAC, both ends get the MTU;
// - the host end is set UP and gets net/ipv6/conf/<host>/accept_ra=0 (ignored when IPv6 is off).
// The kernel work lives in shared/netlink/veth.ts; this module is the plugin-facing API plus the
// helpers CHECK needs to recognise a veth and its peer.
import { ifnameTaken } from '../cni/errors.js';
import {
  type Link,
  type Netlink,
  setupVeth as netlinkSetupVeth,
  type SetupVethOptions,
  type VethPair,
} from '../netlink/index.js';

export type { SetupVethOptions, VethPair };
export { randomVethName } from '../netlink/index.js';

/**
 * Creates `<if>` in `o.container`'s netns and its peer in `o.host`'s netns; returns both links as
 * read back after the host end was set up. Errors carry the reference's wording
 * ("container veth name ("eth0") peer provided ("vethXXXX") already exists", "failed to make veth pair: ...").
 */
export function setupVeth(o: SetupVethOptions): VethPair {
  if (o.mtu !== undefined && o.mtu <= 0) o = { ...o, mtu: undefined };
  try {
    return netlinkSetupVeth(o);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('container veth name (') && o.container.findLink(o.ifName)) {
      throw ifnameTaken(err.message, o.ifName);
    }
    throw err;
  }
}

/** True when `link` is a veth. */
export const isVeth = (link: Link): boolean => link.kind === 'veth';

/**
 * The host end of a container veth: the link in `host` whose index is the container end's
 * IFLA_LINK and which is itself a veth. Undefined when there is no such link (peer deleted, or the
 * container link is not a veth).
 */
export function findVethPeer(host: Netlink, contVeth: Link): Link | undefined {
  if (!isVeth(contVeth) || contVeth.linkIndex === undefined) return undefined;
  const peer = host.findLinkByIndex(contVeth.linkIndex);
  return peer && isVeth(peer) ? peer : undefined;
}
