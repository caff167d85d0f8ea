// The container's network namespace as plugins meet it: CNI_NETNS opened once, with the failure
// turned into the spec error a runtime understands (libcni's code 8 for an unusable netns).
import { CniError, ErrorCode } from '../cni/errors.js';
import { NetnsError, openNetns, type NetnsHandle } from '../netlink/index.js';

/** Turns a netns failure into CNI code 8, naming the path; other errors pass through. */
export function netnsErrorToCni(err: unknown, netnsPath: string): unknown {
  if (err instanceof NetnsError) {
    return new CniError(ErrorCode.InvalidNetNS, `failed to open netns "${netnsPath}"`, err.message);
  }
  return err;
}

/** Opens CNI_NETNS, or throws CniError 8 (the path is missing or is not a network namespace). */
export function openContainerNetns(netnsPath: string): NetnsHandle {
  try {
    return openNetns(netnsPath);
  } catch (err) {
    throw netnsErrorToCni(err, netnsPath);
  }
}

/**
 * For DEL: opens CNI_NETNS if it is still there. Returns undefined when the path is empty or gone,
 * because DEL must succeed when the container's namespace no longer exists.
 */
export function openContainerNetnsIfPresent(netnsPath: string): NetnsHandle | undefined {
  if (netnsPath === '') return undefined;
  try {
    return openNetns(netnsPath);
  } catch (err) {
    if (err instanceof NetnsError && err.isMissing) return undefined;
    throw netnsErrorToCni(err, netnsPath);
  }
}
