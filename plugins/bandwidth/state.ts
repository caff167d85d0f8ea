// Which ifb an attachment's ADD is about to create, recorded before the ifb exists. The ifb gets
// our alias (which GC finds it by) only in a second request after its creation, so an ADD killed
// in between leaves an ifb without alias that GC could not attribute to a network; the record
// makes it findable. Removed by DEL (and GC) after the ifb.
import { AttachmentStore, type AttachmentKey } from '../../shared/state/attachments.js';

export interface BandwidthRecord {
  /** The ifb device name (the reference's hash of network and container ID). */
  readonly ifb: string;
}

/** Tests (and unusual installs) point the state root elsewhere with TSCNI_STATE_DIR. */
export function bandwidthStore(env: NodeJS.ProcessEnv): AttachmentStore<BandwidthRecord> {
  const root = env.TSCNI_STATE_DIR;
  return root ? new AttachmentStore<BandwidthRecord>('bandwidth', root) : new AttachmentStore<BandwidthRecord>('bandwidth');
}

export const attachmentKey = (network: string, containerID: string, ifName: string): AttachmentKey => ({ network, containerID, ifName });

/** Writes the record; false when the network name is too long to be a file name (no record then). */
export function putRecord(store: AttachmentStore<BandwidthRecord>, key: AttachmentKey, record: BandwidthRecord): boolean {
  try {
    store.put(key, record);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') return false;
    throw err;
  }
}
