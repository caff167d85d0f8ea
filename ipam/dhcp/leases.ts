// The daemon's leases: acquisition (with the reference's retry backoff), maintenance as an RFC 2131
// state machine driven by one timer per lease (BOUND -> RENEWING at T1 -> REBINDING at T2 ->
// expiry brings the interface down), release, GC, persistence and resume after a restart.
// No thread and no socket per lease at rest: sockets exist only while a transaction is in flight.
import fs from 'node:fs';
import { ErrorCode } from '../../shared/cni/errors.js';
import {
  AttemptError, type AttemptLog, type ClientIdentity, discoverRequest, findLink, type LinkState, NakError,
  type Reply, renewOrRebind, sendRelease, sendReleaseOnUplink, setLinkUpDown,
} from './exchange.js';
import { decodePacket, encodePacket, Opt, optIp, type Packet } from './packet.js';
import type { AllocateRequest, AttachmentRef } from './protocol.js';
import { leaseResult, leaseTimes } from './result.js';
import type { LeaseRecord, LeaseStore } from './store.js';
import { currentUplink, findUplink } from './uplink.js';

export interface DaemonOptions {
  hostPrefix: string;
  /** One DHCP exchange (DISCOVER..ACK, or a renew). */
  timeoutMs: number;
  /** Cap of the retry backoff. */
  resendMaxMs: number;
  /** Give up acquiring after this long. */
  resendTimeoutMs: number;
  broadcast: boolean;
  /** Multiplies T1, T2 and the lease time (tests only; 1 in production). */
  leaseTimeScale: number;
}

export type Logger = (event: string, fields?: Record<string, string | number | undefined>) => void;

/** An error the daemon returns to the plugin with a CNI code. */
export class DaemonError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details = '',
  ) {
    super(msg);
  }
}

// Retry schedule (as the reference): 4 quick retries 2 s +-1 s apart, then 4 s doubling up to the
// resend maximum, each +-1 s.
const FAST_DELAY = 2000;
const FAST_TRIES = 4;
const BASE_DELAY = 4000;
const jitter = (): number => (Math.random() * 2 - 1) * 1000;

