// Robustness sweep of the chained sbr plugin: a real bridge attachment (prevResult kept), then
// hostile CNI_* variables, versions, stdin, prevResult and config values (each one spec error
// object with the right code naming the field and value; nothing changed: the container's rules
// and every route table), and the lifecycle rows (ADD twice, DEL in every kind of absence, CHECK after DEL).
import { afterAll, describe, expect, it } from 'vitest';
import {
  attach, type ChainedPlugin, type ChainedRow, detach, dumpProblems, lifecycle, makeChainedRig, NETC,
  Problems, removeAllChainedRigs, setPath, longNameRows, outOfRangeRows, withExtraAddress, skelRows,
  stdinRows, sweepRows, typeRow, stdinRow as bad,
} from './chained-harness.js';

afterAll(removeAllChainedRigs);

const sbr: ChainedPlugin = { name: 'sbr', conf: () => ({ cniVersion: '1.0.0', name: NETC, type: 'sbr' }) };

const ROWS: ChainedRow[] = [
  ...skelRows({ usesNetns: true }),
  ...outOfRangeRows('ok', ['ctrRouting']),
  ...longNameRows('ok', ['ctrRouting']),
  ...stdinRows({ prevRequired: true, prevMentions: ['prevResult'], checkWithoutPrevOk: true }),
  // wrong JSON types
  typeRow('table', 'x', '"x"'),
  typeRow('table', 100.5, '100.5'),
  typeRow('gateways', '10.37.14.1', '10.37.14.1'),
  typeRow('gateways', [5], '5'),
  typeRow('addSourceHints', 'yes', '"yes"'),
  typeRow('table', 'x', '"x"', 'DEL'),
  typeRow('table', 'x', '"x"', 'CHECK'),
  // values
  bad('table 0', 7, ['table', '0'], (c) => setPath(c, 'table', 0)),
  bad('table -1', 7, ['table', '-1'], (c) => setPath(c, 'table', -1)),
  bad('table 2^32', 7, ['table', '4294967296'], (c) => setPath(c, 'table', 2 ** 32)),
  bad('gateway not an IP', 7, ['invalid static gateway IP address: nope', 'gateways'], (c) => setPath(c, 'gateways', ['nope'])),
  bad('three gateways', 7, ['gateways', 'more than 2'], (c) => setPath(c, 'gateways', ['10.37.14.1', 'fd37::1', '10.37.14.9'])),
  bad('two IPv4 gateways', 7, ['gateways', 'multiple IPv4', '10.37.14.9'], (c) => setPath(c, 'gateways', ['10.37.14.1', '10.37.14.9'])),
  // prevResult
  bad('prevResult without ips', 7, ['No IP addresses supplied on interface', 'eth0'], (c) => setPath(c, 'prevResult.ips', [])),
  // the kernel refuses the default route (unreachable gateway) after the rule was added: undone
  bad('an unreachable static gateway', 100, ['10.99.0.1'], (c) => setPath(c, 'gateways', ['10.99.0.1'])),
  { label: 'ADD on an interface not in the container', env: () => ({ CNI_IFNAME: 'rbcnope0' }), code: 'any', mentions: ['rbcnope0'] },
  // a second address whose default route the kernel refuses (gateway off-link): the first address's
  // rule, table and moved routes are all taken back
  bad('a second address with an off-link gateway', 100, ['fd37:99::1'], (c, a) => withExtraAddress(c, a, 'fd37:98::5/64', 'fd37:99::1')),
  // CHECK before any ADD: the rule is missing (code 101 naming the address)
  bad('before any ADD', 101, ['10.37.14.2'], (c) => c, 'CHECK'),
  bad('before any ADD, with table', 101, ['10.37.14.2'], (c) => setPath(c, 'table', 555), 'CHECK'),
];

describe('robustness: chained sbr', () => {
  it('hostile input and lifecycle on a real attachment', () => {
    const problems = new Problems();
    const rig = makeChainedRig(14);
    const a = attach(rig);
    const n = sweepRows(rig, a, sbr, ROWS, problems);
    detach(rig, a, problems, 'sbr sweep');
    lifecycle(rig, sbr, {
      add: 'ok',
      failingAdd: { stdin: (c) => setPath(c, 'gateways', ['10.99.0.1']), code: 100, mentions: ['10.99.0.1'] },
      addTwice: 'any',
      checkAfterDel: 101,
      // ADD moved eth0's main-table routes into its table and DEL does not put them back (as the
      // reference); they go with the container's interface.
      leftToMainDel: ['ctrRouting'],
    }, problems);
    dumpProblems(problems, 'sbr');
    problems.check();
    expect(n).toBeGreaterThan(60);
  });
});
