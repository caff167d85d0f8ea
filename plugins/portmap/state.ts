// What one ADD installed, recorded on the node so that GC (and a DEL that lacks runtimeConfig) can
// undo it: the cni_hostport nft tables are shared by every network and their rules carry only the
// container ID, so without this record GC could not tell this network's rules from another's.
import { AttachmentStore, type AttachmentKey } from '../../shared/state/attachments.js';
import type { Backend, PortMapping } from './config.js';

export interface PortmapRecord {
  /** The backend the rules were written with. */
  readonly backend: Backend;
  /** The container addresses (CIDR) the mappings forward to, one per family at most. */
  readonly containerIPs: readonly string[];
  readonly mappings: readonly PortMapping[];
}

/** Tests (and unusual installs) point the state root elsewhere with TSCNI_STATE_DIR. */
export function portmapStore(env: NodeJS.ProcessEnv): AttachmentStore<PortmapRecord> {
  const root = env.TSCNI_STATE_DIR;
  return root ? new AttachmentStore<PortmapRecord>('portmap', root) : new AttachmentStore<PortmapRecord>('portmap');
}

export const attachmentKey = (network: string, containerID: string, ifName: string): AttachmentKey => ({ network, containerID, ifName });
