// dhcp IPAM: the plugin asks the dhcp daemon (same binary, `dhcp daemon`) for a lease on the
// container interface; the daemon runs the DHCP client inside the container netns and keeps the
// lease alive. See daemon.ts, leases.ts, and protocol.ts for the wire format between the two.
import path from 'node:path';
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { Result } from '../../shared/cni/types.js';
import * as v from '../../build/generated/validators/dhcp.js';
import { clientIdFor, DEFAULT_SOCKET_PATH, type DhcpNetConf, prepareOptions } from './config.js';
import { decodePacket } from './packet.js';
import type { AttachmentRef } from './protocol.js';
import { leaseResult } from './result.js';
import { callDaemon, DaemonUnreachable } from './rpc.js';
import { errorText } from '../../shared/sys/error-text.js';

function load(args: CmdArgs): { conf: DhcpNetConf; socketPath: string } {
  const conf = parseConfig<DhcpNetConf>(args.stdinData, v);
  return { conf, socketPath: conf.ipam?.daemonSocketPath || DEFAULT_SOCKET_PATH };
}

function attachment(args: CmdArgs, conf: DhcpNetConf): AttachmentRef {
  return {
    clientID: clientIdFor(args.containerID, conf.name, args.ifName),
    containerID: args.containerID,
    network: conf.name,
    ifName: args.ifName,
    // The daemon may run in another working directory.
    netns: args.netns ? path.resolve(args.netns) : '',
  };
}

/** The daemon's socket cannot be reached: code 11 (try again later), naming the socket. */
function unreachable(e: DaemonUnreachable, command: string): CniError {
  const how =
    command === 'ADD' || command === 'CHECK'
      ? `start the daemon: "dhcp daemon -socketpath ${e.socketPath}" (or "systemctl enable --now cni-dhcp.socket" with the units from conf-examples/systemd)`
      : `the DHCP daemon is not running at ${e.socketPath}; retry once it is started`;
  return new CniError(ErrorCode.TryAgainLater, e.message, how);
}

async function allocate(args: CmdArgs): Promise<Result> {
  const { conf, socketPath } = load(args);
  const { requested, provided } = prepareOptions(args.args, conf.ipam ?? {});
  try {
    const reply = await callDaemon(socketPath, {
      method: 'allocate',
      ...attachment(args, conf),
      requested,
      provided: provided.map(([c, b]) => [c, b.toString('base64')]),
    });
    const lease = leaseResult(decodePacket(Buffer.from(reply.ack ?? '', 'base64')), conf.ipam?.priority);
    return {
      cniVersion: args.cniVersion,
      ips: [{ address: lease.address, ...(lease.gateway ? { gateway: lease.gateway } : {}) }],
      routes: lease.routes,
    };
  } catch (e) {
    if (e instanceof DaemonUnreachable) throw unreachable(e, args.command);
    if (e instanceof CniError) throw new CniError(e.code, `error calling DHCP.Allocate: ${e.msg}`, e.details);
    throw e;
  }
}

export const plugin: Plugin = {
  name: 'dhcp',
  description: 'CNI dhcp IPAM plugin',
  resultAddresses: 'self',
  add: allocate,
  async check(args) {
    // As the reference: CHECK asks for the lease (the same one while the daemon holds it).
    const result = await allocate(args);
    const want = result.ips?.[0]?.address;
    const prev = args.prevResult?.ips;
    if (want && prev && prev.length > 0 && !prev.some((ip) => ip.address === want)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `DHCP lease ${want} is not in prevResult`);
    }
  },
  async del(args) {
    const { conf, socketPath } = load(args);
    try {
      await callDaemon(socketPath, { method: 'release', ...attachment(args, conf) });
    } catch (e) {
      if (e instanceof DaemonUnreachable) throw unreachable(e, 'DEL');
      if (e instanceof CniError) throw new CniError(e.code, `error calling DHCP.Release: ${e.msg}`, e.details);
      throw e;
    }
  },
  async gc(args) {
    const { conf, socketPath } = load(args);
    try {
      await callDaemon(socketPath, { method: 'gc', network: conf.name, valid: args.validAttachments ?? [] });
    } catch (e) {
      if (e instanceof DaemonUnreachable) throw unreachable(e, 'GC');
      throw e;
    }
  },
  async status(args) {
    const { socketPath } = load(args);
    try {
      await callDaemon(socketPath, { method: 'status' });
    } catch (e) {
      const why = errorText(e);
      throw new CniError(ErrorCode.NotAvailable, `DHCP daemon is not available at ${socketPath}`, why);
    }
  },
  async cli(argv) {
    if (argv[0] !== 'daemon') {
      process.stderr.write(`dhcp: unknown command "${argv[0]}"; usage: dhcp daemon [flags] (without arguments: the CNI plugin)\n`);
      return 2;
    }
    const { runDaemon } = await import('./daemon.js');
    return runDaemon(argv.slice(1));
  },
};
