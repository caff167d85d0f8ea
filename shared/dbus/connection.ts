// A minimal D-Bus connection over a unix socket: SASL EXTERNAL authentication with our uid, Hello,
// method calls with basic-typed arguments, and (for services) answering incoming calls. Enough for
// the firewall plugin's firewalld backend and for the test service that stands in for firewalld;
// no introspection, no containers in bodies, no fd passing.
import net from 'node:net';
import { decodeMessage, encodeMessage, messageLength, MessageType, type DBusValue, type Message } from './wire.js';

export const DEFAULT_SYSTEM_BUS_ADDRESS = 'unix:path=/run/dbus/system_bus_socket';
const BUS_NAME = 'org.freedesktop.DBus';
const BUS_PATH = '/org/freedesktop/DBus';

/** A D-Bus ERROR reply: `name` is the error name, `message` the first string of its body. */
export class DBusError extends Error {
  readonly errorName: string;
  constructor(errorName: string, message: string) {
    super(message ? `${errorName}: ${message}` : errorName);
    this.name = 'DBusError';
    this.errorName = errorName;
  }
}

/** The bus could not be reached or authenticated (as opposed to a method failing). */
export class DBusUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DBusUnavailableError';
  }
}

/** The socket path of a bus address: the first `unix:path=` or `unix:abstract=` entry. */
export function socketPathOf(address: string): string | undefined {
  for (const entry of address.split(';')) {
    const m = /^unix:(.*)$/.exec(entry.trim());
    if (!m) continue;
    const params = new Map(m[1]!.split(',').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), decodeURIComponent(kv.slice(i + 1))] as [string, string];
    }));
    const path = params.get('path');
    if (path) return path;
    const abstract = params.get('abstract');
    if (abstract) return `\0${abstract}`;
  }
  return undefined;
}

/** The system bus address: DBUS_SYSTEM_BUS_ADDRESS, else the well-known socket. */
export function systemBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.DBUS_SYSTEM_BUS_ADDRESS;
  return v !== undefined && v !== '' ? v : DEFAULT_SYSTEM_BUS_ADDRESS;
}

export interface CallOptions {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  args?: DBusValue[];
}

export type MethodHandler = (call: Message) => { signature: string; body: DBusValue[] } | DBusError | Promise<{ signature: string; body: DBusValue[] } | DBusError>;

