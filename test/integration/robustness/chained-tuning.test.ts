// Robustness sweep of the chained tuning plugin: a real bridge attachment (prevResult kept), then
// hostile CNI_* variables, versions, stdin, prevResult and config values (each one spec error
// object with the right code naming the field and value, nothing changed: links, sysctls, backup
// files), and the lifecycle rows (ADD twice, DEL in every kind of absence, CHECK after DEL).
import { afterAll, describe, expect, it } from 'vitest';
import {
  attach, type ChainedPlugin, dumpProblems, type ChainedRow, detach, lifecycle, makeChainedRig, NETC,
  Problems, removeAllChainedRigs, longNameRows, outOfRangeRows, setPath, skelRows, stdinRows, sweepRows,
  typeRow, stdinRow as bad,
} from './chained-harness.js';

afterAll(removeAllChainedRigs);

const ARP_FILTER = 'net/ipv4/conf/eth0/arp_filter';

const tuning: ChainedPlugin = {
  name: 'tuning',
  conf: (rig) => ({
    cniVersion: '1.0.0',
    name: NETC,
    type: 'tuning',
    dataDir: rig.tuningDir,
    sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1' },
    mtu: 1400,
    promisc: true,
  }),
};

const ROWS: ChainedRow[] = [
  ...skelRows({ usesNetns: true }),
  ...outOfRangeRows('ok', ['ctrSysctls']),
  ...longNameRows('ok', ['ctrSysctls']),
  ...stdinRows({ prevRequired: true, prevMentions: ['prevResult'] }),
  // wrong JSON types for every key
  typeRow('mtu', '1500', '"1500"'),
  typeRow('mtu', 1400.5, '1400.5'),
  typeRow('sysctl', [], '[]'),
  typeRow('sysctl', 'net.core.somaxconn=5', 'net.core.somaxconn=5'),
  bad('sysctl value a number', 7, ['sysctl', 'net.core.somaxconn', '500'], (c) => ({ ...c, sysctl: { 'net.core.somaxconn': 500 } })),
  typeRow('promisc', 'yes', '"yes"'),
  typeRow('allmulti', 1, '1'),
  typeRow('txQLen', '1000', '"1000"'),
  typeRow('mac', 5, '5'),
  typeRow('dataDir', 1, '1'),
  typeRow('runtimeConfig', [], '[]'),
  typeRow('runtimeConfig.mac', 5, '5'),
  typeRow('args.cni.mtu', 'x', '"x"'),
  typeRow('args.cni.sysctl', [], '[]'),
  typeRow('mtu', '1500', '"1500"', 'CHECK'),
  // values
  bad('mtu -1', 7, ['mtu', '-1'], (c) => setPath(c, 'mtu', -1)),
  bad('mtu 2^32', 7, ['mtu', '4294967296'], (c) => setPath(c, 'mtu', 2 ** 32)),
  bad('txQLen -5', 7, ['txQLen', '-5'], (c) => setPath(c, 'txQLen', -5)),
  bad('mac not a MAC', 7, ['mac', 'zz:zz'], (c) => setPath(c, 'mac', 'zz:zz')),
  bad('runtimeConfig.mac not a MAC', 7, ['runtimeConfig.mac', '01:02'], (c) => setPath(c, 'runtimeConfig.mac', '01:02')),
  { label: 'ADD CNI_ARGS MAC not a MAC', env: () => ({ CNI_ARGS: 'MAC=nope' }), code: 7, mentions: ['MAC', 'nope'] },
  { label: 'ADD CNI_ARGS unknown key', env: () => ({ CNI_ARGS: 'FOO=bar' }), code: 4, mentions: ['FOO'] },
  bad('sysctl outside net', 7, ['sysctl', 'kernel.hostname'], (c) => ({ ...c, sysctl: { 'kernel.hostname': 'x' } })),
  bad('sysctl escaping net with ..', 7, ['sysctl', 'net/../kernel/hostname'], (c) => ({ ...c, sysctl: { 'net/../kernel/hostname': 'x' } })),
  bad('sysctl that does not exist', 7, ['sysctl', 'net.ipv4.rbc_nope'], (c) => ({ ...c, sysctl: { 'net.ipv4.rbc_nope': '1' } })),
  bad('sysctl duplicated', 7, ['duplicated'], () => `{"cniVersion":"1.0.0","name":"${NETC}","type":"tuning","prevResult":{"cniVersion":"1.0.0"},"sysctl":{"net.core.somaxconn":"5","net.core.somaxconn":"6"}}`),
  // the backup cannot be written after the sysctls were written: code 5, the sysctls put back
  bad('dataDir under /proc', 5, ['/proc/rbc-nope'], (c) => setPath(c, 'dataDir', '/proc/rbc-nope')),
  bad('dataDir below a file', 5, ['/etc/hostname/rbc'], (c) => setPath(c, 'dataDir', '/etc/hostname/rbc')),
  // the kernel refuses a value after the sysctls were written: they are put back
  bad('mtu 70000 (kernel refuses)', 100, ['70000'], (c) => setPath(c, 'mtu', 70000)),
  bad('sysctl value the kernel refuses', 100, ['arp_filter'], (c) => ({ ...c, sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': 'x' } })),
  // CHECK before any ADD: mismatches are 101
  bad('before any ADD', 101, ['arp_filter', '1'], (c) => c, 'CHECK'),
  { label: 'CHECK with an ifname not in the container', command: 'CHECK', env: () => ({ CNI_IFNAME: 'rbcnope0' }), stdin: (c) => ({ ...c, sysctl: {} }), code: 101, mentions: ['rbcnope0'] },
];

describe('robustness: chained tuning', () => {
  it('hostile input and lifecycle on a real attachment', () => {
    const problems = new Problems();
    const rig = makeChainedRig(16, { sysctls: [ARP_FILTER] });
    const a = attach(rig);
    const n = sweepRows(rig, a, tuning, [
      ...ROWS,
      // CNI_IFNAME not in the container: code 4 naming it (the reference: 999)
      { label: 'ADD with an ifname not in the container', env: () => ({ CNI_IFNAME: 'rbcnope0' }), stdin: (c) => ({ ...c, sysctl: {} }), code: 4, mentions: ['CNI_IFNAME', 'rbcnope0'] },
    ], problems);
    detach(rig, a, problems, 'tuning sweep');
    lifecycle(rig, tuning, {
      add: 'ok',
      failingAdd: { stdin: (c) => setPath(c, 'mtu', 70000), code: 100, mentions: ['70000'] },
      addTwice: 'ok',
      checkAfterDel: 101,
      // DEL does not restore sysctls (as the reference); they go with the container.
      leftToMainDel: ['ctrSysctls'],
    }, problems);
    dumpProblems(problems, 'tuning');
    problems.check();
    expect(n).toBeGreaterThan(60);
  });
});
