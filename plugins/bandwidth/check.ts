// CHECK: the root shaping of a link matches what ADD computed (the reference's messages, code 101).
import { checkFailed } from '../../shared/cni/errors.js';
import type { Link } from '../../shared/netlink/index.js';
import { makeHandle, TC_H_ROOT } from '../../shared/netlink/tc.js';
import type { TrafficControl } from '../../shared/netlink/tc-control.js';
import type { Bandwidth, Direction } from './config.js';
import { pschedClock, SHAPED_CLASS_MINOR, tbfParams, UNCAPPED_RATE, UNSHAPED_CLASS_MINOR, usesHtb } from './shaping.js';

/**
 * TBF: the root qdisc is a tbf whose rate, limit and buffer are ADD's. (The reference walks the
 * qdisc list and stops at the first non-tbf one, so a link whose tbf is gone passes its CHECK; we
 * require the tbf.)
 */
function checkTbf(tc: TrafficControl, link: Link, d: Direction): void {
  const want = tbfParams(pschedClock(), d);
  const qdiscs = tc.listQdiscs(link.index).filter((q) => q.kind !== 'pfifo_fast');
  if (qdiscs.length === 0) throw checkFailed('Failed to find qdisc');
  const tbf = qdiscs.find((q) => q.parent === TC_H_ROOT && q.kind === 'tbf')?.tbf;
  if (!tbf) throw checkFailed(`Failed to find qdisc: no tbf root qdisc on ${link.name}`);
  if (tbf.rate !== want.rate) throw checkFailed("Rate doesn't match");
  if (tbf.limit !== want.limit) throw checkFailed("Limit doesn't match");
  if (tbf.buffer !== want.buffer) throw checkFailed("Buffer doesn't match");
}

/** HTB (subnet lists given): one htb with the right default class; both classes with ADD's rates (the reference's checkHTB). */
function checkHtb(tc: TrafficControl, link: Link, d: Direction, bw: Bandwidth): void {
  const want = tbfParams(pschedClock(), d);
  const qdiscs = tc.listQdiscs(link.index).filter((q) => q.kind !== 'pfifo_fast');
  if (qdiscs.length === 0) throw checkFailed('Failed to find qdisc');
  const htbs = qdiscs.filter((q) => q.kind === 'htb');
  if (htbs.length > 1) throw checkFailed(`Several htb qdisc found for device ${link.name}`);
  const htb = htbs[0];
  if (!htb) throw checkFailed(`Failed to find qdisc: no htb qdisc on ${link.name}`);
  const defcls = bw.shaped.length > 0 ? UNSHAPED_CLASS_MINOR : SHAPED_CLASS_MINOR;
  if (htb.htb?.defcls !== defcls) throw checkFailed('Default class does not match');
  const classes = tc.listClasses(link.index, htb.handle);
  if (classes.length !== 2) throw checkFailed(`Number of htb classes does not match for device ${link.name} (${classes.length} != 2)`);
  for (const c of classes) {
    if (!c.htb) throw checkFailed(`Unexpected class for parent htb qdisc bound to device ${link.name}`);
    // The reference compares the full class handle with the bare default minor, which never matches,
    // so its shaped-class check never runs; we check the shaped class 1:48 and the uncapped 1:1.
    if (c.handle === makeHandle(1, SHAPED_CLASS_MINOR)) {
      if (c.htb.rate !== want.rate) throw checkFailed(`Rate does not match for the default class for device ${link.name} (${c.htb.rate} != ${want.rate})`);
      if (c.htb.buffer !== want.buffer) {
        throw checkFailed(`Burst buffer size does not match for the default class for device ${link.name} (${c.htb.buffer} != ${want.buffer})`);
      }
    } else if (c.handle === makeHandle(1, UNSHAPED_CLASS_MINOR) && c.htb.rate !== UNCAPPED_RATE) {
      throw checkFailed(`Rate does not match for the uncapped class for device ${link.name} (${c.htb.rate} != ${UNCAPPED_RATE})`);
    }
  }
}

export function checkShaping(tc: TrafficControl, link: Link, d: Direction, bw: Bandwidth): void {
  if (usesHtb(bw)) checkHtb(tc, link, d, bw);
  else checkTbf(tc, link, d);
}
