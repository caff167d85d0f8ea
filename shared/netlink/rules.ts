// Policy routing rules (RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE): builders and the reply decoder.
// A rule message is struct fib_rule_hdr followed by FRA_* attributes (linux/fib_rules.h).
import { NLM_F_CREATE, NLM_F_EXCL } from './constants.js';
import { type Family, formatIP, ipFromBytes, ipToBytes, mustParsePrefix, networkOf } from '../ip/index.js';
import { afToFamily, familyToAf } from './ipaddr.js';
import { attrString, attrU32, MessageBuilder, type NlMsg, parseAttrs } from './message.js';

export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const RTM_GETRULE = 34;

/** struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, u32 flags. */
export const FIB_RULE_HDR_LEN = 12;

export const FRA_DST = 1;
export const FRA_SRC = 2;
export const FRA_IIFNAME = 3;
export const FRA_GOTO = 4;
export const FRA_PRIORITY = 6;
export const FRA_FWMARK = 10;
export const FRA_TABLE = 15;
export const FRA_FWMASK = 16;
export const FRA_OIFNAME = 17;
export const FRA_PROTOCOL = 21;

/** Actions (fib_rule_hdr.action). */
export const FR_ACT_TO_TBL = 1;
export const FR_ACT_GOTO = 2;

export interface Rule {
  family: Family;
  /** "ip/len" with the prefix as the kernel holds it; undefined for "from all". */
  src?: string;
  dst?: string;
  /** Full table id (FRA_TABLE when present, so ids above 255 are exact). */
  table: number;
  /** The rule's preference (FRA_PRIORITY); the kernel always reports it. */
  priority?: number;
  /** FR_ACT_* (1 = lookup a table). */
  action: number;
  tos: number;
  flags: number;
  iifname?: string;
  oifname?: string;
  fwmark?: number;
  fwmask?: number;
  /** RTPROT_* that created the rule (FRA_PROTOCOL). */
  protocol?: number;
}

export interface RuleSpec {
  /** Source prefix; a bare IP means /32 (/128). Sets the family. */
  src?: string;
  dst?: string;
  /** Needed when neither src nor dst gives the family. */
  family?: Family;
  /** Table to look up (the action is FR_ACT_TO_TBL). */
  table: number;
  /** Unset on add: the kernel picks the preference just below the first existing rule. */
  priority?: number;
  tos?: number;
  iifname?: string;
  oifname?: string;
  fwmark?: number;
  fwmask?: number;
}

function ruleHeader(family: Family, dstLen: number, srcLen: number, tos: number, table: number, action: number): Uint8Array {
  const b = Buffer.alloc(FIB_RULE_HDR_LEN);
  b.writeUInt8(familyToAf(family), 0);
  b.writeUInt8(dstLen, 1);
  b.writeUInt8(srcLen, 2);
  b.writeUInt8(tos, 3);
  // As iproute2: ids that fit the 8-bit field go there; larger ones in FRA_TABLE with the field 0.
  b.writeUInt8(table > 255 ? 0 : table, 4);
  b.writeUInt8(action, 7);
  return b;
}

/**
 * RTM_NEWRULE (NLM_F_CREATE|NLM_F_EXCL, the bytes `ip rule add from X lookup N` sends) or
 * RTM_DELRULE. A delete matches every field given, so pass a listed rule's priority to remove
 * exactly that rule.
 */
