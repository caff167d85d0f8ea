// Which backup files belong to which network, so GC can find them. The backup file itself is the
// reference's (<dataDir>/<containerID>_<ifName>.json) and says nothing about the network, and one
// dataDir serves every network: without this record, GC of one network could not tell a stale
// backup of its own (an ADD killed before the runtime's DEL, a sandbox gone without DEL) from a
// live backup of another network's attachment. Written before the backup (and before the link is
// touched), removed after the backup.
import { AttachmentStore, type AttachmentKey } from '../../shared/state/attachments.js';

export interface TuningRecord {
  /** The backup file this attachment's ADD wrote. */
  readonly backup: string;
}

/** Tests (and unusual installs) point the state root elsewhere with TSCNI_STATE_DIR. */
export function tuningStore(env: NodeJS.ProcessEnv): AttachmentStore<TuningRecord> {
  const root = env.TSCNI_STATE_DIR;
  return root ? new AttachmentStore<TuningRecord>('tuning', root) : new AttachmentStore<TuningRecord>('tuning');
}

export const attachmentKey = (network: string, containerID: string, ifName: string): AttachmentKey => ({ network, containerID, ifName });
