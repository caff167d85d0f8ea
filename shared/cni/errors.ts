// CNI spec error codes (SPEC.md "Error" section) plus the two libcni adds (8, 999).
export const ErrorCode = {
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  /** libcni's ErrInvalidNetNS: the netns is unusable. Not in the SPEC table. */
  InvalidNetNS: 8,
  TryAgainLater: 11,
  /** STATUS: plugin cannot serve ADD now. */
  NotAvailable: 50,
  /** STATUS: not available, and existing containers may have degraded connectivity. */
  NotAvailableDegraded: 51,
  /**
   * tscni's own (the spec leaves 100+ to plugins): the kernel refused an operation (a netlink
   * request or system call failed with an errno; the message names the operation and the errno).
   */
  KernelRefused: 100,
  /** tscni's own: CHECK found the container's state different from prevResult. */
  CheckFailed: 101,
  /** libcni's ErrInternal: only for genuine bugs (an unexpected exception). */
  Internal: 999,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | number;

/** The one error type of the suite: printed by the skel as the spec's error object. */
export class CniError extends Error {
  readonly code: number;
  readonly msg: string;
  readonly details: string;
  constructor(code: ErrorCodeValue, msg: string, details = '') {
    super(details ? `${msg}; ${details}` : msg);
    this.name = 'CniError';
    this.code = code;
    this.msg = msg;
    this.details = details;
  }
  /** The spec error object (details omitted when empty, as libcni does). */
  toJSON(): { code: number; msg: string; details?: string } {
    return this.details ? { code: this.code, msg: this.msg, details: this.details } : { code: this.code, msg: this.msg };
  }
}

/**
 * ADD found CNI_IFNAME already taken in the container (the spec: ADD must fail then). Code 4: the
 * variable names an interface that exists; `msg` keeps the plugin's reference wording.
 */
export const ifnameTaken = (msg: string, ifName: string): CniError =>
  new CniError(ErrorCode.InvalidEnvironmentVariables, msg, `CNI_IFNAME=${JSON.stringify(ifName)} already exists in the container netns`);

/** CHECK's verdict that the container no longer matches the ADD result (reference wording in `msg`). */
export const checkFailed = (msg: string): CniError => new CniError(ErrorCode.CheckFailed, msg);

export const invalidConfig = (msg: string, details = ''): CniError =>
  new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
