// Where the side-by-side oracle (Debian's Go reference 1.1.1 in /usr/lib/cni) and the latest
// reference, which tscni follows, leave different kernel state. Side-by-side tests apply these to
// the oracle's snapshot, so everything else must match exactly and these values stay pinned.
import { linkAttrs, type IpLink } from './ip.js';

/** The kernel's default txqueuelen (DEFAULT_TX_QUEUE_LEN), which a link gets when none is asked for. */
export const KERNEL_DEFAULT_TXQLEN = 1000;

/**
 * 1.1.1 built its links from a bare netlink.LinkAttrs literal, so veth pairs and macvlans were created
 * with txqueuelen 0 (which leaves a pfifo or similar qdisc added later with a limit of 0 packets).
 * Upstream fixed that in containernetworking/plugins#1100 (netlink.NewLinkAttrs: the kernel default);
 * tscni follows the fix.
 */
export function latestLinkAttrs(l: IpLink): Record<string, unknown> {
  return { ...linkAttrs(l), txqlen: KERNEL_DEFAULT_TXQLEN };
}

/**
 * Per-interface sysctls the latest reference writes and 1.1.1 does not: keep_addr_on_down=1 before
 * the first IPv6 address (ConfigureIface) and ndisc_notify=1 (macvlan). Left out of the comparison;
 * the tests check our values on their own.
 */
export const LATEST_ONLY_SYSCTLS: readonly string[] = ['keep_addr_on_down', 'ndisc_notify'];
