// Traffic control over rtnetlink: qdiscs (tbf, htb, ingress), htb classes and u32 filters with a
// mirred action, as request builders (pure, unit-tested byte for byte) plus a small handle that
// sends them and parses dumps. The wire layout follows what the Go reference's netlink library
// (vishvananda/netlink) sends, so the kernel ends up with the very same objects.
import { NLM_F_CREATE, NLM_F_EXCL } from './constants.js';
import { attrList, attrString, attrU32, type Attrs, MessageBuilder, type NlMsg, parseAttrs, parseNested } from './message.js';
import { NetlinkSocket } from './socket.js';

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTCLASS = 40;
export const RTM_GETTCLASS = 42;
export const RTM_NEWTFILTER = 44;
export const RTM_GETTFILTER = 46;

const TCA_KIND = 1;
const TCA_OPTIONS = 2;

const TCA_TBF_PARMS = 1;
const TCA_TBF_RATE64 = 4;

const TCA_HTB_PARMS = 1;
const TCA_HTB_INIT = 2;
const TCA_HTB_CTAB = 3;
const TCA_HTB_RTAB = 4;
const TCA_HTB_RATE64 = 6;
const TCA_HTB_CEIL64 = 7;

const TCA_U32_CLASSID = 1;
const TCA_U32_SEL = 5;
const TCA_U32_ACT = 7;
export const TC_U32_TERMINAL = 1;

const TCA_ACT_KIND = 1;
const TCA_ACT_OPTIONS = 2;
const TCA_MIRRED_PARMS = 2;
export const TCA_EGRESS_REDIR = 1;
export const TC_ACT_OK = 0;
export const TC_ACT_STOLEN = 4;

export const TC_H_ROOT = 0xffffffff;
export const TC_H_INGRESS = 0xfffffff1;
export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
const TC_LINKLAYER_ETHERNET = 1;
const U32_MAX = 0x1_0000_0000;

/** major:minor as the kernel's 32-bit handle. */
export const makeHandle = (major: number, minor: number): number => ((major & 0xffff) * 0x10000 + (minor & 0xffff)) >>> 0;

/** Formats a handle as tc prints it ("1:", "ffff:", "1:30"). */
export function formatHandle(h: number): string {
  const major = (h >>> 16).toString(16);
  const minor = h & 0xffff;
  return minor === 0 ? `${major}:` : `${major}:${minor.toString(16)}`;
}

/** struct tcmsg: family, pad[3], ifindex, handle, parent, info. */
export function tcmsg(ifindex: number, handle: number, parent: number, info = 0): Buffer {
  const b = Buffer.alloc(20);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt32LE(handle >>> 0, 8);
  b.writeUInt32LE(parent >>> 0, 12);
  b.writeUInt32LE(info >>> 0, 16);
  return b;
}

/** struct tc_ratespec (12 bytes). */
export interface RateSpec {
  cellLog?: number;
  linklayer?: number;
  overhead?: number;
  cellAlign?: number;
  mpu?: number;
  /** bytes per second, truncated to 32 bits on the wire (Go's uint32 conversion). */
  rate: number;
}

function writeRateSpec(b: Buffer, at: number, r: RateSpec): void {
  b.writeUInt8(r.cellLog ?? 0, at);
  b.writeUInt8(r.linklayer ?? 0, at + 1);
  b.writeUInt16LE(r.overhead ?? 0, at + 2);
  b.writeInt16LE(r.cellAlign ?? 0, at + 4);
  b.writeUInt16LE(r.mpu ?? 0, at + 6);
  b.writeUInt32LE(r.rate % U32_MAX, at + 8);
}

const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};

// ---- qdiscs ----------------------------------------------------------------------------------

export interface TbfSpec {
  ifindex: number;
  handle: number;
  parent: number;
  /** bytes per second */
  rate: number;
  /** bytes */
  limit: number;
  /** psched ticks */
  buffer: number;
}

