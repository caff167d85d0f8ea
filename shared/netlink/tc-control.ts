// tc dumps (qdiscs, classes, filters) parsed into typed objects, and the handle that sends the
// tc requests of tc.ts on one NETLINK_ROUTE socket.
import { attrList, attrString, attrU32, type Attrs, MessageBuilder, type NlMsg, parseAttrs, parseNested } from './message.js';
import { NetlinkSocket } from './socket.js';
import {
  buildAddHtb, buildAddHtbClass, buildAddIngress, buildAddTbf, buildAddU32, buildDelQdisc, formatHandle, type HtbClassSpec,
  type HtbQdiscSpec, RTM_GETQDISC, RTM_GETTCLASS, RTM_GETTFILTER, RTM_NEWQDISC, RTM_NEWTCLASS, RTM_NEWTFILTER, TCA_ACT_KIND,
  TCA_ACT_OPTIONS, TCA_HTB_CEIL64, TCA_HTB_INIT, TCA_HTB_PARMS, TCA_HTB_RATE64, TCA_KIND, TCA_MIRRED_PARMS, TCA_OPTIONS,
  TCA_TBF_PARMS, TCA_TBF_RATE64, TCA_U32_ACT, TCA_U32_CLASSID, type TbfSpec, tcmsg, type U32FilterSpec,
} from './tc.js';
import type { PschedClock } from './tc-rate.js';

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
