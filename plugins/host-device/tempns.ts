// A temporary, unnamed network namespace: unshare(CLONE_NEWNET) on this thread, keep an fd to the
// new namespace, return to the original. The namespace lives as long as the fd (and any process or
// link in it); virtual links still inside when it dies are destroyed, so move them out first.
import fs from 'node:fs';
import { CLONE_NEWNET } from '../../shared/netlink/constants.js';
import { NetnsHandle } from '../../shared/netlink/index.js';
import { errno, libc, SysError } from '../../shared/sys/libc.js';

export function createTempNetns(): NetnsHandle {
  const back = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    if (libc().unshare(CLONE_NEWNET) !== 0) throw new SysError('unshare(CLONE_NEWNET)', errno());
    try {
      return new NetnsHandle(fs.openSync('/proc/thread-self/ns/net', 'r'), '<temporary netns>');
    } finally {
      if (libc().setns(back, CLONE_NEWNET) !== 0) throw new SysError('setns back from the temporary netns', errno());
    }
  } finally {
    fs.closeSync(back);
  }
}
