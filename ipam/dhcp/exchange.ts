// One DHCP transaction on a container interface: sockets opened inside the container netns for
// the time of the transaction only, messages sent, replies matched by xid and hardware address.
import { randomInt } from 'node:crypto';
import { Netlink, withNetns } from '../../shared/netlink/index.js';
import {
  BOOTREPLY, BOOTREQUEST, FLAG_BROADCAST, MessageType, Opt, broadcastFrame, clientIdOption, decodePacket,
  dhcpPayloadOfFrame, encodePacket, ipv4Bytes, messageType, optIp, type Options, type Packet, udpFrame,
} from './packet.js';
import { closeFd, openPacketSocket, Poller, sendFrame } from './sys.js';

export const poller = new Poller();

/** What identifies the client on one interface. */
export interface ClientIdentity {
  /** The netns path as the daemon opens it (host prefix applied). */
  netns: string;
  ifName: string;
  clientID: string;
  /** Option codes for the parameter request list (55). */
  requested: number[];
  /** Options the client sends (provide[]), as [code, value]. */
  provided: Array<[number, Buffer]>;
  /** Set the BROADCAST flag (ask servers to broadcast their replies). */
  broadcast: boolean;
}

export interface LinkState {
  index: number;
  mac: string;
  up: boolean;
}

/** Looks the interface up in its netns; undefined when the netns or the interface is gone. */
export function findLink(netns: string, ifName: string): LinkState | undefined {
  let nl: Netlink;
  try {
    nl = Netlink.open(netns);
  } catch {
    return undefined;
  }
  try {
    const l = nl.findLink(ifName);
    return l && l.mac ? { index: l.index, mac: l.mac, up: l.up } : undefined;
  } finally {
    nl.close();
  }
}

export function setLinkUpDown(netns: string, ifName: string, up: boolean): void {
  const nl = Netlink.open(netns);
  try {
    const l = nl.getLink(ifName);
    if (up) nl.setLinkUp(l);
    else nl.setLinkDown(l);
  } finally {
    nl.close();
  }
}

/** Options every message of this client carries: client id, then the provided ones. */
function baseOptions(id: ClientIdentity, type: number): Options {
  const o: Options = new Map();
  o.set(Opt.MESSAGE_TYPE, Buffer.from([type]));
  o.set(Opt.CLIENT_ID, clientIdOption(id.clientID));
  for (const [code, value] of id.provided) o.set(code, value);
  return o;
}

function withRequestList(o: Options, id: ClientIdentity): Options {
  o.set(Opt.PARAMETER_REQUEST_LIST, Buffer.from(id.requested));
  return o;
}

export function newXid(): number {
  return randomInt(0, 0xffffffff);
}

export interface BuildArgs {
  id: ClientIdentity;
  mac: string;
  xid: number;
  type: number;
  ciaddr?: string;
  requestedIp?: string;
  serverId?: string;
  secs?: number;
}

export function buildRequest(a: BuildArgs): Packet {
  const o = baseOptions(a.id, a.type);
  if (a.requestedIp) o.set(Opt.REQUESTED_IP, ipv4Bytes(a.requestedIp));
  if (a.serverId) o.set(Opt.SERVER_ID, ipv4Bytes(a.serverId));
  if (a.type !== MessageType.RELEASE) withRequestList(o, a.id);
  return {
    op: BOOTREQUEST,
    xid: a.xid,
    secs: a.secs ?? 0,
    // Replies to a client with an address come unicast (RFC 2131 §4.1); before, honour -broadcast.
    flags: a.id.broadcast && !a.ciaddr ? FLAG_BROADCAST : 0,
    ciaddr: a.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: a.mac,
    options: o,
  };
}

/** A reply and the L2 address it came from (the next hop toward its server). */
export interface Reply {
  packet: Packet;
  srcMac: string;
  srcIp: string;
}

/** A transaction: a packet socket in the container netns, the reply stream, closed by close(). */
export class Transaction {
  private packetFd = -1;
  private waiter: ((r: Reply) => void) | undefined;
  closed = false;

