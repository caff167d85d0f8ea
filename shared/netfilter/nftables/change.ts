// Read, compute, commit: how every caller changes nf_tables. The batch is computed from what was just
// read (rules are deleted by handle); when the commit fails because a rule or chain changed in
// between (another plugin call on the node), the state is read again and the batch recomputed.
import { isErrno } from '../../netlink/errors.js';
import type { NetlinkSocket } from '../../netlink/socket.js';
import { type NftBatch, commitNftBatch } from './batch.js';
import { nftSocket } from './socket.js';

const ATTEMPTS = 3;

export function changeNftables<T>(read: (sock: NetlinkSocket) => T, plan: (current: T) => NftBatch): void {
  const sock = nftSocket();
  for (let attempt = 1; ; attempt++) {
    const batch = plan(read(sock));
    if (batch.size === 0) return;
    try {
      commitNftBatch(batch, sock);
      return;
    } catch (e) {
      if (attempt >= ATTEMPTS) throw e;
    }
  }
}

/** Whether the kernel would accept `batch` (sent without BATCH_END, so it is always aborted). */
export function validateNftBatch(batch: NftBatch): void {
  commitNftBatch(batch, undefined, true);
}

/**
 * Whether `e` says this kernel has no nf_tables (module absent or disabled): then there are no rules
 * of ours to remove either.
 */
export function isNftablesUnavailable(e: unknown): boolean {
  return isErrno(e, 'EPROTONOSUPPORT') || isErrno(e, 'EOPNOTSUPP') || isErrno(e, 'EAFNOSUPPORT');
}
