// Checks for every name that becomes part of a path, before it is used. The skel checks the
// environment too; these run again where the path is built so no caller can bypass them.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';

/** Network names and container IDs (SPEC: alphanumerics, then also '_', '.' and '-'). */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export const isValidContainerID = (id: string): boolean => NAME_PATTERN.test(id);

/** Interface names as the kernel and the skel accept them: 1-15 bytes, no '/', ':' or whitespace, not "." or "..". */
export function isValidIfName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) <= 15 &&
    name !== '.' &&
    name !== '..' &&
    !/[/:\s]/.test(name)
  );
}

export function checkNetworkName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid network name "${name}"`,
      'a network name must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$ (it names the directory of its leases)',
    );
  }
}

export function checkAttachment(containerID: string, ifName: string): void {
  if (!isValidContainerID(containerID)) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      `invalid CNI_CONTAINERID "${containerID}"`,
      'it must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$',
    );
  }
  if (!isValidIfName(ifName)) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      `invalid CNI_IFNAME "${ifName}"`,
      'it must be 1-15 bytes without "/", ":" or whitespace, and not "." or ".."',
    );
  }
}
