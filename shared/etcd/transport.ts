// One HTTP exchange with one etcd member's JSON gateway: connect within the dial timeout, finish
// within the request timeout, over node:http or node:https (client certificate and CA as given).
// Failover between members is the client's business; here one endpoint, one outcome.
import http from 'node:http';
import type https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/**
 * node:https loads the TLS stack, ~10 ms of a call's start on this machine: fetched only when an
 * https endpoint is used (a static import would cost every plain-http call too).
 */
export const httpsModule = (): typeof https => process.getBuiltinModule('node:https') as typeof https;

export interface TlsFiles {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/** Reads the PEM files once; a missing or unreadable file is a configuration problem the caller reports. */
export function loadTlsFiles(certFile?: string, keyFile?: string, trustedCAFile?: string): TlsFiles {
  const files: TlsFiles = {};
  if (certFile) files.cert = readFileSync(certFile);
  if (keyFile) files.key = readFileSync(keyFile);
  if (trustedCAFile) files.ca = readFileSync(trustedCAFile);
  return files;
}

/** How one exchange ended when it did not end with a response. */
export class TransportError extends Error {
  /** 'dial': never connected; 'timeout': connected but no full answer in time; 'io': reset/closed midway. */
  readonly stage: 'dial' | 'timeout' | 'io';
  constructor(stage: 'dial' | 'timeout' | 'io', message: string) {
    super(message);
    this.name = 'TransportError';
    this.stage = stage;
  }
}

export interface Exchange {
  endpoint: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
  dialTimeoutMs: number;
  /** Whole exchange (0: none, for streams the caller ends). */
  timeoutMs: number;
  tls: TlsFiles;
  agent?: http.Agent | undefined;
}

export interface Reply {
  status: number;
  body: unknown;
}

function open(ex: Exchange): http.ClientRequest {
  const url = new URL(ex.path, ex.endpoint);
  const payload = JSON.stringify(ex.body);
  const options: https.RequestOptions = {
    method: 'POST',
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (url.protocol === 'https:' ? 443 : 80),
    path: url.pathname,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...ex.headers },
    agent: ex.agent,
  };
  let req: http.ClientRequest;
  if (url.protocol === 'https:') {
    req = httpsModule().request({ ...options, cert: ex.tls.cert, key: ex.tls.key, ca: ex.tls.ca });
  } else if (url.protocol === 'http:') {
    req = http.request(options);
  } else {
    throw new TransportError('dial', `unsupported endpoint scheme ${JSON.stringify(url.protocol)} in ${ex.endpoint}`);
  }
  req.end(payload);
  return req;
}

/**
 * Arms the dial and overall timers on `req`; `fail` is called once with the reason. A reused
 * keep-alive socket is already connected, so the dial timer only runs for a fresh connection.
 */
function armTimers(req: http.ClientRequest, ex: Exchange, fail: (err: TransportError) => void): () => void {
  let dialTimer: NodeJS.Timeout | undefined;
  const overall = ex.timeoutMs > 0 ? setTimeout(() => fail(new TransportError('timeout', `no answer from ${ex.endpoint} within ${ex.timeoutMs} ms`)), ex.timeoutMs) : undefined;
  req.on('socket', (socket: Socket) => {
    if (socket.connecting) {
      dialTimer = setTimeout(() => fail(new TransportError('dial', `could not connect to ${ex.endpoint} within ${ex.dialTimeoutMs} ms`)), ex.dialTimeoutMs);
      socket.once('connect', () => clearTimeout(dialTimer));
      socket.once('secureConnect', () => clearTimeout(dialTimer));
    }
  });
  return () => {
    clearTimeout(dialTimer);
    clearTimeout(overall);
  };
}

