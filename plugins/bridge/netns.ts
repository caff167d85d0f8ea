// A netlink handle in the container netns, with entry failures reported as CNI code 8 (a path that
// opens but is not a network namespace fails only when entered).
import { netnsErrorToCni } from '../../shared/container/netns.js';
import { Netlink, type NetnsHandle } from '../../shared/netlink/index.js';

export function openContainerNetlink(ns: NetnsHandle, netnsPath: string): Netlink {
  try {
    return Netlink.open(ns);
  } catch (err) {
    throw netnsErrorToCni(err, netnsPath);
  }
}
