// Decodes a finished RTM_NEWLINK request: its top-level attributes, IFLA_LINKINFO children and
// IFLA_INFO_DATA children, for the builder and plugin unit tests.
import { expect } from 'vitest';
import * as C from '../../shared/netlink/constants.js';
import { type Attrs, parseAttrs, parseNested } from '../../shared/netlink/message.js';

export function linkRequest(msg: Buffer): { a: Attrs; info: Attrs; data: Attrs | undefined } {
  expect(msg.readUInt16LE(4)).toBe(C.RTM_NEWLINK);
  expect(msg.readUInt16LE(6)).toBe(C.NLM_F_CREATE | C.NLM_F_EXCL);
  const a = parseAttrs(msg, 16 + C.IFINFOMSG_LEN);
  const info = parseNested(a.get(C.IFLA_LINKINFO) as Buffer);
  const raw = info.get(C.IFLA_INFO_DATA);
  return { a, info, data: raw ? parseNested(raw) : undefined };
}
