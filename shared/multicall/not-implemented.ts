// A plugin name this build installs but does not implement yet: VERSION answers normally (the skel
// does that), every other command fails with a spec error that says so, rather than half-working.
import { CniError, ErrorCode } from '../cni/errors.js';
import type { Plugin } from '../cni/plugin.js';

export function notImplementedPlugin(name: string, description: string, issue: string): Plugin {
  const refuse = async (): Promise<never> => {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `plugin type "${name}" is not implemented in this tscni build`,
      `it arrives with the "${issue}" work; until then use the reference plugin for "${name}"`,
    );
  };
  return { name, description, add: refuse, del: refuse, check: refuse, gc: refuse, status: refuse };
}