  constructor(
    readonly id: ClientIdentity,
    readonly link: LinkState,
    readonly xid: number,
  ) {
    // One short, synchronous excursion into the netns; the socket stays bound to it.
    withNetns(id.netns, () => {
      this.packetFd = openPacketSocket(link.index);
    });
    poller.watch(this.packetFd, (frame) => this.onFrame(frame));
  }

  private onFrame(frame: Buffer): void {
    const d = dhcpPayloadOfFrame(frame);
    if (!d) return;
    let p: Packet;
    try {
      p = decodePacket(d.payload);
    } catch {
      return;
    }
    if (p.op !== BOOTREPLY || p.xid !== this.xid || p.chaddr !== this.link.mac) return;
    this.waiter?.({ packet: p, srcMac: d.srcMac, srcIp: d.srcIp });
  }

  broadcast(p: Packet): void {
    sendFrame(this.packetFd, broadcastFrame(this.link.mac, encodePacket(p)));
  }

  unicast(p: Packet, from: string, server: string, nextHopMac: string): void {
    sendFrame(this.packetFd, udpFrame(this.link.mac, nextHopMac, from, server, encodePacket(p)));
  }

  /**
   * Waits up to timeoutMs for a reply accepted by `accept` (message types listed), calling
   * `resend` at 1 s, 2 s, 4 s ... (RFC 2131 §4.1 retransmission, shortened to the timeout).
   */
  waitFor(types: number[], timeoutMs: number, resend: () => void, signal?: AbortSignal): Promise<Reply | undefined> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(undefined);
      let gap = 1000;
      let resendTimer: NodeJS.Timeout | undefined;
      const schedule = (): void => {
        resendTimer = setTimeout(() => {
          if (this.closed) return;
          try {
            resend();
          } catch {
            /* a failed resend is a lost packet */
          }
          gap *= 2;
          schedule();
        }, gap);
      };
      const onAbort = (): void => done(undefined);
      const done = (p: Reply | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(deadline);
        clearTimeout(resendTimer);
        this.waiter = undefined;
        resolve(p);
      };
      const deadline = setTimeout(() => done(undefined), timeoutMs);
      this.waiter = (r) => {
        if (types.includes(messageType(r.packet))) done(r);
      };
      signal?.addEventListener('abort', onAbort);
      schedule();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    poller.unwatch(this.packetFd);
    closeFd(this.packetFd);
    this.packetFd = -1;
  }
}

/** What one acquisition attempt saw, for an error message that says whether any server answered. */
export interface AttemptLog {
  offers: number;
  naks: number;
  servers: Set<string>;
  nakMessage?: string;
}

export class AttemptError extends Error {}


/** INIT -> SELECTING -> REQUESTING -> BOUND: DISCOVER, first OFFER, REQUEST, ACK. */
export async function discoverRequest(id: ClientIdentity, link: LinkState, timeoutMs: number, log: AttemptLog): Promise<Reply> {
  const xid = newXid();
  const t = new Transaction(id, link, xid);
  const started = Date.now();
  try {
    const secs = (): number => Math.min(0xffff, Math.floor((Date.now() - started) / 1000));
    const discover = (): void => t.broadcast(buildRequest({ id, mac: link.mac, xid, type: MessageType.DISCOVER, secs: secs() }));
    discover();
    const offerReply = await t.waitFor([MessageType.OFFER], timeoutMs, discover);
    if (!offerReply) throw new AttemptError('no DHCPOFFER received');
    const offer = offerReply.packet;
    log.offers++;
    const server = optIp(offer, Opt.SERVER_ID);
    log.servers.add(server ?? offerReply.srcIp);
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    const request = (): void =>
      t.broadcast(
        buildRequest({ id, mac: link.mac, xid, type: MessageType.REQUEST, requestedIp: offer.yiaddr, serverId: server, secs: secs() }),
      );
    request();
    const reply = await t.waitFor([MessageType.ACK, MessageType.NAK], left, request);
    if (!reply) throw new AttemptError(`no DHCPACK for the offer of ${offer.yiaddr} from ${server ?? 'the server'}`);
    if (messageType(reply.packet) === MessageType.NAK) {
      log.naks++;
      log.nakMessage = reply.packet.options.get(Opt.MESSAGE)?.toString('utf8');
      throw new AttemptError(`DHCP server NACK'd own offer${log.nakMessage ? ` (${log.nakMessage})` : ''}`);
    }
    return reply;
  } finally {
    t.close();
  }
}