/** One request, the whole JSON answer. Rejects with TransportError only when no HTTP answer came. */
export function exchange(ex: Exchange): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    let settled = false;
    let req: http.ClientRequest;
    try {
      req = open(ex);
    } catch (err) {
      reject(err);
      return;
    }
    const done = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clear();
      fn();
    };
    const fail = (err: TransportError): void => {
      done(() => reject(err));
      req.destroy();
    };
    const clear = armTimers(req, ex, fail);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const connected = req.socket && !req.socket.connecting && req.socket.bytesWritten > 0;
      fail(new TransportError(connected ? 'io' : 'dial', `${ex.endpoint}: ${err.code ?? err.message}`));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => fail(new TransportError('io', `${ex.endpoint}: ${err.message}`)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : {};
        } catch {
          // Not JSON (a proxy's page, the gateway's "Not Found"): the caller reports the text.
        }
        done(() => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
  });
}

export interface Stream {
  /** Ends the exchange; no callback fires afterwards. */
  close(): void;
}

export interface StreamHandlers {
  /** Each JSON message of the answer's body, in order. */
  onMessage(message: unknown): void;
  /** The stream ended (by the server, a reset, or a non-200 answer); not called after close(). */
  onEnd(err: Error | undefined, status: number): void;
}

/**
 * A streaming exchange (watch): the gateway answers with a sequence of JSON objects. They are
 * split by brace depth (outside strings), so the delimiter between them does not matter.
 */
export function openStream(ex: Exchange, handlers: StreamHandlers): Stream {
  let closed = false;
  let ended = false;
  let req: http.ClientRequest | undefined;
  const end = (err: Error | undefined, status: number): void => {
    if (closed || ended) return;
    ended = true;
    clear();
    req?.destroy();
    handlers.onEnd(err, status);
  };
  let clear: () => void = () => {};
  try {
    req = open(ex);
  } catch (err) {
    queueMicrotask(() => end(err instanceof Error ? err : new Error(String(err)), 0));
    return { close: () => (closed = true) };
  }
  clear = armTimers(req, { ...ex, timeoutMs: 0 }, (err) => end(err, 0));
  req.on('error', (err: NodeJS.ErrnoException) => end(new TransportError('io', `${ex.endpoint}: ${err.code ?? err.message}`), 0));
  req.on('response', (res) => {
    clear();
    const status = res.statusCode ?? 0;
    const splitter = new JsonSplitter();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (closed || ended) return;
      for (const text of splitter.push(chunk)) {
        let message: unknown;
        try {
          message = JSON.parse(text);
        } catch {
          end(new TransportError('io', `${ex.endpoint}: undecodable stream message`), status);
          return;
        }
        if (status !== 200) {
          end(new StreamRefused(status, message), status);
          return;
        }
        handlers.onMessage(message);
        if (closed || ended) return;
      }
    });
    res.on('error', (err) => end(new TransportError('io', `${ex.endpoint}: ${err.message}`), status));
    res.on('close', () => end(status === 200 ? new TransportError('io', `${ex.endpoint}: stream closed`) : new StreamRefused(status, splitter.rest()), status));
  });
  return {
    close: () => {
      if (closed) return;
      closed = true;
      clear();
      req?.destroy();
    },
  };
}

/** A stream answered with an HTTP error status; `body` is its (decoded if possible) message. */
export class StreamRefused extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Splits concatenated JSON objects (`{...}{...}` or newline-separated) from text arriving in chunks. */
export class JsonSplitter {
  private buffer = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  push(chunk: string): string[] {
    this.buffer += chunk;
    const out: string[] = [];
    for (let i = this.scanned; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === '}') {
        this.depth--;
        if (this.depth === 0 && this.start >= 0) {
          out.push(this.buffer.slice(this.start, i + 1));
          this.start = -1;
        }
      }
    }
    // Keep only the unfinished object.
    if (this.depth === 0) {
      this.buffer = '';
      this.scanned = 0;
    } else {
      this.buffer = this.buffer.slice(this.start);
      this.start = 0;
      this.scanned = this.buffer.length;
    }
    return out;
  }

  rest(): string {
    return this.buffer;
  }
}
