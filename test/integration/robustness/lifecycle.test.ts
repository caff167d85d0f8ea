// Lifecycle abuse per plugin, on a real kernel: an exhausted IPAM range (ADD fails, nothing left),
// ADD twice for the same (cid, ifname) (the second fails, the first stays intact), CHECK without
// prevResult after a real ADD, and DEL with every kind of absence (no netns, netns path missing,
// netns deleted, link gone, allocation gone, prevResult missing or unreadable, DEL twice), which
// must succeed and leave nothing behind.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  canCreate, cniErrorProblems, env, type Json, leases, leftovers, makeRig, NET, nsPath, Problems, removeAllRigs, removeRig, type Rig, run,
  snapshot, spec, successProblems, withoutKept,
} from './harness.js';

afterEach(removeAllRigs);

const can = canCreate;

/** The plugins that create an attachment (dhcp needs its daemon: see config rows). */
const ATTACHING = ['bridge', 'ptp', 'macvlan', 'ipvlan', 'vlan', 'host-device', 'tap', 'dummy', 'loopback', 'host-local', 'static'];

/** One attachment's env: container `ctr` (default rig.ctr) and container ID. */
function envOf(rig: Rig, name: string, command: string, cid = 'rbctr1', ctr = rig.ctr): Record<string, string | undefined> {
  return env(rig, command, { CNI_CONTAINERID: cid, CNI_NETNS: nsPath(ctr), CNI_IFNAME: spec(name).ifName });
}

/** The config of a second attachment (host-device needs another device). */
const second = (name: string, conf: Json): Json => (name === 'host-device' ? { ...conf, device: 'rbdev1' } : conf);

function addOk(rig: Rig, name: string, conf: Json, p: Problems, label: string, cid = 'rbctr1', ctr = rig.ctr): Json | undefined {
  const r = run(rig, name, envOf(rig, name, 'ADD', cid, ctr), conf);
  p.add(`${name}: ${label}: ADD`, successProblems(r));
  return r.status === 0 ? (r.json as Json) : undefined;
}

function delOk(rig: Rig, name: string, envVars: Record<string, string | undefined>, conf: Json, p: Problems, label: string): void {
  p.add(`${name}: ${label}: DEL`, successProblems(run(rig, name, { ...envVars, CNI_COMMAND: 'DEL' }, conf)));
}

/** A fresh rig for `fn`, removed afterwards (afterEach also removes it when `fn` throws). */
function inRig(fn: (rig: Rig) => void): void {
  const rig = makeRig();
  try {
    fn(rig);
  } finally {
    removeRig(rig);
  }
}