export class DBusConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private serial = 0;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private handler: MethodHandler | undefined;
  private closedError: Error | undefined;
  /** Our unique name, from Hello. */
  uniqueName = '';

  private readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new DBusUnavailableError('D-Bus connection closed')));
  }

  /** Connects, authenticates and says Hello. Rejects with DBusUnavailableError when that fails. */
  static async connect(address: string, timeoutMs = 3000): Promise<DBusConnection> {
    const path = socketPathOf(address);
    if (path === undefined) throw new DBusUnavailableError(`unsupported D-Bus address ${JSON.stringify(address)} (only unix:path= and unix:abstract=)`);
    const socket = await authenticate(path, timeoutMs);
    const conn = new DBusConnection(socket);
    const timer = setTimeout(() => conn.fail(new DBusUnavailableError(`D-Bus Hello timed out after ${timeoutMs} ms`)), timeoutMs);
    try {
      const [name] = await conn.call({ destination: BUS_NAME, path: BUS_PATH, interface: BUS_NAME, member: 'Hello' });
      conn.uniqueName = String(name);
    } finally {
      clearTimeout(timer);
    }
    return conn;
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const p of this.pending.values()) p.reject(e instanceof DBusUnavailableError ? e : new DBusUnavailableError(e.message));
    this.pending.clear();
  }

  private send(msg: Omit<Message, 'serial'>): number {
    const serial = ++this.serial;
    this.socket.write(encodeMessage(msg, serial));
    return serial;
  }

  /** Calls a method and resolves with the reply's body; rejects with DBusError on an ERROR reply. */
  call(opts: CallOptions): Promise<DBusValue[]> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const serial = this.send({
        type: MessageType.MethodCall,
        flags: 0,
        destination: opts.destination,
        path: opts.path,
        interface: opts.interface,
        member: opts.member,
        signature: opts.signature ?? '',
        body: opts.args ?? [],
      });
      this.pending.set(serial, {
        resolve: (m) => {
          if (m.type === MessageType.Error) reject(new DBusError(m.errorName ?? 'unknown error', typeof m.body[0] === 'string' ? m.body[0] : ''));
          else resolve(m.body);
        },
        reject,
      });
    });
  }

  /** org.freedesktop.DBus.NameHasOwner. */
  async nameHasOwner(name: string): Promise<boolean> {
    const [owned] = await this.call({ destination: BUS_NAME, path: BUS_PATH, interface: BUS_NAME, member: 'NameHasOwner', signature: 's', args: [name] });
    return owned === true;
  }

  /** org.freedesktop.DBus.RequestName (flags 4: do not queue); true when we became the primary owner. */
  async requestName(name: string): Promise<boolean> {
    const [reply] = await this.call({ destination: BUS_NAME, path: BUS_PATH, interface: BUS_NAME, member: 'RequestName', signature: 'su', args: [name, 4] });
    return reply === 1;
  }

  /** Answer incoming method calls with `handler` (services only). */
  serve(handler: MethodHandler): void {
    this.handler = handler;
  }

  close(): void {
    this.closedError ??= new DBusUnavailableError('D-Bus connection closed');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      let len: number | undefined;
      try {
        len = messageLength(this.buffer);
      } catch (e) {
        this.fail(e as Error);
        this.socket.destroy();
        return;
      }
      if (len === undefined || this.buffer.length < len) return;
      const raw = this.buffer.subarray(0, len);
      this.buffer = this.buffer.subarray(len);
      this.dispatch(decodeMessage(raw));
    }
  }

  private dispatch(msg: Message): void {
    if ((msg.type === MessageType.MethodReturn || msg.type === MessageType.Error) && msg.replySerial !== undefined) {
      const p = this.pending.get(msg.replySerial);
      if (p) {
        this.pending.delete(msg.replySerial);
        p.resolve(msg);
      }
      return;
    }
    if (msg.type === MessageType.MethodCall && this.handler) void this.answer(msg, this.handler);
  }

  private async answer(call: Message, handler: MethodHandler): Promise<void> {
    let outcome: Awaited<ReturnType<MethodHandler>>;
    try {
      outcome = await handler(call);
    } catch (e) {
      outcome = new DBusError('org.freedesktop.DBus.Error.Failed', (e as Error).message);
    }
    const common = { flags: 0, replySerial: call.serial, ...(call.sender ? { destination: call.sender } : {}) };
    if (outcome instanceof DBusError) {
      const text = outcome.message.slice(outcome.errorName.length + 2);
      this.send({ ...common, type: MessageType.Error, errorName: outcome.errorName, signature: 's', body: [text] });
    } else {
      this.send({ ...common, type: MessageType.MethodReturn, signature: outcome.signature, body: outcome.body });
    }
  }
}

/** Opens the socket and runs the SASL EXTERNAL exchange; resolves with the socket after BEGIN. */
function authenticate(path: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DBusUnavailableError(`D-Bus authentication at ${path} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.removeAllListeners('error');
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(socket);
    };
    socket.on('error', (e: NodeJS.ErrnoException) => done(new DBusUnavailableError(`cannot connect to D-Bus at ${path}: ${e.code ?? e.message}`)));
    socket.on('connect', () => {
      const uid = String(process.getuid?.() ?? 0);
      socket.write(`\0AUTH EXTERNAL ${Buffer.from(uid, 'ascii').toString('hex')}\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end < 0) return;
      const line = received.slice(0, end);
      if (!line.startsWith('OK ')) {
        done(new DBusUnavailableError(`D-Bus refused EXTERNAL authentication: ${line}`));
        return;
      }
      socket.write('BEGIN\r\n');
      done();
    });
  });
}
