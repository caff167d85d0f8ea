// Robustness sweep of the chained bandwidth plugin: a real bridge attachment (prevResult kept),
// then hostile CNI_* variables, versions, stdin, prevResult and config values (each one spec error
// object with the right code naming the field and value; nothing changed: qdiscs, ifbs, links),
// and the lifecycle rows (ADD twice, DEL in every kind of absence, CHECK after DEL).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  attach, type ChainedPlugin, type ChainedRig, cniErrorProblems, confFor, diff, envC, runC, snap,
  successProblems, type ChainedRow, detach, dumpProblems, type Json, lifecycle, makeChainedRig, NETC,
  Problems, removeAllChainedRigs, setPath, longNameRows, outOfRangeRows, skelRows, stdinRows, sweepRows,
  typeRow, stdinRow as bad,
} from './chained-harness.js';

afterAll(removeAllChainedRigs);

const bandwidth: ChainedPlugin = {
  name: 'bandwidth',
  conf: () => ({
    cniVersion: '1.0.0',
    name: NETC,
    type: 'bandwidth',
    ingressRate: 8_000_000,
    ingressBurst: 80_000,
    egressRate: 8_000_000,
    egressBurst: 80_000,
  }),
};

/** prevResult's interfaces without the host side (the veth peer, the bridge). */
const withoutHost = (c: Json): Json => setPath(c, 'prevResult.interfaces', (c['prevResult']['interfaces'] as Json[]).filter((i) => i['sandbox']));

