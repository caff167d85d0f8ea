// Side by side with the Go reference (Debian's 1.1.1 in /usr/lib/cni/tuning), both chained after
// our bridge on the same node: same result, same link state, same backup file; a backup written by
// one is restored by the other's DEL. 1.1.1 predates txQLen, the IFNAME placeholder, the allowlist
// and the duplicate-key check, so those are compared only where 1.1.1 has them.
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkAttrs } from '../../helpers/ip.js';
import { removeAllNetns } from '../../helpers/netns.js';
import { removeDir } from '../../helpers/node-rig.js';
import {
  attach, type Attachment, backupPath, errorOf, eth0, MAC1, MAC2, MAC3, MAC4, newRig, procSys, readBackup, type Rig,
  tuned, tuning, tuningConf, withoutEmptyDns,
} from './helpers.js';

let rig: Rig;

beforeEach(() => {
  rig = newRig();
});

afterEach(() => {
  removeAllNetns();
  for (const d of rig.dirs) removeDir(d);
});

/** prevResult with eth0's MAC replaced: what tuning must print. */
function expectedResult(a: Attachment, mac: string): Record<string, unknown> {
  const ifs = a.prev['interfaces'] as { name: string; mac: string }[];
  return { ...a.prev, interfaces: ifs.map((i) => (i.name === 'eth0' ? { ...i, mac } : i)) };
}

const COMMON = { mac: MAC1, promisc: true, mtu: 1400, allmulti: true, sysctl: { 'net.ipv4.conf.eth0.arp_filter': '1', 'net.core.somaxconn': '700' } };

