// Robustness sweep of the chained vrf plugin: a real bridge attachment (prevResult kept), then
// hostile CNI_* variables, versions (0.3.1+), stdin, prevResult and config values (each one spec
// error object with the right code naming the field and value; nothing changed in the container),
// and the lifecycle rows. On a kernel without VRF devices ADD must fail with code 100 naming the
// VRF and change nothing; the rows that need a working ADD then only check that.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  attach, type ChainedPlugin, type ChainedRow, detach, dumpProblems, lifecycle, makeChainedRig, NETC,
  Problems, removeAllChainedRigs, setPath, longNameRows, outOfRangeRows, skelRows, stdinRows, sweepRows,
  typeRow, stdinRow as bad,
} from './chained-harness.js';

afterAll(removeAllChainedRigs);

/** This kernel can create VRF devices (CONFIG_NET_VRF), probed in a throwaway netns. */
function vrfSupported(): boolean {
  const ns = `rbc-probe-${randomBytes(4).toString('hex')}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return false;
  try {
    return spawnSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'vrf', 'table', '10']).status === 0;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
const HAVE_VRF = vrfSupported();

const vrf: ChainedPlugin = { name: 'vrf', conf: () => ({ cniVersion: '1.0.0', name: NETC, type: 'vrf', vrfname: 'rbcvrf0' }) };

const ROWS: ChainedRow[] = [
  ...skelRows({ minVersion: '0.3.1', usesNetns: true }),
  ...outOfRangeRows(HAVE_VRF ? 'ok' : 100, [], HAVE_VRF ? [] : ['rbcvrf0']),
  ...longNameRows(HAVE_VRF ? 'ok' : 100, [], HAVE_VRF ? [] : ['rbcvrf0']),
  ...stdinRows({ prevRequired: true, prevMentions: ['prevResult'] }),
  // wrong JSON types
  typeRow('vrfname', 5, '5'),
  typeRow('vrfname', ['rbcvrf0'], 'rbcvrf0'),
  typeRow('table', 'x', '"x"'),
  typeRow('table', 1.5, '1.5'),
  typeRow('vrfname', 5, '5', 'DEL'),
  typeRow('table', 'x', '"x"', 'CHECK'),
  // values
  bad('without vrfname', 7, ['vrf name', 'vrfname'], (c) => setPath(c, 'vrfname', undefined)),
  bad('vrfname empty', 7, ['vrf name', 'vrfname'], (c) => setPath(c, 'vrfname', '')),
  bad('vrfname ../x', 7, ['vrfname', '../x'], (c) => setPath(c, 'vrfname', '../x')),
  bad('vrfname /', 7, ['vrfname', '"/"'], (c) => setPath(c, 'vrfname', '/')),
  bad('vrfname too long', 7, ['vrfname', 'rbcvrf0123456789'], (c) => setPath(c, 'vrfname', 'rbcvrf0123456789')),
  bad('DEL with vrfname ../x', 7, ['vrfname', '../x'], (c) => setPath(c, 'vrfname', '../x'), 'DEL'),
  bad('table -1', 7, ['table', '-1'], (c) => setPath(c, 'table', -1)),
  bad('table 2^32', 7, ['table', '4294967296'], (c) => setPath(c, 'table', 2 ** 32)),
  // a link of that name that is no VRF
  bad('vrfname of an existing veth', 'any', ['eth0', /not a VRF|master/], (c) => setPath(c, 'vrfname', 'eth0')),
  // CHECK before any ADD
  bad('before any ADD', 101, ['rbcvrf0'], (c) => c, 'CHECK'),
  bad('with vrfname of an existing veth', 101, ['eth0', 'not a VRF'], (c) => setPath(c, 'vrfname', 'eth0'), 'CHECK'),
  ...(HAVE_VRF ? [] : [bad('on a kernel without VRF devices', 100, ['rbcvrf0', 'vrf'], (c) => c)]),
];

describe('robustness: chained vrf', () => {
  it(`hostile input and lifecycle on a real attachment${HAVE_VRF ? '' : ' (this kernel has no VRF devices: ADD must fail with code 100 and change nothing)'}`, () => {
    const problems = new Problems();
    const rig = makeChainedRig(13);
    const a = attach(rig);
    const n = sweepRows(rig, a, vrf, ROWS, problems);
    detach(rig, a, problems, 'vrf sweep');
    lifecycle(rig, vrf, {
      add: HAVE_VRF ? 'ok' : 100,
      addMentions: ['rbcvrf0'],
      failingAdd: { stdin: (c) => setPath(c, 'vrfname', 'eth0'), code: 'any', mentions: ['eth0'] },
      addTwice: 'ok',
      checkAfterDel: 101,
    }, problems);
    dumpProblems(problems, 'vrf');
    problems.check();
    expect(n).toBeGreaterThan(60);
  });
});
