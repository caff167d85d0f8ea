// Our rule and VRF requests against the bytes iproute2 sends for the same command, captured live
// with `strace -e write=<fd>` in a throwaway netns (the VRF one is captured even though this
// kernel may refuse it). Header fields that legitimately differ (length aside: seq, pid, and the
// REQUEST|ACK flags our socket layer adds on send) are left out of the comparison.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, removeAllNetns } from '../../helpers/netns.js';
import { buildVrf } from '../../../shared/netlink/link-build.js';
import { buildRule } from '../../../shared/netlink/rules.js';

const hasStrace = spawnSync('strace', ['-V']).status === 0;
let ns: string;
beforeAll(() => {
  ns = createNetns('sb-bytes');
});
afterAll(() => removeAllNetns());

/** The first sendmsg payload of `ip args...` with netlink message type `type`, from strace's hex dump. */
function ipRequest(type: number, args: string[]): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-strace-'));
  const out = path.join(dir, 'trace');
  let text: string;
  try {
    spawnSync('ip', ['netns', 'exec', ns, 'strace', '-f', '-e', 'trace=sendmsg', '-e', 'write=all', '-o', out, 'ip', ...args]);
    text = readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const messages: Buffer[] = [];
  let current: number[] | undefined;
  for (const line of text.split('\n')) {
    if (line.includes('sendmsg(')) {
      if (current) messages.push(Buffer.from(current));
      current = [];
      continue;
    }
    // " | 00010  02 00 20 00 ...  ascii |": 16 hex bytes in a fixed-width column after the offset.
    const m = /\|\s[0-9a-f]{5}\s\s/.exec(line);
    if (!m || !current) continue;
    const hexArea = line.slice(m.index + m[0].length, m.index + m[0].length + 49);
    current.push(...hexArea.trim().split(/\s+/).filter((h) => /^[0-9a-f]{2}$/.test(h)).map((h) => parseInt(h, 16)));
  }
  if (current) messages.push(Buffer.from(current));
  const found = messages.find((b) => b.length >= 16 && b.readUInt16LE(4) === type);
  if (!found) throw new Error(`no message of type ${type} in strace output of ip ${args.join(' ')}:\n${text}`);
  return found;
}

const same = (ours: Buffer, ref: Buffer): void => {
  expect(ours.readUInt32LE(0)).toBe(ref.readUInt32LE(0));
  expect(ours.readUInt16LE(4)).toBe(ref.readUInt16LE(4));
  // ip sets REQUEST|ACK itself; our socket layer ORs them in at send time.
  expect(ours.readUInt16LE(6) | 0x5).toBe(ref.readUInt16LE(6));
  expect(ours.subarray(16).toString('hex')).toBe(ref.subarray(16).toString('hex'));
};

describe.skipIf(!hasStrace)('netlink request bytes against iproute2', () => {
  it.each([
    ['10.35.1.2', 100],
    ['10.35.1.2', 5000],
    ['fd35::2', 100],
    ['fd35::2', 70000],
  ] as const)('ip rule add from %s lookup %d', (src, table) => {
    const ref = ipRequest(32, [...(src.includes(':') ? ['-6'] : []), 'rule', 'add', 'from', src, 'lookup', String(table)]);
    same(buildRule({ src, table }, 'add').finish(1), ref);
  });

  it('ip link add x type vrf table 10 (only the kind attribute\'s NUL terminator differs)', () => {
    const ref = ipRequest(16, ['link', 'add', 'x', 'type', 'vrf', 'table', '10']);
    const ours = buildVrf({ name: 'x', table: 10 }).finish(1);
    // iproute2 writes IFLA_INFO_KIND without a NUL (nla_len 7), we with one (nla_len 8), as for every link kind.
    const kindAt = ours.indexOf(Buffer.from('0800010076726600', 'hex'));
    expect(kindAt).toBeGreaterThan(0);
    const patched = Buffer.from(ours);
    patched.writeUInt16LE(7, kindAt);
    same(patched, ref);
  });
});
