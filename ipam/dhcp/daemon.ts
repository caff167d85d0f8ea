// `dhcp daemon [flags]`: the long-running side. Listens on a unix socket (systemd socket
// activation when LISTEN_FDS is set), serves the plugin's requests (protocol.ts), keeps the leases
// (leases.ts) and logs one readable line per event to stderr.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ErrorCode } from '../../shared/cni/errors.js';
import { DAEMON_USAGE, type DaemonFlags, parseDaemonFlags } from './flags.js';
import { DaemonError, LeaseManager, type Logger } from './leases.js';
import { encodePacket } from './packet.js';
import type { Reply, Request } from './protocol.js';
import { LeaseStore } from './store.js';
import { makeDirectories } from '../../shared/sys/dirs.js';
import { errorText } from '../../shared/sys/error-text.js';

const MAX_REQUEST = 1 << 20;

export const log: Logger = (event, fields = {}) => {
  const kv = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => {
      const s = String(v);
      return `${k}=${/[\s"]/.test(s) ? JSON.stringify(s) : s}`;
    })
    .join(' ');
  process.stderr.write(`${new Date().toISOString()} dhcp[${process.pid}] ${event}${kv ? `: ${kv}` : ''}\n`);
};

function isAlive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** The listening server: the socket systemd passed, or our own at socketPath. */
async function listen(server: net.Server, socketPath: string): Promise<{ activated: boolean; ino?: number }> {
  const fds = process.env.LISTEN_FDS;
  const pid = process.env.LISTEN_PID;
  if (fds !== undefined && (pid === undefined || pid === String(process.pid))) {
    const n = Number(fds);
    if (n > 1) throw new Error(`Too many (${n}) FDs passed through socket activation`);
    if (n === 1) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd: 3 }, () => resolve());
      });
      delete process.env.LISTEN_FDS;
      delete process.env.LISTEN_PID;
      return { activated: true };
    }
  }
  makeDirectories(path.dirname(socketPath), 0o700);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    st = undefined;
  }
  if (st) {
    if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket: refusing to replace it`);
    if (await isAlive(socketPath)) throw new Error(`another daemon is already serving ${socketPath}`);
    fs.rmSync(socketPath, { force: true }); // stale: left by a daemon that did not shut down cleanly
    log('removed stale socket', { path: socketPath });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o660);
  return { activated: false, ino: fs.statSync(socketPath).ino };
}

async function handle(mgr: LeaseManager, req: Request): Promise<Reply> {
  switch (req.method) {
    case 'allocate': {
      const ack = await mgr.allocate(req);
      return { ok: true, ack: encodePacket(ack).toString('base64') };
    }
    case 'release':
      await mgr.release(req);
      return { ok: true };
    case 'gc':
      return { ok: true, released: await mgr.gc(req.network, req.valid) };
    case 'status':
      return { ok: true, leases: mgr.size };
    default:
      return { ok: false, code: ErrorCode.InvalidNetworkConfig, msg: `unknown daemon method ${JSON.stringify((req as { method?: unknown }).method)}` };
  }
}

function serve(mgr: LeaseManager, conn: net.Socket): void {
  let buf = '';
  let handled = false;
  conn.setEncoding('utf8');
  conn.on('error', () => undefined);
  conn.on('data', (chunk: string) => {
    if (handled) return;
    buf += chunk;
    if (buf.length > MAX_REQUEST) {
      handled = true;
      conn.end(`${JSON.stringify({ ok: false, code: ErrorCode.DecodingFailure, msg: 'request too large' })}\n`);
      return;
    }
    const nl = buf.indexOf('\n');
    if (nl < 0) return;
    handled = true;
    let req: Request;
    try {
      req = JSON.parse(buf.slice(0, nl)) as Request;
    } catch (e) {
      conn.end(`${JSON.stringify({ ok: false, code: ErrorCode.DecodingFailure, msg: `bad request: ${(e as Error).message}` })}\n`);
      return;
    }
    handle(mgr, req).then(
      (reply) => conn.end(`${JSON.stringify(reply)}\n`),
      (e: unknown) => {
        const reply: Reply =
          e instanceof DaemonError
            ? { ok: false, code: e.code, msg: e.message, ...(e.details ? { details: e.details } : {}) }
            : { ok: false, code: ErrorCode.Internal, msg: errorText(e) };
        if (!(e instanceof DaemonError)) log('internal error', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        conn.end(`${JSON.stringify(reply)}\n`);
      },
    );
  });
}

export async function runDaemon(argv: readonly string[]): Promise<number> {
  let flags: DaemonFlags;
  try {
    flags = parseDaemonFlags(argv);
  } catch (e) {
    const msg = (e as Error).message;
    process.stderr.write(`${msg === 'help requested' ? '' : `${msg}\n`}${DAEMON_USAGE}`);
    return 2;
  }
  if (flags.pidfile && !path.isAbsolute(flags.pidfile)) {
    log('error', { error: `Error writing pidfile "${flags.pidfile}": path not absolute` });
    return 1;
  }
  const socketPath = flags.hostPrefix + flags.socketPath;
  const store = new LeaseStore(flags.stateDir);
  const mgr = new LeaseManager(
    {
      hostPrefix: flags.hostPrefix,
      timeoutMs: flags.timeoutMs,
      resendMaxMs: flags.resendMaxMs,
      resendTimeoutMs: flags.resendTimeoutMs,
      broadcast: flags.broadcast,
      leaseTimeScale: flags.leaseTimeScale,
    },
    store,
    log,
  );
  const server = net.createServer((conn) => serve(mgr, conn));
  let listening: { activated: boolean; ino?: number };
  try {
    store.init();
    if (flags.pidfile) fs.writeFileSync(flags.pidfile, String(process.pid), { mode: 0o644 });
    // Leases first, so a plugin that connects finds them.
    mgr.restore();
    listening = await listen(server, socketPath);
  } catch (e) {
    log('error', { error: `Error getting listener: ${(e as Error).message}` });
    mgr.shutdown();
    if (flags.pidfile) fs.rmSync(flags.pidfile, { force: true });
    return 1;
  }
  mgr.startSweep();
  log('daemon started', {
    socket: listening.activated ? 'systemd socket (LISTEN_FDS)' : socketPath,
    statedir: flags.stateDir,
    leases: mgr.size,
    ...(flags.leaseTimeScale !== 1 ? { 'test-lease-scale': flags.leaseTimeScale } : {}),
  });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log('shutting down', { signal, leases: mgr.size, note: 'leases kept on disk' });
      mgr.shutdown();
      server.close();
      if (!listening.activated) {
        // Remove the socket only if it is still ours (a newer daemon may have replaced it).
        try {
          if (fs.statSync(socketPath).ino === listening.ino) fs.rmSync(socketPath, { force: true });
        } catch {
          /* already gone */
        }
      }
      if (flags.pidfile) fs.rmSync(flags.pidfile, { force: true });
      resolve(0);
      // Open client connections must not keep a stopping daemon alive.
      setTimeout(() => process.exit(0), 200).unref();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