export class NakError extends AttemptError {}

/**
 * RENEWING (unicast to the server, through nextHopMac) or REBINDING (broadcast): DHCPREQUEST with
 * ciaddr = the leased address. Resolves with the ACK; throws on NAK or silence.
 */
export async function renewOrRebind(
  id: ClientIdentity,
  link: LinkState,
  leased: string,
  server: { ip: string; mac: string } | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Reply> {
  const xid = newXid();
  const t = new Transaction(id, link, xid);
  try {
    const p = buildRequest({ id, mac: link.mac, xid, type: MessageType.REQUEST, ciaddr: leased });
    const send = (): void => (server ? t.unicast(p, leased, server.ip, server.mac) : t.broadcast(p));
    send();
    const reply = await t.waitFor([MessageType.ACK, MessageType.NAK], timeoutMs, send, signal);
    if (signal?.aborted) throw new AttemptError('cancelled');
    if (!reply) throw new AttemptError(`no answer to ${server ? `DHCPREQUEST (renew) sent to ${server.ip}` : 'broadcast DHCPREQUEST (rebind)'}`);
    if (messageType(reply.packet) === MessageType.NAK) {
      const msg = reply.packet.options.get(Opt.MESSAGE)?.toString('utf8');
      throw new NakError(`DHCP server ${optIp(reply.packet, Opt.SERVER_ID) ?? reply.srcIp} refused the lease of ${leased} (DHCPNAK${msg ? `: ${msg}` : ''})`);
    }
    return reply;
  } finally {
    t.close();
  }
}

/** DHCPRELEASE, unicast to the server (broadcast when its next hop is unknown); no reply expected. */
function releasePacket(id: ClientIdentity, xid: number, clientMac: string, leased: string, server: string): Packet {
  const o: Options = new Map();
  o.set(Opt.MESSAGE_TYPE, Buffer.from([MessageType.RELEASE]));
  o.set(Opt.CLIENT_ID, clientIdOption(id.clientID));
  o.set(Opt.SERVER_ID, ipv4Bytes(server));
  return {
    op: BOOTREQUEST, xid, secs: 0, flags: 0, ciaddr: leased, yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
    giaddr: '0.0.0.0', chaddr: clientMac, options: o,
  };
}

export function sendRelease(id: ClientIdentity, link: LinkState, leased: string, server: string, nextHopMac?: string): void {
  const xid = newXid();
  const t = new Transaction(id, link, xid);
  try {
    const p = releasePacket(id, xid, link.mac, leased, server);
    if (nextHopMac) t.unicast(p, leased, server, nextHopMac);
    else t.broadcast(p);
  } finally {
    t.close();
  }
}

/**
 * The DHCPRELEASE of a lease whose interface is gone, sent on its uplink in the daemon's own netns
 * (uplink.ts) with the interface's MAC as source: the frame the interface itself would have sent.
 */
export function sendReleaseOnUplink(
  id: ClientIdentity, uplinkIndex: number, clientMac: string, leased: string, server: string, nextHopMac?: string,
): void {
  const fd = openPacketSocket(uplinkIndex);
  try {
    const payload = encodePacket(releasePacket(id, newXid(), clientMac, leased, server));
    sendFrame(fd, nextHopMac ? udpFrame(clientMac, nextHopMac, leased, server, payload) : broadcastFrame(clientMac, payload));
  } finally {
    closeFd(fd);
  }
}
