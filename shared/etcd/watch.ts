// A watch over the gateway's streaming POST /v3/watch. The stream is bound to one member; when it
// ends for any reason other than close(), the watch reopens on the next endpoint from the revision
// after the last one it delivered, so the caller sees every event once, in order, across failover.
import { decodeHeader, decodeKv, int, type WireHeader, type WireKeyValue } from './codec.js';
import { EtcdRefusedError, RETRYABLE_GRPC_CODES, isNoQuorumMessage } from './errors.js';
import { type Stream, StreamRefused, type TlsFiles, openStream } from './transport.js';
import type { WatchEvent } from './types.js';

export interface WatchHandlers {
  /** A batch of events (all with modRevision <= `revision`), in revision order. */
  onEvents(events: WatchEvent[], revision: number): void;
  /** The watch cannot go on (history compacted past the resume point, request refused); it has stopped. */
  onError?(err: Error): void;
  /** The stream to `endpoint` was (re)opened from `fromRevision` (0: from now) after `reason`. */
  onReconnect?(endpoint: string, fromRevision: number, reason: string): void;
}

/** What the client gives a watch: where to connect and how. */
export interface WatchSource {
  endpoints(): string[];
  prepare(): Promise<{ headers: Record<string, string>; tls: TlsFiles; dialTimeoutMs: number }>;
  /** The create_request without start_revision. */
  request: Record<string, unknown>;
  startRevision: number;
}

interface WireWatchResponse {
  header?: WireHeader;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: { type?: string; kv?: WireKeyValue; prev_kv?: WireKeyValue }[];
}

const RECONNECT_DELAYS_MS = [0, 100, 250, 500, 1000];

export class Watch {
  /** Resolves when the first stream is established (etcd confirmed the watch); rejects if it stops before. */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;
  private readonly source: WatchSource;
  private readonly handlers: WatchHandlers;
  private stream: Stream | undefined;
  private closed = false;
  /** The next revision to ask for when (re)opening; 0 until known ("from now"). */
  private next: number;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(source: WatchSource, handlers: WatchHandlers) {
    this.source = source;
    this.handlers = handlers;
    this.next = source.startRevision > 0 ? source.startRevision : 0;
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {}); // callers that never await it must not see an unhandled rejection
    void this.open('start');
  }

  /** The last revision whose events were all delivered (0 before the watch knows). */
  get revision(): number {
    return this.next > 0 ? this.next - 1 : 0;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.stream?.close();
    this.stream = undefined;
  }

  private async open(reason: string): Promise<void> {
    if (this.closed) return;
    const endpoints = this.source.endpoints();
    const endpoint = endpoints[this.attempt % endpoints.length]!;
    let prepared;
    try {
      prepared = await this.source.prepare();
    } catch (err) {
      this.retry(`${reason}; preparing: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (this.closed) return;
    const fromRevision = this.next;
    const request = { create_request: { ...this.source.request, ...(fromRevision > 0 ? { start_revision: String(fromRevision) } : {}) } };
    this.handlers.onReconnect?.(endpoint, fromRevision, reason);
    this.stream = openStream(
      { endpoint, path: '/v3/watch', body: request, headers: prepared.headers, dialTimeoutMs: prepared.dialTimeoutMs, timeoutMs: 0, tls: prepared.tls },
      {
        onMessage: (message) => this.onMessage(endpoint, message),
        onEnd: (err, status) => {
          this.stream = undefined;
          if (err instanceof StreamRefused) {
            const body = err.body as { error?: { message?: string; grpc_code?: number }; message?: string; code?: number } | string;
            const msg = typeof body === 'string' ? body : (body.error?.message ?? body.message ?? `HTTP ${status}`);
            const code = typeof body === 'string' ? 0 : (body.error?.grpc_code ?? body.code ?? 0);
            if (!RETRYABLE_GRPC_CODES.has(code) && !isNoQuorumMessage(msg) && status !== 503) {
              this.fail(new EtcdRefusedError(`etcd watch: ${msg}`, this.source.endpoints(), code, status));
              return;
            }
          }
          this.attempt++;
          this.retry(`${endpoint}: ${err?.message ?? 'stream ended'}`);
        },
      },
    );
  }

  private retry(reason: string): void {
    if (this.closed) return;
    const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)]!;
    this.timer = setTimeout(() => void this.open(reason), delay);
  }

  private fail(err: Error): void {
    this.close();
    this.rejectReady(err);
    this.handlers.onError?.(err);
  }

  private onMessage(endpoint: string, message: unknown): void {
    const m = message as { result?: WireWatchResponse; error?: { message?: string; grpc_code?: number } };
    if (m.error) {
      const msg = m.error.message ?? 'watch error';
      if (RETRYABLE_GRPC_CODES.has(m.error.grpc_code ?? -1) || isNoQuorumMessage(msg)) {
        this.stream?.close();
        this.stream = undefined;
        this.attempt++;
        this.retry(`${endpoint}: ${msg}`);
      } else {
        this.fail(new EtcdRefusedError(`etcd watch: ${msg}`, this.source.endpoints(), m.error.grpc_code ?? 0, 200));
      }
      return;
    }
    const r = m.result ?? {};
    const header = decodeHeader(r.header);
    if (r.canceled) {
      const compacted = int(r.compact_revision);
      const why = compacted > 0 ? `revision ${this.next} was compacted (oldest kept: ${compacted})` : (r.cancel_reason ?? 'canceled by the server');
      this.fail(new EtcdRefusedError(`etcd watch: ${why}`, this.source.endpoints(), compacted > 0 ? 11 : 1, 200));
      return;
    }
    if (r.created) {
      // A watch "from now" covers everything after the creation revision: resume from there.
      if (this.next === 0) this.next = header.revision + 1;
      this.attempt = 0;
      this.resolveReady();
      return;
    }
    const events: WatchEvent[] = (r.events ?? []).map((e) => ({
      type: e.type === 'DELETE' ? 'DELETE' : 'PUT',
      kv: decodeKv(e.kv ?? {}),
      ...(e.prev_kv ? { prevKv: decodeKv(e.prev_kv) } : {}),
    }));
    if (events.length === 0) {
      // Progress notification: nothing up to header.revision is pending.
      if (header.revision + 1 > this.next) this.next = header.revision + 1;
      return;
    }
    const last = events[events.length - 1]!.kv.modRevision;
    // After a reconnect the member replays from `next`; drop anything already delivered.
    const fresh = events.filter((e) => e.kv.modRevision >= this.next);
    if (last + 1 > this.next) this.next = last + 1;
    if (fresh.length > 0) this.handlers.onEvents(fresh, Math.max(last, header.revision));
  }
}
