// The spec error a call throws, for unit tests of validation: fails the test when the call succeeds
// or throws anything that is not a CniError (a TypeError there is a bug, not a spec error).
import { CniError } from '../../shared/cni/errors.js';

export function cniErrorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError, the call succeeded');
}
