// etcd v3 over its JSON gateway (POST /v3/...), with node:http/node:https only: no gRPC stack to
// load, so a CNI call pays a few milliseconds, not the ~100 ms an npm gRPC client costs at start.
// Endpoints are tried in turn (the one that last answered first); "cannot serve" answers and
// connection failures move on to the next, a refusal stops at once. With a deadline, the turn is
// repeated (short back-off) until it passes, which rides out a leader election.
//
// A request that timed out or lost its connection may still have been applied: callers make
// writes safe to repeat (a txn comparing create_revision, a delete comparing the value).
import http from 'node:http';
import type https from 'node:https';
import { b64, decodeHeader, decodeKv, int, leaseId, prefixRangeEnd, type WireHeader, type WireKeyValue } from './codec.js';
import { EtcdRefusedError, EtcdUnavailableError, RETRYABLE_GRPC_CODES, isNoQuorumMessage } from './errors.js';
import { type TlsFiles, TransportError, exchange, httpsModule, loadTlsFiles } from './transport.js';
import type {
  CallOptions,
  Compare,
  DeleteOptions,
  DeleteResult,
  EtcdClientOptions,
  KeyValue,
  LeaseGrant,
  LeaseKeepAlive,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  WatchOptions,
} from './types.js';
import { Watch, type WatchHandlers } from './watch.js';

const DEFAULT_DIAL_TIMEOUT_MS = 2000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const BACKOFF_MS = [50, 100, 200, 400];

interface WireError {
  code?: number;
  error?: string;
  message?: string;
}