/** RTM_NEWQDISC tbf: TCA_TBF_PARMS (rate, limit, buffer; no peak rate), TCA_TBF_RATE64 past 32 bits. */
export function buildAddTbf(s: TbfSpec): MessageBuilder {
  const b = new MessageBuilder(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL).fixed(tcmsg(s.ifindex, s.handle, s.parent));
  b.str(TCA_KIND, 'tbf');
  const parms = Buffer.alloc(36); // rate(12) peakrate(12) limit buffer mtu
  writeRateSpec(parms, 0, { rate: s.rate });
  parms.writeUInt32LE(s.limit >>> 0, 24);
  parms.writeUInt32LE(s.buffer >>> 0, 28);
  b.nest(TCA_OPTIONS, () => {
    b.bytes(TCA_TBF_PARMS, parms);
    if (s.rate >= U32_MAX) b.bytes(TCA_TBF_RATE64, u64(s.rate));
  });
  return b;
}

/** RTM_NEWQDISC ingress ffff: (parent TC_H_INGRESS), with the empty TCA_OPTIONS Go sends. */
export function buildAddIngress(ifindex: number): MessageBuilder {
  const b = new MessageBuilder(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL).fixed(tcmsg(ifindex, makeHandle(0xffff, 0), TC_H_INGRESS));
  b.str(TCA_KIND, 'ingress');
  b.nest(TCA_OPTIONS, () => undefined);
  return b;
}

export interface HtbQdiscSpec {
  ifindex: number;
  handle: number;
  parent: number;
  /** minor id of the default class */
  defcls: number;
  version?: number;
  rate2quantum?: number;
}

/** RTM_NEWQDISC htb: TCA_HTB_INIT (struct tc_htb_glob). */
export function buildAddHtb(s: HtbQdiscSpec): MessageBuilder {
  const b = new MessageBuilder(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL).fixed(tcmsg(s.ifindex, s.handle, s.parent));
  b.str(TCA_KIND, 'htb');
  const glob = Buffer.alloc(20); // version, rate2quantum, defcls, debug, direct_pkts
  glob.writeUInt32LE(s.version ?? 3, 0);
  glob.writeUInt32LE(s.rate2quantum ?? 10, 4);
  glob.writeUInt32LE(s.defcls >>> 0, 8);
  b.nest(TCA_OPTIONS, () => b.bytes(TCA_HTB_INIT, glob));
  return b;
}

export function buildDelQdisc(ifindex: number, handle: number, parent: number): MessageBuilder {
  return new MessageBuilder(RTM_DELQDISC, 0).fixed(tcmsg(ifindex, handle, parent));
}

// ---- htb classes -----------------------------------------------------------------------------

/** Everything the rate tables are computed from: psched ticks per microsecond. */
export interface PschedClock {
  tickInUsec: number;
}

/**
 * /proc/net/psched as the Go netlink library reads it (four hex words: t2us, us2t, clock
 * resolution, hz); the nanosecond-resolution compatibility rule is iproute2's.
 */
export function parsePsched(text: string): PschedClock {
  const parts = text.trim().split(/\s+/).map((p) => Number.parseInt(p, 16));
  if (parts.length < 3 || parts.slice(0, 3).some((n) => !Number.isFinite(n) || n <= 0)) {
    throw new Error(`cannot parse /proc/net/psched: ${JSON.stringify(text)}`);
  }
  let [t2us, us2t, res] = parts as [number, number, number];
  if (res === 1_000_000_000) t2us = us2t;
  return { tickInUsec: (t2us / us2t) * (res / 1_000_000) };
}

/** Go's uint32(float64): truncation toward zero, then the low 32 bits (values here stay < 2^63). */
export function goUint32(f: number): number {
  if (!Number.isFinite(f) || f <= 0) return 0;
  return Number(BigInt(Math.trunc(f)) & 0xffffffffn);
}

export const TIME_UNITS_PER_SEC = 1_000_000;

/** Microseconds to psched ticks (netlink's time2Tick). */
export const time2Tick = (clock: PschedClock, usec: number): number => goUint32(usec * clock.tickInUsec);

/** Time to send `size` bytes at `rate` bytes/s, in ticks (netlink's Xmittime). */
export const xmitTime = (clock: PschedClock, rate: number, size: number): number =>
  time2Tick(clock, goUint32(TIME_UNITS_PER_SEC * (size / rate)));

