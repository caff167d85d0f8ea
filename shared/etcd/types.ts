// Typed requests and results of the etcd v3 KV, lease and watch API (as the JSON gateway carries them).

export interface ResponseHeader {
  clusterId: string;
  memberId: string;
  /** The store's revision when the request was served. */
  revision: number;
  raftTerm: number;
}

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the key's creation; 0 for a key that does not exist. */
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease the key is attached to, as a decimal string; '0' for none. */
  lease: string;
}

export interface RangeOptions {
  /** Every key starting with `key`. */
  prefix?: boolean;
  /** Explicit end of the range (exclusive); overrides `prefix`. */
  rangeEnd?: string;
  limit?: number;
  /** Read at this revision (0: current). */
  revision?: number;
  /** Served by the member alone (no quorum round trip): may be stale, works without quorum. */
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface RangeResult {
  header: ResponseHeader;
  kvs: KeyValue[];
  count: number;
  more: boolean;
}

export interface PutOptions {
  lease?: string;
  prevKv?: boolean;
}

export interface PutResult {
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteOptions {
  prefix?: boolean;
  rangeEnd?: string;
  prevKv?: boolean;
}

export interface DeleteResult {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export type CompareResult = 'EQUAL' | 'NOT_EQUAL' | 'GREATER' | 'LESS';

/** One condition of a transaction. `createRevision = 0` with EQUAL means "the key does not exist". */
export type Compare =
  | { key: string; target: 'createRevision' | 'modRevision' | 'version'; result: CompareResult; value: number }
  | { key: string; target: 'value'; result: CompareResult; value: string }
  | { key: string; target: 'lease'; result: CompareResult; value: string };

export type TxnOp =
  | { put: { key: string; value: string } & PutOptions }
  | { range: { key: string } & RangeOptions }
  | { deleteRange: { key: string } & DeleteOptions };

export type TxnOpResult =
  | { put: PutResult }
  | { range: RangeResult }
  | { deleteRange: DeleteResult };

export interface TxnRequest {
  compare: Compare[];
  success: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  header: ResponseHeader;
  /** True when every compare held and `success` ran; false when `failure` ran. */
  succeeded: boolean;
  responses: TxnOpResult[];
}

export interface LeaseGrant {
  header: ResponseHeader;
  id: string;
  ttl: number;
}

export interface LeaseKeepAlive {
  header: ResponseHeader;
  id: string;
  /** Remaining TTL in seconds; 0 when the lease no longer exists (expired or revoked). */
  ttl: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** For DELETE: the key, empty value, modRevision = the deletion's revision. */
  kv: KeyValue;
  /** The key's previous state, when the watch asked for prevKv and there was one. */
  prevKv?: KeyValue;
}

export interface WatchOptions {
  prefix?: boolean;
  rangeEnd?: string;
  /** First revision to deliver (inclusive); 0 or absent: from now. */
  startRevision?: number;
  prevKv?: boolean;
  /** Leave out PUT or DELETE events. */
  noPut?: boolean;
  noDelete?: boolean;
  /** Ask for empty progress responses so `revision` advances while nothing changes. */
  progressNotify?: boolean;
}

/** Options of the client (the shape of a CNI config's `etcd` object, plus timeouts). */
export interface EtcdClientOptions {
  /** `http://host:port` or `https://host:port`, tried in order with failover. */
  endpoints: string[];
  /** PEM client certificate / key for TLS client auth, and the CA bundle that signs the members' certificates. */
  certFile?: string;
  keyFile?: string;
  trustedCAFile?: string;
  /** etcd user (authentication through /v3/auth/authenticate; the token goes with every request). */
  username?: string;
  password?: string;
  /** Time to connect to one endpoint before trying the next (default 2000 ms). */
  dialTimeoutMs?: number;
  /** Time one request may take on one endpoint (default 5000 ms). */
  requestTimeoutMs?: number;
}

/** Per-call options. */
export interface CallOptions {
  /** Absolute time (Date.now() ms) after which the call gives up, whatever is left to try. */
  deadline?: number;
}
