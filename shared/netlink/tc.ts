// Traffic control requests over rtnetlink: qdiscs (tbf, htb, ingress), htb classes and u32 filters
// with mirred actions, as pure builders (unit-tested byte for byte; tc-control.ts sends them and
// parses dumps, tc-rate.ts holds the psched arithmetic). The wire layout follows what the Go reference's netlink library
// (vishvananda/netlink) sends, so the kernel ends up with the very same objects.
import { NLM_F_CREATE, NLM_F_EXCL } from './constants.js';
import { MessageBuilder } from './message.js';
import { type PschedClock, type RateSpec, rateTable, U32_MAX } from './tc-rate.js';

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTCLASS = 40;
export const RTM_GETTCLASS = 42;
export const RTM_NEWTFILTER = 44;
export const RTM_GETTFILTER = 46;

export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;

export const TCA_TBF_PARMS = 1;
export const TCA_TBF_RATE64 = 4;

export const TCA_HTB_PARMS = 1;
export const TCA_HTB_INIT = 2;
const TCA_HTB_CTAB = 3;
const TCA_HTB_RTAB = 4;
export const TCA_HTB_RATE64 = 6;
export const TCA_HTB_CEIL64 = 7;

export const TCA_U32_CLASSID = 1;
const TCA_U32_SEL = 5;
export const TCA_U32_ACT = 7;
export const TC_U32_TERMINAL = 1;

export const TCA_ACT_KIND = 1;
export const TCA_ACT_OPTIONS = 2;
export const TCA_MIRRED_PARMS = 2;
export const TCA_EGRESS_REDIR = 1;
export const TC_ACT_OK = 0;
export const TC_ACT_STOLEN = 4;

export const TC_H_ROOT = 0xffffffff;
export const TC_H_INGRESS = 0xfffffff1;
export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;

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

