// The tc objects bandwidth creates, with the reference's arithmetic: a TBF per direction (the latest
// reference), or, when unshapedSubnets/shapedSubnets are given, the HTB tree of the reference's v1.5
// line (two classes, u32 subnet filters). Pure parameter math is exported for unit tests.
import { readFileSync } from 'node:fs';
import { type IPNet, maskValue, networkOf } from '../../shared/ip/index.js';
import {
  ETH_P_ALL, ETH_P_IP, ETH_P_IPV6, makeHandle, TC_ACT_OK, TC_ACT_STOLEN, TC_H_INGRESS, TC_H_ROOT, type U32Key,
} from '../../shared/netlink/tc.js';
import type { TrafficControl } from '../../shared/netlink/tc-control.js';
import { goUint32, parsePsched, type PschedClock, time2Tick, TIME_UNITS_PER_SEC } from '../../shared/netlink/tc-rate.js';
import type { Bandwidth, Direction } from './config.js';

/** The reference's TBF latency (limit = rate·latency + burst). */
const LATENCY_USEC = TIME_UNITS_PER_SEC * (25 / 1000);
/** HTB: rate of the class for traffic that is not shaped (bytes/s), and the classes' minor ids. */
export const UNCAPPED_RATE = 100_000_000_000;
export const SHAPED_CLASS_MINOR = 48;
export const UNSHAPED_CLASS_MINOR = 1;
export const ROOT_HANDLE = makeHandle(1, 0);
export const INGRESS_HANDLE = makeHandle(0xffff, 0);

/** psched clock of this kernel (/proc/net/psched), read once. */
let clock: PschedClock | undefined;
export function pschedClock(): PschedClock {
  clock ??= parsePsched(readFileSync('/proc/net/psched', 'utf8'));
  return clock;
}

export interface TbfParams {
  /** bytes/s */
  rate: number;
  /** bytes */
  burst: number;
  /** psched ticks */
  buffer: number;
  /** bytes */
  limit: number;
}

/** rate/burst in bytes, buffer = ticks(burst·1e6/rate), limit = rate·25ms + burst (uint32 arithmetic as Go). */
export function tbfParams(c: PschedClock, d: Direction): TbfParams {
  const rate = Math.floor(d.rateBits / 8);
  const burst = Math.floor(d.burstBits / 8) >>> 0;
  const buffer = time2Tick(c, goUint32((burst * TIME_UNITS_PER_SEC) / rate));
  const limit = (goUint32((rate * LATENCY_USEC) / TIME_UNITS_PER_SEC) + burst) >>> 0;
  return { rate, burst, buffer, limit };
}

/** True when the HTB tree is used (either subnet list given). */
export const usesHtb = (bw: Bandwidth): boolean => bw.unshaped.length > 0 || bw.shaped.length > 0;

/** u32 keys matching the destination address of `net` (IPv4 header offset 16, IPv6 24..36); zero-mask words are skipped. */
export function subnetKeys(net: IPNet): { protocol: number; priority: number; keys: U32Key[] } {
  const v4 = net.ip.family === 4;
  const words = v4 ? 1 : 4;
  const mask = maskValue(net);
  const addr = networkOf(net).value;
  const keys: U32Key[] = [];
  for (let i = 0; i < words; i++) {
    const shift = BigInt(32 * (words - 1 - i));
    const m = Number((mask >> shift) & 0xffffffffn);
    if (m !== 0) keys.push({ mask: m, val: Number((addr >> shift) & 0xffffffffn), off: (v4 ? 16 : 24) + 4 * i });
  }
  // The reference uses a different priority per protocol: one u32 priority cannot hold two protocols.
  return v4 ? { protocol: ETH_P_IP, priority: 16, keys } : { protocol: ETH_P_IPV6, priority: 15, keys };
}

/** Something created on the node, with how to remove it (for a failed ADD). */
export type Undo = () => void;

/** Root shaping of one link: TBF 1: or the HTB tree. Returns the undo of the root qdisc. */
export function createShaping(tc: TrafficControl, ifindex: number, d: Direction, subnets: readonly IPNet[], exclude: boolean, htb: boolean): Undo {
  const c = pschedClock();
  const p = tbfParams(c, d);
  const undo = (): void => tc.deleteQdisc(ifindex, ROOT_HANDLE, TC_H_ROOT);
  if (!htb) {
    tc.addTbf({ ifindex, handle: ROOT_HANDLE, parent: TC_H_ROOT, rate: p.rate, limit: p.limit, buffer: p.buffer });
    return undo;
  }
  const defcls = subnets.length === 0 || exclude ? SHAPED_CLASS_MINOR : UNSHAPED_CLASS_MINOR;
  tc.addHtb({ ifindex, handle: ROOT_HANDLE, parent: TC_H_ROOT, defcls, version: 3, rate2quantum: 10 });
  try {
    const shaped = makeHandle(1, SHAPED_CLASS_MINOR);
    const unshaped = makeHandle(1, UNSHAPED_CLASS_MINOR);
    tc.addHtbClass({ ifindex, handle: shaped, parent: ROOT_HANDLE, rate: p.rate, ceil: 2 * p.rate, buffer: p.buffer, cbuffer: p.buffer }, c);
    tc.addHtbClass({ ifindex, handle: unshaped, parent: ROOT_HANDLE, rate: UNCAPPED_RATE, ceil: UNCAPPED_RATE, buffer: 0, cbuffer: 0 }, c);
    for (const net of subnets) {
      const k = subnetKeys(net);
      tc.addU32({ ifindex, parent: ROOT_HANDLE, priority: k.priority, protocol: k.protocol, classId: exclude ? unshaped : shaped, keys: k.keys });
    }
  } catch (err) {
    undo(); // classes and filters go with their qdisc
    throw err;
  }
  return undo;
}

/** The host veth's `ingress` qdisc and the match-all u32 filter that redirects everything to the ifb. */
export function createRedirect(tc: TrafficControl, hostIndex: number, ifbIndex: number): Undo {
  tc.addIngress(hostIndex);
  const undo = (): void => tc.deleteQdisc(hostIndex, INGRESS_HANDLE, TC_H_INGRESS);
  try {
    // Two mirred actions, as the reference sends them: its netlink library prepends a
    // redirect (verdict STOLEN) for the filter's RedirIndex to the explicit one (verdict OK).
    tc.addU32({
      ifindex: hostIndex,
      parent: INGRESS_HANDLE,
      priority: 1,
      protocol: ETH_P_ALL,
      classId: makeHandle(1, 1),
      actions: [
        { verdict: TC_ACT_STOLEN, ifindex: ifbIndex },
        { verdict: TC_ACT_OK, ifindex: ifbIndex },
      ],
    });
  } catch (err) {
    undo();
    throw err;
  }
  return undo;
}
