// How firewall failures reach the plugins. The reference surfaces them as untyped errors (code 999
// via skel); we report a failed tool as an I/O failure (code 5), a change the kernel refused over
// netlink (nf_tables batches) as code 100, and keep 999 for genuine bugs, as errors.ts asks.
import { CniError, ErrorCode } from '../cni/errors.js';
import { NetlinkError } from '../netlink/errors.js';
import { errorText } from '../sys/error-text.js';

export function firewallError(msg: string, cause: unknown): CniError {
  const code = cause instanceof NetlinkError ? ErrorCode.KernelRefused : ErrorCode.IOFailure;
  return new CniError(code, msg, errorText(cause));
}