export function buildRule(r: RuleSpec, mode: 'add' | 'delete'): MessageBuilder {
  const src = r.src !== undefined ? mustParsePrefix(r.src) : undefined;
  const dst = r.dst !== undefined ? mustParsePrefix(r.dst) : undefined;
  const family = src?.ip.family ?? dst?.ip.family ?? r.family;
  if (family === undefined) throw new TypeError('a rule needs a family, a source or a destination');
  if ((src && src.ip.family !== family) || (dst && dst.ip.family !== family)) {
    throw new TypeError(`rule source ${r.src ?? ''} and destination ${r.dst ?? ''} are of different families`);
  }
  if (!Number.isInteger(r.table) || r.table < 0 || r.table > 0xffffffff) throw new TypeError(`invalid routing table ${r.table}`);
  const b = new MessageBuilder(mode === 'add' ? RTM_NEWRULE : RTM_DELRULE, mode === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0).fixed(
    ruleHeader(family, dst?.prefix ?? 0, src?.prefix ?? 0, r.tos ?? 0, r.table, FR_ACT_TO_TBL),
  );
  if (r.priority !== undefined) b.u32(FRA_PRIORITY, r.priority);
  if (dst && dst.prefix > 0) b.bytes(FRA_DST, ipToBytes(networkOf(dst)));
  if (src && src.prefix > 0) b.bytes(FRA_SRC, ipToBytes(networkOf(src)));
  if (r.iifname !== undefined) b.str(FRA_IIFNAME, r.iifname);
  if (r.oifname !== undefined) b.str(FRA_OIFNAME, r.oifname);
  if (r.fwmark !== undefined) b.u32(FRA_FWMARK, r.fwmark);
  if (r.fwmask !== undefined) b.u32(FRA_FWMASK, r.fwmask);
  if (r.table > 255) b.u32(FRA_TABLE, r.table);
  return b;
}

/** The fields of a listed rule that identify it for RTM_DELRULE. */
export function ruleToSpec(r: Rule): RuleSpec {
  const spec: RuleSpec = { family: r.family, table: r.table };
  if (r.src !== undefined) spec.src = r.src;
  if (r.dst !== undefined) spec.dst = r.dst;
  if (r.priority !== undefined) spec.priority = r.priority;
  if (r.tos) spec.tos = r.tos;
  if (r.iifname !== undefined) spec.iifname = r.iifname;
  if (r.oifname !== undefined) spec.oifname = r.oifname;
  if (r.fwmark !== undefined) spec.fwmark = r.fwmark;
  if (r.fwmask !== undefined) spec.fwmask = r.fwmask;
  return spec;
}

/** A dump of the rules of one family, or of both (AF_UNSPEC) when family is undefined. */
export function buildListRules(family?: Family): MessageBuilder {
  const b = Buffer.alloc(FIB_RULE_HDR_LEN);
  if (family) b.writeUInt8(familyToAf(family), 0);
  return new MessageBuilder(RTM_GETRULE, 0).fixed(b);
}

/** Decodes one RTM_NEWRULE message (a dump reply); other messages and families yield undefined. */
export function parseRule(m: NlMsg): Rule | undefined {
  if (m.type !== RTM_NEWRULE || m.payload.length < FIB_RULE_HDR_LEN) return undefined;
  const p = m.payload;
  const family = afToFamily(p.readUInt8(0));
  if (!family) return undefined;
  const a = parseAttrs(p, FIB_RULE_HDR_LEN);
  const rule: Rule = {
    family,
    table: attrU32(a.get(FRA_TABLE)) ?? p.readUInt8(4),
    action: p.readUInt8(7),
    tos: p.readUInt8(3),
    flags: p.readUInt32LE(8),
  };
  const src = a.get(FRA_SRC);
  if (src) rule.src = `${formatIP(ipFromBytes(src))}/${p.readUInt8(2)}`;
  const dst = a.get(FRA_DST);
  if (dst) rule.dst = `${formatIP(ipFromBytes(dst))}/${p.readUInt8(1)}`;
  const prio = attrU32(a.get(FRA_PRIORITY));
  if (prio !== undefined) rule.priority = prio;
  const iif = attrString(a.get(FRA_IIFNAME));
  if (iif !== undefined) rule.iifname = iif;
  const oif = attrString(a.get(FRA_OIFNAME));
  if (oif !== undefined) rule.oifname = oif;
  const mark = attrU32(a.get(FRA_FWMARK));
  if (mark !== undefined) rule.fwmark = mark;
  const mask = attrU32(a.get(FRA_FWMASK));
  if (mask !== undefined) rule.fwmask = mask;
  const proto = a.get(FRA_PROTOCOL);
  if (proto && proto.length >= 1) rule.protocol = proto.readUInt8(0);
  return rule;
}