describe('tscni tuning vs Go 1.1.1', () => {
  it('same result, same link state, same sysctls, same backup file; each CHECKs the other', () => {
    const ours = attach(rig, 'tnr1');
    const go = attach(rig, 'tnr2');
    const conf = tuningConf(rig, COMMON);
    const r1 = tuning(rig, ours, 'ADD', conf, 'ours');
    const r2 = tuning(rig, go, 'ADD', conf, 'ref');
    expect(r1.status, r1.stdout).toBe(0);
    expect(r2.status, r2.stdout).toBe(0);
    expect(r1.json).toEqual(expectedResult(ours, MAC1));
    expect(withoutEmptyDns(r2.json)).toEqual(expectedResult(go, MAC1));

    const l1 = eth0(ours);
    const l2 = eth0(go);
    expect(linkAttrs(l1)).toEqual(linkAttrs(l2));
    expect(l1.address).toBe(l2.address);
    for (const a of [ours, go]) {
      expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_filter')).toBe('1');
      expect(procSys(a.c, 'net/core/somaxconn')).toBe('700');
    }

    const b1 = readBackup(backupPath(rig, ours));
    const b2 = readBackup(backupPath(rig, go));
    expect(b1.mode).toBe(b2.mode);
    // The original MACs differ per container; everything else is byte for byte the same.
    expect(b1.text).toBe(b2.text.replace(go.before.address, ours.before.address));

    expect(tuning(rig, ours, 'CHECK', { ...conf, prevResult: r1.json }, 'ref').status).toBe(0);
    expect(tuning(rig, go, 'CHECK', { ...conf, prevResult: r2.json }, 'ours').status).toBe(0);
  });

  it("our backup is restored by Go's DEL, and Go's by ours", () => {
    const ours = attach(rig, 'tnr3');
    const go = attach(rig, 'tnr4');
    const conf = tuningConf(rig, { mac: MAC2, promisc: true, mtu: 1300, allmulti: true });
    expect(tuning(rig, ours, 'ADD', conf, 'ours').status).toBe(0);
    expect(tuning(rig, go, 'ADD', conf, 'ref').status).toBe(0);
    expect(tuned(eth0(ours))).toEqual({ ...tuned(ours.before), mac: MAC2, promisc: true, mtu: 1300, allmulti: true });
    expect(tuned(eth0(go))).toEqual(tuned(eth0(ours)));

    expect(tuning(rig, ours, 'DEL', conf, 'ref').status).toBe(0);
    expect(tuning(rig, go, 'DEL', conf, 'ours').status).toBe(0);
    expect(tuned(eth0(ours))).toEqual(tuned(ours.before));
    expect(tuned(eth0(go))).toEqual(tuned(go.before));
    expect(existsSync(backupPath(rig, ours))).toBe(false);
    expect(existsSync(backupPath(rig, go))).toBe(false);
  });

  it("Go 1.1.1 ignores txQLen: its DEL restores everything else from our backup (and removes it)", () => {
    const a = attach(rig, 'tnr5');
    const conf = tuningConf(rig, { mtu: 1300, txQLen: 77 });
    expect(tuning(rig, a, 'ADD', conf, 'ours').status).toBe(0);
    expect(readBackup(backupPath(rig, a)).text).toBe('{\n "mtu": 1500,\n "txQLen": 1000\n}');
    expect(tuning(rig, a, 'DEL', conf, 'ref').status).toBe(0);
    expect(eth0(a).mtu).toBe(1500);
    expect(eth0(a).txqlen).toBe(77);
    expect(existsSync(backupPath(rig, a))).toBe(false);
  });

  it('the same MAC precedence (args.cni > runtimeConfig > CNI_ARGS > conf)', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ mac: MAC1 }, ''],
      [{ mac: MAC1 }, `IgnoreUnknown=1;MAC=${MAC2}`],
      [{ mac: MAC1, runtimeConfig: { mac: MAC3 } }, `MAC=${MAC2}`],
      [{ mac: MAC1, runtimeConfig: { mac: MAC3 }, args: { cni: { mac: MAC4 } } }, `MAC=${MAC2}`],
      [{ mtu: 1400, promisc: true, args: { cni: { mtu: 1350, promisc: false } } }, ''],
    ];
    for (const [i, [extra, cniArgs]] of cases.entries()) {
      const ours = attach(rig, `tnp${i}a`);
      const go = attach(rig, `tnp${i}b`);
      const env: Record<string, string> = cniArgs ? { CNI_ARGS: cniArgs } : {};
      const r1 = tuning(rig, ours, 'ADD', tuningConf(rig, extra), 'ours', env);
      const r2 = tuning(rig, go, 'ADD', tuningConf(rig, extra), 'ref', env);
      expect(r1.status, r1.stdout).toBe(0);
      expect(r2.status, r2.stdout).toBe(0);
      // Without a configured MAC each container keeps its own random one.
      const view = (a: Attachment) => ({ ...tuned(eth0(a)), mac: 'mac' in extra ? eth0(a).address : '' });
      expect(view(ours), JSON.stringify(extra)).toEqual(view(go));
      expect(readBackup(backupPath(rig, ours)).text).toBe(readBackup(backupPath(rig, go)).text.replace(go.before.address, ours.before.address));
    }
  });

  it('the same refusals (ours with the spec codes, Go with 999)', () => {
    const a = attach(rig, 'tnr6');
    const noPrev = { ...tuningConf(rig, { mtu: 1400 }), prevResult: undefined };
    for (const impl of ['ours', 'ref'] as const) {
      const r = tuning(rig, a, 'ADD', noPrev, impl);
      expect(errorOf(r).msg).toBe('Required prevResult missing');
      expect(errorOf(r).code).toBe(impl === 'ours' ? 7 : 999);
      const k = tuning(rig, a, 'ADD', tuningConf(rig, { sysctl: { 'kernel.hostname': 'x' } }), impl);
      // 1.1.1 quotes the key as written; the latest reference (and tscni) the converted path.
      expect(errorOf(k).msg).toBe(impl === 'ours' ? 'invalid net sysctl key: "kernel/hostname"' : 'invalid net sysctl key: "kernel.hostname"');
      const m = tuning(rig, a, 'CHECK', tuningConf(rig, { mtu: 1450 }), impl);
      expect(errorOf(m).msg).toBe('Error: Tuning configured MTU of eth0 is 1450, current value is 1500');
      expect(errorOf(m).code).toBe(impl === 'ours' ? 101 : 999);
    }
    expect(tuned(eth0(a))).toEqual(tuned(a.before));
  });
});
