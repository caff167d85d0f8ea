// The NETLINK_NETFILTER socket nf_tables calls use: one per network namespace, kept open for the rest
// of the process. Closing an nfnetlink socket after a transaction that deleted rules waits in the
// kernel for the deferred destruction of those rules (an RCU grace period, ~10 ms); left open, that
// work finishes in the background and the close happens at process exit. A socket belongs to the
// netns current when it was opened, so the cache is keyed by the calling thread's netns.
import { statSync } from 'node:fs';
import { NetlinkSocket } from '../../netlink/socket.js';
import { NETLINK_NETFILTER } from '../conntrack.js';

const sockets = new Map<bigint, NetlinkSocket>();

function currentNetns(): bigint {
  // dev and inode identify a namespace; /proc/thread-self follows setns() of this thread.
  const st = statSync('/proc/thread-self/ns/net', { bigint: true });
  return (st.dev << 32n) ^ st.ino;
}

/** The nf_tables socket of the calling thread's current netns. Do not close it. */
export function nftSocket(): NetlinkSocket {
  const key = currentNetns();
  const cached = sockets.get(key);
  if (cached && !cached.closed) return cached;
  const sock = NetlinkSocket.open(NETLINK_NETFILTER);
  sockets.set(key, sock);
  return sock;
}