describe('robustness: lifecycle', () => {
  for (const name of ATTACHING) {
    const p = spec(name);
    // Cases are registered only where they apply (a plugin without host-local has no range to
    // exhaust); a plugin whose device type this kernel lacks reports a skip that says so.
    const title = can(name) ? name : `${name} (skipped: this kernel cannot create ${name === 'tap' ? 'tun/tap' : name} devices)`;
    describe.skipIf(!can(name))(title, () => {
      if (p.hostLocal) it('an exhausted range: ADD fails with code 11 and changes nothing; the first attachment is intact', () => {
        const problems = new Problems();
        inRig((rig) => {
          const initial = snapshot(rig);
          const conf = p.conf(rig);
          conf['ipam'] = { ...conf['ipam'], rangeStart: '10.123.7.10', rangeEnd: '10.123.7.10' };
          const first = addOk(rig, name, conf, problems, 'exhausted');
          const before = snapshot(rig);
          const r = run(rig, name, envOf(rig, name, 'ADD', 'rbctr2', rig.ctr2), second(name, conf));
          problems.add(`${name}: ADD on an exhausted range`, cniErrorProblems(r, 11, ['no IP addresses available', '10.123.7.10']));
          problems.add(`${name}: ADD on an exhausted range`, leftovers(before, snapshot(rig)));
          expect(leases(rig)).toEqual(['10.123.7.10']);
          if (first) {
            const check = run(rig, name, envOf(rig, name, 'CHECK'), { ...conf, prevResult: first });
            problems.add(`${name}: CHECK of the first after the failed ADD`, successProblems(check));
          }
          delOk(rig, name, envOf(rig, name, 'DEL'), conf, problems, 'exhausted');
          problems.add(`${name}: after DEL`, leftovers(initial, withoutKept(name, snapshot(rig))));
        });
        problems.check();
      });

      if (!['loopback', 'static'].includes(name)) it('ADD twice for the same (cid, ifname): the second fails, the first is intact', () => {
        const problems = new Problems();
        inRig((rig) => {
          const initial = snapshot(rig);
          const conf = p.conf(rig);
          const first = addOk(rig, name, conf, problems, 'twice');
          const before = snapshot(rig);
          const r = run(rig, name, envOf(rig, name, 'ADD'), second(name, conf));
          const mentions = ['host-local', 'ptp'].includes(name) ? ['rbctr1', 'duplicate'] : ['eth0'];
          problems.add(`${name}: second ADD`, cniErrorProblems(r, name === 'host-local' ? 7 : 'any', mentions));
          problems.add(`${name}: second ADD`, leftovers(before, snapshot(rig)));
          if (first) {
            const check = run(rig, name, envOf(rig, name, 'CHECK'), { ...conf, prevResult: first });
            problems.add(`${name}: CHECK of the first after the second ADD`, successProblems(check));
          }
          delOk(rig, name, envOf(rig, name, 'DEL'), { ...conf, prevResult: first }, problems, 'twice');
          problems.add(`${name}: after DEL`, leftovers(initial, withoutKept(name, snapshot(rig))));
        });
        problems.check();
      });

      if (p.usesNetns && name !== 'loopback') it('CHECK after ADD without prevResult: code 7 naming prevResult', () => {
        const problems = new Problems();
        inRig((rig) => {
          const conf = p.conf(rig);
          addOk(rig, name, conf, problems, 'check');
          const r = run(rig, name, envOf(rig, name, 'CHECK'), conf);
          problems.add(`${name}: CHECK without prevResult`, cniErrorProblems(r, 7, ['prevResult']));
          delOk(rig, name, envOf(rig, name, 'DEL'), conf, problems, 'check');
        });
        problems.check();
      });

      it('DEL with every kind of absence succeeds and leaves nothing', () => {
        const problems = new Problems();
        inRig((rig) => {
          const initial = snapshot(rig);
          const conf = p.conf(rig);
          const after = (label: string): void => problems.add(`${name}: ${label}: after DEL`, leftovers(initial, withoutKept(name, snapshot(rig))));
          const del = (label: string, envVars: Record<string, string | undefined>, c: Json = conf): void => {
            delOk(rig, name, envVars, c, problems, label);
            after(label);
          };

          // Never added.
          del('never added, no CNI_NETNS', { ...envOf(rig, name, 'DEL'), CNI_NETNS: undefined });
          del('never added, netns path missing', { ...envOf(rig, name, 'DEL'), CNI_NETNS: '/run/netns/tscni-rb-gone' });
          del('never added, netns present', envOf(rig, name, 'DEL'));

          // Added, then DEL twice, the second without prevResult.
          let res = addOk(rig, name, conf, problems, 'twice');
          del('DEL with prevResult', envOf(rig, name, 'DEL'), { ...conf, prevResult: res });
          del('DEL again', envOf(rig, name, 'DEL'));

          // prevResult unreadable (another version family).
          res = addOk(rig, name, conf, problems, 'bad prev');
          del('DEL with a prevResult of another family', envOf(rig, name, 'DEL'), { ...conf, prevResult: { cniVersion: '0.4.0', ips: [] } });

          // The allocation is gone (host-local files removed behind the plugin's back).
          if (p.hostLocal) {
            res = addOk(rig, name, conf, problems, 'lease gone');
            const dir = path.join(rig.dataDir, NET);
            for (const f of readdirSync(dir)) if (f.includes('.') && !f.startsWith('last_')) rmSync(path.join(dir, f));
            del('allocation gone', envOf(rig, name, 'DEL'), { ...conf, prevResult: res });
          }

          if (p.usesNetns && name !== 'loopback') {
            // The link is gone.
            res = addOk(rig, name, conf, problems, 'link gone');
            if (name !== 'host-device') {
              execFileSync('ip', ['-n', rig.ctr, 'link', 'del', p.ifName]);
              del('link gone', envOf(rig, name, 'DEL'), { ...conf, prevResult: res });
            } else {
              delOk(rig, name, envOf(rig, name, 'DEL'), conf, problems, 'link gone (setup)');
            }

            // The container netns is deleted: the path is missing.
            res = addOk(rig, name, conf, problems, 'netns gone');
            execFileSync('ip', ['netns', 'del', rig.ctr]);
            const gone = envOf(rig, name, 'DEL');
            delOk(rig, name, gone, { ...conf, prevResult: res }, problems, 'netns deleted, with prevResult');
            delOk(rig, name, gone, conf, problems, 'netns deleted, without prevResult');
            // host-device: the device died with the netns (a veth), and its peer with it.
            const s = withoutKept(name, snapshot(rig));
            const lost = name === 'host-device' ? ['rbdev0', 'rbdev1'] : [];
            problems.add(`${name}: netns deleted: after DEL`, leftovers({ ...initial, ctrLinks: [], nodeLinks: initial.nodeLinks.filter((l) => !lost.includes(l)) }, s));
          }
        });
        problems.check();
      });
    });
  }
});