export class Backoff {
  private fastLeft = FAST_TRIES;
  private base = BASE_DELAY;
  constructor(private readonly maxMs: number) {}
  /** The next delay, or undefined when the schedule is exhausted. */
  next(): number | undefined {
    if (this.fastLeft > 0) {
      this.fastLeft--;
      return FAST_DELAY + jitter();
    }
    if (this.base >= this.maxMs * 2) return undefined;
    const d = Math.min(this.base, this.maxMs) + jitter();
    this.base *= 2;
    return d;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const MAX_TIMER = 0x7fffffff;
const secs = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

interface Lease {
  rec: LeaseRecord;
  ack: Packet;
  timer?: NodeJS.Timeout;
  state: 'bound' | 'renewing' | 'rebinding';
  backoff?: Backoff;
  stopped: boolean;
  /** Cancels the renew/rebind in flight (a DEL must not wait for it). */
  inflight?: AbortController;
}

export class LeaseManager {
  private readonly leases = new Map<string, Lease>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: DaemonOptions,
    private readonly store: LeaseStore,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.leases.size;
  }

  private nsPath(netns: string): string {
    return this.opts.hostPrefix + netns;
  }

  private who(r: AttachmentRef | LeaseRecord): Record<string, string> {
    return { container: r.containerID, net: r.network, if: r.ifName };
  }

  /** Runs fn after any operation still running for the same client id. */
  private serial<T>(clientID: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(clientID) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(clientID, tail);
    void tail.then(() => {
      if (this.locks.get(clientID) === tail) this.locks.delete(clientID);
    });
    return run;
  }

  private identity(rec: { clientID: string; netns: string; ifName: string; requested: number[]; provided: Array<[number, string]> }): ClientIdentity {
    return {
      netns: this.nsPath(rec.netns),
      ifName: rec.ifName,
      clientID: rec.clientID,
      requested: rec.requested,
      provided: rec.provided.map(([c, v]) => [c, Buffer.from(v, 'base64')]),
      broadcast: this.opts.broadcast,
    };
  }

  // ------------------------------------------------------------------------------------------
  // Requests

  allocate(req: AllocateRequest): Promise<Packet> {
    return this.serial(req.clientID, async () => {
      const existing = this.leases.get(req.clientID);
      if (existing) {
        if (existing.rec.netns === req.netns && findLink(this.nsPath(req.netns), req.ifName)) {
          this.log('lease reused', { ...this.who(req), ip: existing.rec.address });
          return existing.ack;
        }
        this.drop(existing, 'its interface is gone (a new one asks for a lease)');
      }
      return this.acquire(req);
    });
  }

  release(ref: AttachmentRef): Promise<void> {
    this.leases.get(ref.clientID)?.inflight?.abort();
    return this.serial(ref.clientID, async () => {
      const l = this.leases.get(ref.clientID);
      if (!l) {
        this.log('release: no lease held', this.who(ref));
        return;
      }
      this.stop(l);
      const link = findLink(this.nsPath(l.rec.netns), l.rec.ifName);
      // The bridge plugin deletes the container veth before IPAM DEL: then the release goes out on
      // the uplink (the node bridge the veth was a port of), else the server would keep the address
      // until the lease expires.
      const uplink = link || !l.rec.uplink ? undefined : currentUplink(l.rec.uplink);
      let sent = link ? 'DHCPRELEASE' : uplink ? `DHCPRELEASE via ${uplink.name}` : 'nothing (interface gone)';
      try {
        if (link) sendRelease(this.identity(l.rec), link, l.rec.address, l.rec.server, l.rec.serverMac);
        else if (uplink) sendReleaseOnUplink(this.identity(l.rec), uplink.index, l.rec.mac, l.rec.address, l.rec.server, l.rec.serverMac);
      } catch (e) {
        sent = 'nothing (send failed)';
        this.log('release: could not send DHCPRELEASE', { ...this.who(l.rec), error: (e as Error).message });
      }
      this.store.remove(l.rec.clientID);
      this.log('lease released', { ...this.who(l.rec), ip: l.rec.address, server: l.rec.server, sent });
    });
  }

  /** Releases every lease of `network` whose attachment is not listed. */
  async gc(network: string, valid: Array<{ containerID: string; ifname: string }>): Promise<string[]> {
    const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
    const stale = [...this.leases.values()].filter((l) => l.rec.network === network && !keep.has(`${l.rec.containerID}\0${l.rec.ifName}`));
    const released: string[] = [];
    for (const l of stale) {
      await this.release(l.rec);
      released.push(l.rec.clientID);
    }
    if (stale.length) this.log('gc', { net: network, released: stale.length });
    return released;
  }

  // ------------------------------------------------------------------------------------------
  // Acquisition

  private async acquire(req: AllocateRequest): Promise<Packet> {
    const ns = this.nsPath(req.netns);
    if (!fs.existsSync(ns)) throw new DaemonError(ErrorCode.InvalidNetNS, `failed to open netns "${ns}": no such file`);
    let link = findLink(ns, req.ifName);
    if (!link) throw new DaemonError(ErrorCode.InvalidNetworkConfig, `error looking up "${req.ifName}": Link not found`);
    if (!link.up) {
      this.log('link down, setting it up', this.who(req));
      setLinkUpDown(ns, req.ifName, true);
      link = { ...link, up: true };
    }
    const id = this.identity(req);
    this.log('acquiring lease', { ...this.who(req), mac: link.mac });
    const started = Date.now();
    const deadline = started + this.opts.resendTimeoutMs;
    const backoff = new Backoff(this.opts.resendMaxMs);
    const seen: AttemptLog = { offers: 0, naks: 0, servers: new Set() };
    let attempts = 0;
    let lastError = '';
    for (;;) {
      attempts++;
      try {
        const budget = Math.max(1, Math.min(this.opts.timeoutMs, deadline - Date.now()));
        const reply = await discoverRequest(id, link, budget, seen);
        return this.commitNew(req, link, reply);
      } catch (e) {
        if (!(e instanceof AttemptError)) throw e;
        lastError = e.message;
      }
      const delay = backoff.next();
      if (delay === undefined || Date.now() + delay >= deadline) break;
      this.log('acquire attempt failed, retrying', { ...this.who(req), error: lastError, 'retry-in': secs(delay) });
      await sleep(delay);
      if (!findLink(ns, req.ifName)) throw new DaemonError(ErrorCode.TryAgainLater, `interface "${req.ifName}" vanished while acquiring a lease`);
    }
    const took = secs(Date.now() - started);
    const answered =
      seen.offers === 0 && seen.naks === 0
        ? `no DHCP server answered on ${req.ifName} (${attempts} attempts over ${took})`
        : `server(s) ${[...seen.servers].join(', ') || '?'} answered (${seen.offers} offers, ${seen.naks} NAKs) but no lease was acknowledged; last: ${lastError}`;
    this.log('acquire failed', { ...this.who(req), error: answered });
    throw new DaemonError(ErrorCode.TryAgainLater, 'no more tries', answered);
  }

  private commitNew(req: AllocateRequest, link: LinkState, reply: Reply): Packet {
    const ack = reply.packet;
    try {
      leaseResult(ack);
    } catch (e) {
      // The reference stops (and releases) a lease it cannot turn into a result.
      const server = optIp(ack, Opt.SERVER_ID);
      if (server) {
        try {
          sendRelease(this.identity(req), link, ack.yiaddr, server, reply.srcMac);
        } catch {
          /* best effort */
        }
      }
      throw new DaemonError(ErrorCode.Internal, (e as Error).message);
    }
    const rec: LeaseRecord = {
      v: 1,
      clientID: req.clientID,
      containerID: req.containerID,
      network: req.network,
      ifName: req.ifName,
      netns: req.netns,
      mac: link.mac,
      requested: req.requested,
      provided: req.provided,
      ack: '',
      address: ack.yiaddr,
      server: '',
      serverMac: '',
      boundAt: 0,
      renewAt: 0,
      rebindAt: 0,
      expireAt: 0,
    };
    const uplink = findUplink(this.nsPath(req.netns), req.ifName);
    if (uplink) rec.uplink = uplink;
    const l: Lease = { rec, ack, state: 'bound', stopped: false };
    this.applyAck(l, reply);
    this.leases.set(rec.clientID, l);
    this.store.save(rec);
    this.log('lease acquired', {
      ...this.who(rec), ip: leaseResult(ack).address, server: rec.server,
      'renew-in': secs(rec.renewAt - Date.now()), expires: new Date(rec.expireAt).toISOString(), uplink: rec.uplink?.name,
    });
    this.schedule(l);
    return ack;
  }

  /** Records an ACK's times and server (scaled for tests). */
  private applyAck(l: Lease, reply: Reply): void {
    const ack = reply.packet;
    const t = leaseTimes(ack);
    const k = 1000 * this.opts.leaseTimeScale;
    const now = Date.now();
    l.ack = ack;
    l.rec.ack = encodePacket(ack).toString('base64');
    l.rec.address = ack.yiaddr;
    l.rec.server = optIp(ack, Opt.SERVER_ID) ?? reply.srcIp;
    l.rec.serverMac = reply.srcMac;
    l.rec.boundAt = now;
    l.rec.renewAt = now + t.t1 * k;
    l.rec.rebindAt = now + t.t2 * k;
    l.rec.expireAt = now + t.lease * k;
    l.state = 'bound';
    l.backoff = undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Maintenance

  private schedule(l: Lease, at?: number): void {
    if (l.stopped) return;
    clearTimeout(l.timer);
    const when = at ?? (l.state === 'bound' ? l.rec.renewAt : Date.now());
    const delay = Math.min(MAX_TIMER, Math.max(0, when - Date.now()));
    l.timer = setTimeout(() => {
      void this.serial(l.rec.clientID, () => this.step(l)).catch((e: unknown) =>
        this.log('maintenance error', { ...this.who(l.rec), error: (e as Error).message }),
      );
    }, delay);
  }

  private stop(l: Lease): void {
    l.stopped = true;
    clearTimeout(l.timer);
    if (this.leases.get(l.rec.clientID) === l) this.leases.delete(l.rec.clientID);
  }

  /** Forgets a lease without a DHCPRELEASE (its interface or netns is gone). */
  private drop(l: Lease, why: string): void {
    this.stop(l);
    this.store.remove(l.rec.clientID);
    this.log('lease dropped', { ...this.who(l.rec), ip: l.rec.address, why });
  }

  private async step(l: Lease): Promise<void> {
    if (l.stopped) return;
    const now = Date.now();
    const ns = this.nsPath(l.rec.netns);
    const link = findLink(ns, l.rec.ifName);
    if (!link) return this.drop(l, fs.existsSync(ns) ? 'interface gone' : 'netns gone');
    if (now >= l.rec.expireAt) {
      this.log('lease expired, bringing interface down', { ...this.who(l.rec), ip: l.rec.address });
      try {
        setLinkUpDown(ns, l.rec.ifName, false);
      } catch (e) {
        this.log('could not bring interface down', { ...this.who(l.rec), error: (e as Error).message });
      }
      this.stop(l);
      this.store.remove(l.rec.clientID);
      return;
    }
    if (now < l.rec.renewAt) return this.schedule(l);
    const rebinding = now >= l.rec.rebindAt;
    if (rebinding && l.state !== 'rebinding') {
      this.log('renewal time expired, rebinding', { ...this.who(l.rec), ip: l.rec.address });
      l.backoff = undefined;
    }
    l.state = rebinding ? 'rebinding' : 'renewing';
    const id = this.identity(l.rec);
    // One attempt may not run past the next milestone (T2 while renewing, expiry while rebinding).
    const until = rebinding ? l.rec.expireAt : l.rec.rebindAt;
    const budget = Math.max(500, Math.min(this.opts.timeoutMs, until - now));
    l.inflight = new AbortController();
    try {
      const server = rebinding || !l.rec.serverMac ? undefined : { ip: l.rec.server, mac: l.rec.serverMac };
      const reply = await renewOrRebind(id, link, l.rec.address, server, budget, l.inflight.signal);
      if (l.stopped) return;
      if (reply.packet.yiaddr !== l.rec.address) throw new NakError(`server acknowledged ${reply.packet.yiaddr} instead of ${l.rec.address}`);
      this.applyAck(l, reply);
      this.store.save(l.rec);
      this.log(rebinding ? 'lease rebound' : 'lease renewed', {
        ...this.who(l.rec), ip: l.rec.address, server: l.rec.server,
        'renew-in': secs(l.rec.renewAt - Date.now()), expires: new Date(l.rec.expireAt).toISOString(),
      });
      return this.schedule(l);
    } catch (e) {
      if (l.stopped || l.inflight?.signal.aborted) return;
      if (e instanceof NakError) {
        // RFC 2131 §4.4.5: the client must stop using the address at once.
        this.log('lease refused, bringing interface down', { ...this.who(l.rec), ip: l.rec.address, error: e.message });
        try {
          setLinkUpDown(ns, l.rec.ifName, false);
        } catch {
          /* interface may be gone */
        }
        this.stop(l);
        this.store.remove(l.rec.clientID);
        return;
      }
      l.backoff ??= new Backoff(this.opts.resendMaxMs);
      const delay = l.backoff.next() ?? this.opts.resendMaxMs;
      // Never sleep past the next milestone (T2 while renewing, expiry while rebinding).
      const milestone = rebinding ? l.rec.expireAt : l.rec.rebindAt;
      const at = Math.max(Date.now(), Math.min(Date.now() + delay, milestone));
      this.log(rebinding ? 'rebind failed' : 'renew failed', {
        ...this.who(l.rec), ip: l.rec.address, error: (e as Error).message, 'retry-in': secs(at - Date.now()),
      });
      return this.schedule(l, at);
    } finally {
      l.inflight = undefined;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Persistence

  /** Reloads the lease files: drops leases whose netns or interface is gone, resumes the others. */
  restore(): void {
    const records = this.store.loadAll((file, why) => this.log('unreadable lease file ignored', { file, why }));
    let resumed = 0;
    for (const rec of records) {
      const ns = this.nsPath(rec.netns);
      const link = fs.existsSync(ns) ? findLink(ns, rec.ifName) : undefined;
      if (!link || link.mac !== rec.mac) {
        this.store.remove(rec.clientID);
        this.log('lease dropped on restore', { ...this.who(rec), ip: rec.address, why: !link ? 'netns or interface gone' : 'interface MAC changed' });
        continue;
      }
      let ack: Packet;
      try {
        ack = decodePacket(Buffer.from(rec.ack, 'base64'));
      } catch {
        this.store.remove(rec.clientID);
        continue;
      }
      if (!rec.uplink) {
        // Records of an older daemon: learn the uplink now, while the interface exists.
        const uplink = findUplink(ns, rec.ifName);
        if (uplink) {
          rec.uplink = uplink;
          this.store.save(rec);
        }
      }
      const l: Lease = { rec, ack, state: 'bound', stopped: false };
      this.leases.set(rec.clientID, l);
      resumed++;
      this.log('lease resumed', {
        ...this.who(rec), ip: rec.address, server: rec.server,
        'renew-in': secs(Math.max(0, rec.renewAt - Date.now())), expires: new Date(rec.expireAt).toISOString(),
      });
      this.schedule(l);
    }
    if (records.length) this.log('restore done', { resumed, dropped: records.length - resumed });
  }

  /** Every 30 s: forget leases whose netns file is gone (a stat each; interfaces are checked at T1). */
  startSweep(periodMs = 30_000): void {
    this.sweepTimer = setInterval(() => {
      for (const l of [...this.leases.values()]) {
        if (!fs.existsSync(this.nsPath(l.rec.netns))) void this.serial(l.rec.clientID, async () => this.drop(l, 'netns gone'));
      }
    }, periodMs);
    this.sweepTimer.unref();
  }

  /** Stops every timer; leases stay on disk (not released) for the next daemon. */
  shutdown(): void {
    clearInterval(this.sweepTimer);
    for (const l of this.leases.values()) {
      l.stopped = true;
      clearTimeout(l.timer);
      l.inflight?.abort();
    }
  }
}
