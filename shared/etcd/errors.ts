// The two ways an etcd call fails, typed so callers can tell "try again later" (CNI code 11: no
// member answered, or the cluster has no quorum / no leader) from "the store said no" (a refused
// request: bad credentials, permission denied, invalid argument, a compacted revision).

/** Base of every error this client throws. `endpoints` are the ones the call tried. */
export class EtcdError extends Error {
  readonly endpoints: readonly string[];
  constructor(message: string, endpoints: readonly string[]) {
    super(message);
    this.name = 'EtcdError';
    this.endpoints = endpoints;
  }
}

/**
 * No endpoint answered within the deadline, or every one that answered reported that the cluster
 * cannot serve (no leader, request timed out, not enough started members). Retrying later may work.
 */
export class EtcdUnavailableError extends EtcdError {
  constructor(message: string, endpoints: readonly string[]) {
    super(message, endpoints);
    this.name = 'EtcdUnavailableError';
  }
}

/** A member answered and refused the request; retrying the same request will not help. */
export class EtcdRefusedError extends EtcdError {
  /** The gRPC status code etcd gave (3 invalid argument, 7 permission denied, 16 unauthenticated, ...). */
  readonly grpcCode: number;
  readonly httpStatus: number;
  constructor(message: string, endpoints: readonly string[], grpcCode: number, httpStatus: number) {
    super(message, endpoints);
    this.name = 'EtcdRefusedError';
    this.grpcCode = grpcCode;
    this.httpStatus = httpStatus;
  }
}

export const isEtcdUnavailable = (err: unknown): err is EtcdUnavailableError => err instanceof EtcdUnavailableError;
export const isEtcdRefused = (err: unknown): err is EtcdRefusedError => err instanceof EtcdRefusedError;

/** gRPC codes after which another member (or a later try) may succeed: UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED. */
export const RETRYABLE_GRPC_CODES: ReadonlySet<number> = new Set([14, 4, 10]);

/** etcd messages that mean "this member cannot serve now" whatever code the gateway mapped them to. */
export function isNoQuorumMessage(message: string): boolean {
  return /no leader|request timed out|leader changed|not enough started members|timed out|too many requests|not capable|unhealthy cluster/i.test(message);
}
