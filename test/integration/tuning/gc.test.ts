// tuning GC (found by the crash runs of issue 12): an ADD killed before the runtime's DEL, or a
// sandbox gone without DEL, left its backup file for ever. ADD now records, per network, which
// backup it wrote (before touching the link); GC removes the backups of this network's attachments
// that are not valid any more, and nothing of another network's or a valid attachment's.
import { existsSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeAllNetns } from '../../helpers/netns.js';
import { removeDir, runIn } from '../../helpers/node-rig.js';
import { attach, backupPath, MAC1, MAC2, newRig, type Rig, tuning, tuningConf } from './helpers.js';

let rig: Rig;
beforeEach(() => {
  rig = newRig();
});
afterEach(() => {
  removeAllNetns();
  for (const d of rig.dirs) removeDir(d);
});

const gc = (name: string, valid: { containerID: string; ifname: string }[]) =>
  runIn(rig.host, 'tuning', { CNI_COMMAND: 'GC', TSCNI_STATE_DIR: rig.stateDir }, {
    ...tuningConf(rig, {}, '1.1.0'), name, 'cni.dev/valid-attachments': valid,
  });

describe('tuning GC', () => {
  it('removes the backups of stale attachments of its network only, and their records', () => {
    const stale = attach(rig, 'tngc1');
    const live = attach(rig, 'tngc2');
    const other = attach(rig, 'tngc3');
    expect(tuning(rig, stale, 'ADD', tuningConf(rig, { mac: MAC1 })).status).toBe(0);
    expect(tuning(rig, live, 'ADD', tuningConf(rig, { mac: MAC2 })).status).toBe(0);
    expect(tuning(rig, other, 'ADD', { ...tuningConf(rig, { mtu: 1400 }), name: 'tnother' }).status).toBe(0);
    for (const a of [stale, live, other]) expect(existsSync(backupPath(rig, a))).toBe(true);

    const r = gc('tnnet', [{ containerID: live.cid, ifname: 'eth0' }]);
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toBe('');
    expect(existsSync(backupPath(rig, stale))).toBe(false);
    expect(existsSync(backupPath(rig, live))).toBe(true);
    expect(existsSync(backupPath(rig, other))).toBe(true);
    expect(readdirSync(`${rig.stateDir}/tuning/tnnet`)).toEqual([`${live.cid}_eth0.json`]);

    // DEL of the live one restores and removes its backup and record; GC of the other network too.
    expect(tuning(rig, live, 'DEL', tuningConf(rig, { mac: MAC2 })).status).toBe(0);
    expect(readdirSync(`${rig.stateDir}/tuning/tnnet`)).toEqual([]);
    expect(gc('tnother', []).status).toBe(0);
    expect(readdirSync(rig.dataDir)).toEqual([]);
    expect(readdirSync(`${rig.stateDir}/tuning/tnother`)).toEqual([]);
  });
});