/** netlink's CalcRtable with cell_log -1, mpu 0 and an ethernet link layer: the rate table and the filled ratespec. */
export function rateTable(clock: PschedClock, rate: number, mtu = 1600): { spec: RateSpec; table: Buffer } {
  let cellLog = 0;
  while (mtu >> cellLog > 255) cellLog++;
  const bps = rate % U32_MAX;
  const table = Buffer.alloc(1024);
  for (let i = 0; i < 256; i++) table.writeUInt32LE(xmitTime(clock, bps, (i + 1) << cellLog), i * 4);
  return { spec: { rate: bps, cellLog, linklayer: TC_LINKLAYER_ETHERNET, cellAlign: -1 }, table };
}

export interface HtbClassSpec {
  ifindex: number;
  handle: number;
  parent: number;
  /** bytes per second */
  rate: number;
  ceil: number;
  /** psched ticks */
  buffer: number;
  cbuffer: number;
}

/** RTM_NEWTCLASS htb: TCA_HTB_PARMS, RTAB, CTAB, then RATE64/CEIL64 past 32 bits (netlink's order). */
export function buildAddHtbClass(s: HtbClassSpec, clock: PschedClock): MessageBuilder {
  const b = new MessageBuilder(RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_EXCL, 2400).fixed(tcmsg(s.ifindex, s.handle, s.parent));
  b.str(TCA_KIND, 'htb');
  const rate = rateTable(clock, s.rate);
  const ceil = rateTable(clock, s.ceil);
  const parms = Buffer.alloc(44); // rate(12) ceil(12) buffer cbuffer quantum level prio
  writeRateSpec(parms, 0, rate.spec);
  writeRateSpec(parms, 12, ceil.spec);
  parms.writeUInt32LE(s.buffer >>> 0, 24);
  parms.writeUInt32LE(s.cbuffer >>> 0, 28);
  b.nest(TCA_OPTIONS, () => {
    b.bytes(TCA_HTB_PARMS, parms);
    b.bytes(TCA_HTB_RTAB, rate.table);
    b.bytes(TCA_HTB_CTAB, ceil.table);
    if (s.rate >= U32_MAX) b.bytes(TCA_HTB_RATE64, u64(s.rate));
    if (s.ceil >= U32_MAX) b.bytes(TCA_HTB_CEIL64, u64(s.ceil));
  });
  return b;
}

// ---- u32 filters -----------------------------------------------------------------------------

/** One u32 key: mask and value in host order (sent in network order), offset into the packet. */
export interface U32Key {
  mask: number;
  val: number;
  off: number;
}

export interface MirredAction {
  /** TC_ACT_* verdict after the redirect (the reference's first action is STOLEN, the second OK). */
  verdict: number;
  ifindex: number;
}

export interface U32FilterSpec {
  ifindex: number;
  parent: number;
  priority: number;
  /** ETH_P_* in host order. */
  protocol: number;
  classId?: number;
  /** Keys; empty or undefined means "match all" (one zero key), as the netlink library does. */
  keys?: readonly U32Key[];
  actions?: readonly MirredAction[];
}

/** RTM_NEWTFILTER u32: TCA_U32_SEL, TCA_U32_CLASSID, TCA_U32_ACT (always present, maybe empty). */
export function buildAddU32(s: U32FilterSpec): MessageBuilder {
  const info = ((s.priority & 0xffff) * 0x10000 + (((s.protocol & 0xff) << 8) | ((s.protocol >> 8) & 0xff))) >>> 0;
  const b = new MessageBuilder(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, 256).fixed(tcmsg(s.ifindex, 0, s.parent, info));
  b.str(TCA_KIND, 'u32');
  const keys = s.keys && s.keys.length > 0 ? s.keys : [{ mask: 0, val: 0, off: 0 }];
  const sel = Buffer.alloc(16 + 16 * keys.length);
  sel.writeUInt8(TC_U32_TERMINAL, 0); // flags
  sel.writeUInt8(keys.length, 2); // nkeys
  keys.forEach((k, i) => {
    const at = 16 + 16 * i;
    sel.writeUInt32BE(k.mask >>> 0, at);
    sel.writeUInt32BE(k.val >>> 0, at + 4);
    sel.writeInt32LE(k.off, at + 8);
  });
  b.nest(TCA_OPTIONS, () => {
    b.bytes(TCA_U32_SEL, sel);
    if (s.classId) b.u32(TCA_U32_CLASSID, s.classId);
    b.nest(TCA_U32_ACT, () => {
      (s.actions ?? []).forEach((a, i) => {
        b.nest(i + 1, () => {
          b.str(TCA_ACT_KIND, 'mirred');
          b.nest(TCA_ACT_OPTIONS, () => {
            const parms = Buffer.alloc(28); // tc_gen(index capab action refcnt bindcnt) eaction ifindex
            parms.writeInt32LE(a.verdict, 8);
            parms.writeInt32LE(TCA_EGRESS_REDIR, 20);
            parms.writeUInt32LE(a.ifindex >>> 0, 24);
            b.bytes(TCA_MIRRED_PARMS, parms);
          });
        });
      });
    });
  });
  return b;
}