export class EtcdClient {
  readonly endpoints: readonly string[];
  private readonly options: EtcdClientOptions;
  private tlsFiles: TlsFiles | undefined;
  private token: string | undefined;
  private preferred = 0;
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private httpsAgentValue: https.Agent | undefined;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd: no endpoints configured');
    for (const e of options.endpoints) {
      const url = new URL(e); // throws on garbage: the caller validated or reports it
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`etcd endpoint ${JSON.stringify(e)}: scheme must be http or https`);
    }
    this.endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ''));
    this.options = options;
  }

  /** Closes idle keep-alive connections, so the process can exit at once (watches are closed by their own close()). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgentValue?.destroy();
  }

  // ---- KV ----

  async range(key: string, opts: RangeOptions = {}, call: CallOptions = {}): Promise<RangeResult> {
    const body = await this.call('/v3/kv/range', rangeRequest(key, opts), call);
    return decodeRange(body as WireRange);
  }

  /** The key's current state, or undefined when it does not exist. */
  async get(key: string, call: CallOptions = {}): Promise<KeyValue | undefined> {
    return (await this.range(key, {}, call)).kvs[0];
  }

  async put(key: string, value: string, opts: PutOptions = {}, call: CallOptions = {}): Promise<PutResult> {
    const body = (await this.call('/v3/kv/put', putRequest(key, value, opts), call)) as WirePut;
    return decodePut(body);
  }

  async deleteRange(key: string, opts: DeleteOptions = {}, call: CallOptions = {}): Promise<DeleteResult> {
    const body = (await this.call('/v3/kv/deleterange', deleteRequest(key, opts), call)) as WireDelete;
    return decodeDelete(body);
  }

  async txn(request: TxnRequest, call: CallOptions = {}): Promise<TxnResult> {
    const wire = {
      compare: request.compare.map(encodeCompare),
      success: request.success.map(encodeOp),
      failure: (request.failure ?? []).map(encodeOp),
    };
    const body = (await this.call('/v3/kv/txn', wire, call)) as { header?: WireHeader; succeeded?: boolean; responses?: WireOpResult[] };
    return {
      header: decodeHeader(body.header),
      succeeded: body.succeeded === true,
      responses: (body.responses ?? []).map(decodeOpResult),
    };
  }

  // ---- leases ----

  async leaseGrant(ttlSeconds: number, call: CallOptions = {}): Promise<LeaseGrant> {
    const body = (await this.call('/v3/lease/grant', { TTL: String(ttlSeconds) }, call)) as { header?: WireHeader; ID?: string; TTL?: string; error?: string };
    if (body.error) throw new EtcdRefusedError(`etcd lease grant: ${body.error}`, this.endpoints, 0, 200);
    return { header: decodeHeader(body.header), id: leaseId(body.ID), ttl: int(body.TTL) };
  }

  /** One keep-alive: renews the lease; ttl 0 in the answer means it is gone (expired or revoked). */
  async leaseKeepAlive(id: string, call: CallOptions = {}): Promise<LeaseKeepAlive> {
    const body = (await this.call('/v3/lease/keepalive', { ID: id }, call)) as { result?: { header?: WireHeader; ID?: string; TTL?: string }; error?: WireError };
    if (body.error) throw this.refused('/v3/lease/keepalive', 200, body.error);
    const r = body.result ?? {};
    return { header: decodeHeader(r.header), id: leaseId(r.ID ?? id), ttl: int(r.TTL) };
  }

  /** Revokes the lease (its keys go with it). A lease that no longer exists counts as revoked. */
  async leaseRevoke(id: string, call: CallOptions = {}): Promise<void> {
    try {
      await this.call('/v3/lease/revoke', { ID: id }, call);
    } catch (err) {
      if (err instanceof EtcdRefusedError && /lease not found/.test(err.message)) return;
      throw err;
    }
  }

  /**
   * Renews lease `id` every `intervalMs` (a third of its TTL is usual) until stop(). `onLost` is
   * called once, and renewal stops, when etcd answers that the lease is gone (expired or revoked);
   * failed renewals (no member reachable) are retried at the next tick, and reported to `onError`.
   */
  keepLeaseAlive(id: string, intervalMs: number, handlers: { onLost?(): void; onError?(err: Error): void } = {}): { stop(): void } {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async (): Promise<void> => {
      if (stopped) return;
      try {
        const r = await this.leaseKeepAlive(id, { deadline: Date.now() + intervalMs });
        if (r.ttl <= 0) {
          stopped = true;
          handlers.onLost?.();
          return;
        }
      } catch (err) {
        handlers.onError?.(err instanceof Error ? err : new Error(String(err)));
      }
      if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
    };
    timer = setTimeout(() => void tick(), intervalMs);
    return {
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  // ---- watch ----

  /**
   * Watches `key` (or a prefix/range) from `opts.startRevision`; events arrive in revision order.
   * When the member serving it dies, the watch moves to another endpoint and resumes after the last
   * revision it delivered, so no event is lost or repeated. `handlers.onError` gets the reasons it
   * cannot continue (compaction past the resume point, a refused request) and then it stops.
   */
  watch(key: string, opts: WatchOptions, handlers: WatchHandlers): Watch {
    const request = {
      key: b64(key),
      ...(opts.rangeEnd !== undefined ? { range_end: b64(opts.rangeEnd) } : opts.prefix ? { range_end: prefixRangeEnd(key) } : {}),
      ...(opts.prevKv ? { prev_kv: true } : {}),
      ...(opts.progressNotify ? { progress_notify: true } : {}),
      ...(opts.noPut || opts.noDelete ? { filters: [...(opts.noPut ? ['NOPUT'] : []), ...(opts.noDelete ? ['NODELETE'] : [])] } : {}),
    };
    return new Watch(
      {
        endpoints: () => this.endpointOrder(),
        prepare: async () => ({ headers: await this.authHeaders({}), tls: this.tls(), dialTimeoutMs: this.dialTimeoutMs() }),
        request,
        startRevision: opts.startRevision ?? 0,
      },
      handlers,
    );
  }

  // ---- the request loop ----

  private httpsAgent(): https.Agent {
    this.httpsAgentValue ??= new (httpsModule().Agent)({ keepAlive: true });
    return this.httpsAgentValue;
  }

  /** The endpoints, the one that answered last first. */
  private endpointOrder(): string[] {
    const n = this.endpoints.length;
    return Array.from({ length: n }, (_, i) => this.endpoints[(this.preferred + i) % n]!);
  }

  private dialTimeoutMs(): number {
    return this.options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  }

  private tls(): TlsFiles {
    this.tlsFiles ??= loadTlsFiles(this.options.certFile, this.options.keyFile, this.options.trustedCAFile);
    return this.tlsFiles;
  }

  private async authHeaders(call: CallOptions): Promise<Record<string, string>> {
    if (!this.options.username) return {};
    if (!this.token) {
      const body = (await this.call('/v3/auth/authenticate', { name: this.options.username, password: this.options.password ?? '' }, call, false)) as { token?: string };
      if (!body.token) throw new EtcdRefusedError('etcd authentication returned no token', this.endpoints, 16, 200);
      this.token = body.token;
    }
    return { authorization: this.token };
  }

  private refused(path: string, status: number, err: WireError): EtcdRefusedError {
    const message = err.message ?? err.error ?? `HTTP ${status}`;
    return new EtcdRefusedError(`etcd ${path}: ${message}`, this.endpoints, err.code ?? 0, status);
  }

  /** POSTs `body` to `path`; the decoded answer, or EtcdUnavailableError / EtcdRefusedError. */
  private async call(path: string, body: unknown, call: CallOptions, withAuth = true): Promise<unknown> {
    const deadline = call.deadline ?? Number.POSITIVE_INFINITY;
    const failures = new Map<string, string>();
    let reauthenticated = false;
    for (let round = 0; ; round++) {
      for (const endpoint of this.endpointOrder()) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        const headers = withAuth ? await this.authHeaders({ deadline }) : {};
        let reply;
        try {
          reply = await exchange({
            endpoint,
            path,
            body,
            headers,
            dialTimeoutMs: Math.min(this.dialTimeoutMs(), remaining),
            timeoutMs: Math.min(this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, remaining),
            tls: this.tls(),
            agent: endpoint.startsWith('https:') ? this.httpsAgent() : this.httpAgent,
          });
        } catch (err) {
          if (!(err instanceof TransportError)) throw err;
          failures.set(endpoint, err.message);
          continue;
        }
        if (reply.status === 200 && typeof reply.body === 'object') {
          this.preferred = this.endpoints.indexOf(endpoint);
          return reply.body;
        }
        const wire: WireError = typeof reply.body === 'object' && reply.body !== null ? (reply.body as WireError) : { message: String(reply.body).trim() };
        const message = wire.message ?? wire.error ?? '';
        if (withAuth && this.token && wire.code === 16 && !reauthenticated) {
          // The token expired (simple tokens live 5 minutes) or the member restarted: log in again once.
          this.token = undefined;
          reauthenticated = true;
          continue;
        }
        if (RETRYABLE_GRPC_CODES.has(wire.code ?? -1) || isNoQuorumMessage(message) || reply.status === 503) {
          failures.set(endpoint, `${endpoint}: ${message || `HTTP ${reply.status}`}`);
          continue;
        }
        throw this.refused(path, reply.status, wire);
      }
      if (!Number.isFinite(deadline) || Date.now() >= deadline) break;
      await sleep(Math.min(BACKOFF_MS[Math.min(round, BACKOFF_MS.length - 1)]!, Math.max(0, deadline - Date.now())));
    }
    // Transport messages name their endpoint already; answers were prefixed with it above.
    const why = [...failures.values()].join('; ');
    throw new EtcdUnavailableError(
      `etcd cluster unavailable (no member reachable or no quorum) at ${this.endpoints.join(', ')}${why ? ` (${why})` : ' (deadline passed)'}`,
      this.endpoints,
    );
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- encoding of requests ----

function rangeEndOf(key: string, opts: { prefix?: boolean; rangeEnd?: string }): Record<string, string> {
  if (opts.rangeEnd !== undefined) return { range_end: b64(opts.rangeEnd) };
  if (opts.prefix) return { range_end: prefixRangeEnd(key) };
  return {};
}

function rangeRequest(key: string, opts: RangeOptions): Record<string, unknown> {
  return {
    key: b64(key),
    ...rangeEndOf(key, opts),
    ...(opts.limit ? { limit: String(opts.limit) } : {}),
    ...(opts.revision ? { revision: String(opts.revision) } : {}),
    ...(opts.serializable ? { serializable: true } : {}),
    ...(opts.keysOnly ? { keys_only: true } : {}),
    ...(opts.countOnly ? { count_only: true } : {}),
  };
}

function putRequest(key: string, value: string, opts: PutOptions): Record<string, unknown> {
  return {
    key: b64(key),
    value: b64(value),
    ...(opts.lease && opts.lease !== '0' ? { lease: opts.lease } : {}),
    ...(opts.prevKv ? { prev_kv: true } : {}),
  };
}

function deleteRequest(key: string, opts: DeleteOptions): Record<string, unknown> {
  return { key: b64(key), ...rangeEndOf(key, opts), ...(opts.prevKv ? { prev_kv: true } : {}) };
}

const COMPARE_TARGET = { createRevision: ['CREATE', 'create_revision'], modRevision: ['MOD', 'mod_revision'], version: ['VERSION', 'version'], value: ['VALUE', 'value'], lease: ['LEASE', 'lease'] } as const;

function encodeCompare(c: Compare): Record<string, unknown> {
  const [target, field] = COMPARE_TARGET[c.target];
  const value = c.target === 'value' ? b64(c.value) : String(c.value);
  return { key: b64(c.key), target, result: c.result, [field]: value };
}

function encodeOp(op: TxnOp): Record<string, unknown> {
  if ('put' in op) {
    const { key, value, ...opts } = op.put;
    return { request_put: putRequest(key, value, opts) };
  }
  if ('range' in op) {
    const { key, ...opts } = op.range;
    return { request_range: rangeRequest(key, opts) };
  }
  const { key, ...opts } = op.deleteRange;
  return { request_delete_range: deleteRequest(key, opts) };
}

// ---- decoding of answers ----

interface WireRange {
  header?: WireHeader;
  kvs?: WireKeyValue[];
  count?: string;
  more?: boolean;
}
interface WirePut {
  header?: WireHeader;
  prev_kv?: WireKeyValue;
}
interface WireDelete {
  header?: WireHeader;
  deleted?: string;
  prev_kvs?: WireKeyValue[];
}
interface WireOpResult {
  response_range?: WireRange;
  response_put?: WirePut;
  response_delete_range?: WireDelete;
}

function decodeRange(body: WireRange): RangeResult {
  return { header: decodeHeader(body.header), kvs: (body.kvs ?? []).map(decodeKv), count: int(body.count), more: body.more === true };
}

function decodePut(body: WirePut): PutResult {
  return { header: decodeHeader(body.header), ...(body.prev_kv ? { prevKv: decodeKv(body.prev_kv) } : {}) };
}

function decodeDelete(body: WireDelete): DeleteResult {
  return { header: decodeHeader(body.header), deleted: int(body.deleted), prevKvs: (body.prev_kvs ?? []).map(decodeKv) };
}

function decodeOpResult(r: WireOpResult): TxnOpResult {
  if (r.response_put) return { put: decodePut(r.response_put) };
  if (r.response_delete_range) return { deleteRange: decodeDelete(r.response_delete_range) };
  return { range: decodeRange(r.response_range ?? {}) };
}
