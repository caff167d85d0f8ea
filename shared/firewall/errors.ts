// How firewall failures reach the plugins. The reference surfaces them as untyped errors (code 999
// via skel); we report them as I/O failures (code 5) and keep 999 for genuine bugs, as errors.ts asks.
import { CniError, ErrorCode } from '../cni/errors.js';
import { errorText } from '../sys/error-text.js';

export function firewallError(msg: string, cause: unknown): CniError {
  return new CniError(ErrorCode.IOFailure, msg, errorText(cause));
}