// ---- dumps -----------------------------------------------------------------------------------

export interface Qdisc {
  ifindex: number;
  handle: number;
  parent: number;
  kind: string;
  /** tbf */
  tbf?: { rate: number; limit: number; buffer: number };
  /** htb */
  htb?: { defcls: number };
}

export interface TcClass {
  ifindex: number;
  handle: number;
  parent: number;
  kind: string;
  htb?: { rate: number; ceil: number; buffer: number; cbuffer: number };
}

export interface Filter {
  ifindex: number;
  handle: number;
  parent: number;
  priority: number;
  protocol: number;
  kind: string;
  classId?: number;
  /** ifindexes of the mirred actions, in order */
  mirredTo: number[];
}

function header(p: Buffer): { ifindex: number; handle: number; parent: number; info: number; attrs: Attrs } {
  return {
    ifindex: p.readInt32LE(4),
    handle: p.readUInt32LE(8),
    parent: p.readUInt32LE(12),
    info: p.readUInt32LE(16),
    attrs: parseAttrs(p, 20),
  };
}

export function parseQdisc(m: NlMsg): Qdisc | undefined {
  if (m.type !== RTM_NEWQDISC || m.payload.length < 20) return undefined;
  const h = header(m.payload);
  const q: Qdisc = { ifindex: h.ifindex, handle: h.handle, parent: h.parent, kind: attrString(h.attrs.get(TCA_KIND)) ?? '' };
  const opts = h.attrs.get(TCA_OPTIONS);
  if (opts && q.kind === 'tbf') {
    const o = parseNested(opts);
    const p = o.get(TCA_TBF_PARMS);
    if (p && p.length >= 36) {
      const r64 = o.get(TCA_TBF_RATE64);
      q.tbf = {
        rate: r64 && r64.length >= 8 ? Number(r64.readBigUInt64LE(0)) : p.readUInt32LE(8),
        limit: p.readUInt32LE(24),
        buffer: p.readUInt32LE(28),
      };
    }
  } else if (opts && q.kind === 'htb') {
    const init = parseNested(opts).get(TCA_HTB_INIT);
    if (init && init.length >= 12) q.htb = { defcls: init.readUInt32LE(8) };
  }
  return q;
}

export function parseClass(m: NlMsg): TcClass | undefined {
  if (m.type !== RTM_NEWTCLASS || m.payload.length < 20) return undefined;
  const h = header(m.payload);
  const c: TcClass = { ifindex: h.ifindex, handle: h.handle, parent: h.parent, kind: attrString(h.attrs.get(TCA_KIND)) ?? '' };
  const opts = h.attrs.get(TCA_OPTIONS);
  if (opts && c.kind === 'htb') {
    const o = parseNested(opts);
    const p = o.get(TCA_HTB_PARMS);
    if (p && p.length >= 32) {
      const r64 = o.get(TCA_HTB_RATE64);
      const c64 = o.get(TCA_HTB_CEIL64);
      c.htb = {
        rate: r64 && r64.length >= 8 ? Number(r64.readBigUInt64LE(0)) : p.readUInt32LE(8),
        ceil: c64 && c64.length >= 8 ? Number(c64.readBigUInt64LE(0)) : p.readUInt32LE(20),
        buffer: p.readUInt32LE(24),
        cbuffer: p.readUInt32LE(28),
      };
    }
  }
  return c;
}

