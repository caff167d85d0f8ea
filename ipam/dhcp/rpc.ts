// The plugin's side of the daemon protocol: one request, one reply over the unix socket.
import net from 'node:net';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { PROTOCOL_VERSION, type Reply, type Request } from './protocol.js';

export class DaemonUnreachable extends Error {
  constructor(
    readonly socketPath: string,
    readonly code: string,
  ) {
    super(`error dialing DHCP daemon: dial unix ${socketPath}: connect: ${code}`);
  }
}

export function callDaemon(socketPath: string, req: Request): Promise<Reply & { ok: true }> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    let connected = false;
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => {
      connected = true;
      conn.write(`${JSON.stringify({ v: PROTOCOL_VERSION, ...req })}\n`);
    });
    conn.on('data', (d: string) => (buf += d));
    conn.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) reject(new DaemonUnreachable(socketPath, e.code ?? e.message));
      else reject(new CniError(ErrorCode.IOFailure, `error talking to DHCP daemon at ${socketPath}: ${e.message}`));
    });
    conn.on('end', () => {
      const line = buf.split('\n')[0] ?? '';
      if (!line) {
        reject(new CniError(ErrorCode.TryAgainLater, `DHCP daemon at ${socketPath} closed the connection without an answer`));
        return;
      }
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        reject(new CniError(ErrorCode.DecodingFailure, `DHCP daemon at ${socketPath} sent an unreadable answer`));
        return;
      }
      if (reply.ok) resolve(reply);
      else reject(new CniError(reply.code, reply.msg, reply.details ?? ''));
    });
  });
}