const ROWS: ChainedRow[] = [
  ...skelRows({ minVersion: '0.3.0', usesNetns: true }),
  ...outOfRangeRows('ok', ['qdiscs']),
  ...longNameRows('ok', ['qdiscs']),
  ...stdinRows({ prevRequired: true, prevMentions: ['prevResult'] }),
  // wrong JSON types
  typeRow('ingressRate', '1', '"1"'),
  typeRow('ingressBurst', true, 'true'),
  typeRow('egressRate', [], '[]'),
  typeRow('egressBurst', '80000', '"80000"'),
  typeRow('ingressRate', -1, '-1'),
  typeRow('egressRate', -8000, '-8000'),
  typeRow('ingressRate', 1.5, '1.5'),
  typeRow('unshapedSubnets', '10.0.0.0/8', '10.0.0.0/8'),
  typeRow('shapedSubnets', [5], '5'),
  typeRow('runtimeConfig', 'x', '"x"'),
  typeRow('runtimeConfig.bandwidth', [], '[]'),
  typeRow('ingressRate', '1', '"1"', 'CHECK'),
  typeRow('ingressRate', -1, '-1', 'DEL'),
  bad('runtimeConfig.bandwidth.ingressRate -5', 7, ['ingressRate', '-5'], (c) => ({ name: c['name'], cniVersion: c['cniVersion'], type: 'bandwidth', prevResult: c['prevResult'], runtimeConfig: { bandwidth: { ingressRate: -5, ingressBurst: 5 } } })),
  // values
  bad('ingressRate 2^64', 7, ['ingressRate', '18446744073709552000'], (c) => setPath(c, 'ingressRate', 2 ** 64)),
  // within uint64, but more than the kernel's tbf takes: code 100 naming the keys; the rollback leaves nothing
  bad('ingressRate 2^62 (kernel refuses)', 100, ['ingressRate=4611686018427388000', 'EINVAL'], (c) => setPath(c, 'ingressRate', 2 ** 62)),
  bad('egressRate 2^62 (kernel refuses after the ingress shaping and the ifb)', 100, ['egressRate=4611686018427388000'], (c) => setPath(c, 'egressRate', 2 ** 62)),
  bad('rate without burst', 7, ['if rate is set, burst must also be set', 'ingressRate'], (c) => setPath(c, 'ingressBurst', 0)),
  bad('burst without rate', 7, ['if burst is set, rate must also be set', 'egressBurst'], (c) => setPath(c, 'egressRate', 0)),
  bad('burst above 4GB', 7, ['burst cannot be more than 4GB', '34359738368'], (c) => setPath(c, 'ingressBurst', 2 ** 35)),
  bad('a subnet that is not a CIDR', 7, ['unshapedSubnets', 'nope'], (c) => setPath(c, 'unshapedSubnets', ['nope'])),
  bad('both subnet lists', 7, ['unshapedSubnets', 'shapedSubnets'], (c) => ({ ...c, unshapedSubnets: ['10.1.0.0/16'], shapedSubnets: ['10.2.0.0/16'] })),
  // the host interface
  bad('prevResult without interfaces', 7, ['no interfaces provided', 'interfaces'], (c) => setPath(c, 'prevResult.interfaces', [])),
  bad('prevResult without the host veth', 7, ['no veth peer of container interface found in host ns', 'veth'], withoutHost),
  { label: 'ADD on an interface that is not a veth', env: () => ({ CNI_IFNAME: 'lo' }), code: 7, mentions: ['lo', 'veth'] },
  { label: 'ADD on an interface not in the container', env: () => ({ CNI_IFNAME: 'rbcnope0' }), code: 7, mentions: ['rbcnope0'] },
  bad('CHECK before any ADD', 101, [/doesn't match|not found|tbf/i], (c) => c, 'CHECK'),
  bad('CHECK on an interface that is not a veth', 7, ['lo'], (c) => c, 'CHECK'),
  // GC / STATUS
  bad('GC with valid-attachments not a list', 7, ['cni.dev/valid-attachments'], (c) => ({ ...c, cniVersion: '1.1.0', prevResult: undefined, 'cni.dev/valid-attachments': {} }), 'GC'),
  bad('GC with a bad rate', 7, ['ingressRate', '-1'], (c) => ({ ...c, cniVersion: '1.1.0', prevResult: undefined, ingressRate: -1 }), 'GC'),
];
// The 'CHECK on an interface that is not a veth' row needs CNI_IFNAME=lo.
const fixEnv = (rows: ChainedRow[]): ChainedRow[] =>
  rows.map((r) => (r.label === 'CHECK CHECK on an interface that is not a veth' ? { ...r, env: () => ({ CNI_IFNAME: 'lo' }) } : r));

/**
 * The ifb's name (bwp + sha512(network + containerID), 15 characters) already belongs to another
 * host link: ADD fails (not 999) and takes back its ingress shaping; the DEL a runtime then sends
 * succeeds and leaves the other link alone.
 */
function ifbNameTaken(rig: ChainedRig, problems: Problems): void {
  const a = attach(rig);
  const name = `bwp${createHash('sha512').update(NETC + a.cid).digest('hex').slice(0, 12)}`;
  try {
    spawnSync('ip', ['-n', rig.node, 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'rbcpeer0']);
    const before = snap(rig, a);
    const conf = confFor(bandwidth, rig, a);
    problems.add('bandwidth: ADD with the ifb name taken', cniErrorProblems(runC(rig, 'bandwidth', envC(a, 'ADD'), conf), 'any', [name]));
    problems.add('bandwidth: ADD with the ifb name taken', diff(before, snap(rig, a)));
    problems.add('bandwidth: DEL after it', successProblems(runC(rig, 'bandwidth', envC(a, 'DEL'), conf)));
    problems.add('bandwidth: DEL after it', diff(before, snap(rig, a)));
  } finally {
    spawnSync('ip', ['-n', rig.node, 'link', 'del', name]);
    detach(rig, a, problems, 'bandwidth: ifb name taken');
  }
}

describe('robustness: chained bandwidth', () => {
  it('hostile input and lifecycle on a real attachment', () => {
    const problems = new Problems();
    const rig = makeChainedRig(15);
    const a = attach(rig);
    const n = sweepRows(rig, a, bandwidth, fixEnv(ROWS), problems);
    detach(rig, a, problems, 'bandwidth sweep');
    ifbNameTaken(rig, problems);
    lifecycle(rig, bandwidth, {
      add: 'ok',
      failingAdd: { stdin: withoutHost, code: 7, mentions: ['no veth peer'] },
      addTwice: 'any',
      checkAfterDel: 101,
      gc: true,
      // DEL deletes the ifb; the shaping on the host veth goes with the veth (the main plugin's DEL), as the reference.
      leftToMainDel: ['qdiscs'],
    }, problems);
    dumpProblems(problems, 'bandwidth');
    problems.check();
    expect(n).toBeGreaterThan(60);
  });
});