export function parseFilter(m: NlMsg): Filter | undefined {
  if (m.type !== RTM_NEWTFILTER || m.payload.length < 20) return undefined;
  const h = header(m.payload);
  const proto = h.info & 0xffff;
  const f: Filter = {
    ifindex: h.ifindex,
    handle: h.handle,
    parent: h.parent,
    priority: h.info >>> 16,
    protocol: ((proto & 0xff) << 8) | (proto >> 8),
    kind: attrString(h.attrs.get(TCA_KIND)) ?? '',
    mirredTo: [],
  };
  const opts = h.attrs.get(TCA_OPTIONS);
  if (opts && f.kind === 'u32') {
    const o = parseNested(opts);
    const cls = attrU32(o.get(TCA_U32_CLASSID));
    if (cls !== undefined) f.classId = cls;
    const acts = o.get(TCA_U32_ACT);
    if (acts) {
      for (const [, act] of attrList(acts)) {
        const a = parseNested(act);
        if (attrString(a.get(TCA_ACT_KIND)) !== 'mirred') continue;
        const ao = a.get(TCA_ACT_OPTIONS);
        const parms = ao ? parseNested(ao).get(TCA_MIRRED_PARMS) : undefined;
        if (parms && parms.length >= 28) f.mirredTo.push(parms.readUInt32LE(24));
      }
    }
  }
  return f;
}

/** A NETLINK_ROUTE socket for tc requests in the namespace current when it is opened. */
export class TrafficControl {
  private readonly sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.sock = sock;
  }

  static open(): TrafficControl {
    return new TrafficControl(NetlinkSocket.open());
  }

  close(): void {
    this.sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  addTbf(s: TbfSpec): void {
    this.sock.ack(buildAddTbf(s), `qdisc add dev index ${s.ifindex} handle ${formatHandle(s.handle)} tbf rate ${s.rate}`);
  }

  addIngress(ifindex: number): void {
    this.sock.ack(buildAddIngress(ifindex), `qdisc add dev index ${ifindex} handle ffff: ingress`);
  }

  addHtb(s: HtbQdiscSpec): void {
    this.sock.ack(buildAddHtb(s), `qdisc add dev index ${s.ifindex} handle ${formatHandle(s.handle)} htb default ${s.defcls}`);
  }

  addHtbClass(s: HtbClassSpec, clock: PschedClock): void {
    this.sock.ack(buildAddHtbClass(s, clock), `class add dev index ${s.ifindex} classid ${formatHandle(s.handle)} htb rate ${s.rate}`);
  }

  addU32(s: U32FilterSpec): void {
    this.sock.ack(buildAddU32(s), `filter add dev index ${s.ifindex} parent ${formatHandle(s.parent)} prio ${s.priority} u32`);
  }

  deleteQdisc(ifindex: number, handle: number, parent: number): void {
    this.sock.ack(buildDelQdisc(ifindex, handle, parent), `qdisc del dev index ${ifindex} handle ${formatHandle(handle)}`);
  }

  /** Qdiscs of one link (the kernel dumps every link's; filtered here). */
  listQdiscs(ifindex: number): Qdisc[] {
    const req = new MessageBuilder(RTM_GETQDISC, 0).fixed(tcmsg(ifindex, 0, 0));
    return this.sock.dump(req, `qdisc show dev index ${ifindex}`, parseQdisc).filter((q) => q.ifindex === ifindex);
  }

  listClasses(ifindex: number, parent: number): TcClass[] {
    const req = new MessageBuilder(RTM_GETTCLASS, 0).fixed(tcmsg(ifindex, 0, parent));
    return this.sock.dump(req, `class show dev index ${ifindex}`, parseClass);
  }

  listFilters(ifindex: number, parent: number): Filter[] {
    const req = new MessageBuilder(RTM_GETTFILTER, 0).fixed(tcmsg(ifindex, 0, parent));
    return this.sock.dump(req, `filter show dev index ${ifindex} parent ${formatHandle(parent)}`, parseFilter);
  }
}
