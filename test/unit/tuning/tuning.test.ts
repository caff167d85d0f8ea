// tuning's pure logic (no kernel): config decoding and precedence, duplicate sysctl keys, key ->
// /proc/sys path conversion, the allowlist's Go regexps, the backup file format, MAC parsing.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../shared/cni/errors.js';
import { decodeBackup, encodeBackup, originalsOf } from '../../../plugins/tuning/backup.js';
import { changesLink, loadDataDir, loadTuningConf } from '../../../plugins/tuning/config.js';
import { canonicalMac } from '../../../plugins/tuning/mac.js';
import { sysctlEntries } from '../../../plugins/tuning/sysctl-entries.js';
import { checkAllowed, goRegExp, sysctlFileName } from '../../../plugins/tuning/sysctl.js';
import type { Link } from '../../../shared/netlink/index.js';

const base = { cniVersion: '1.0.0', name: 'tn', type: 'tuning' };
const load = (o: Record<string, unknown> | string, cniArgs = '') =>
  loadTuningConf({ stdinData: Buffer.from(typeof o === 'string' ? o : JSON.stringify({ ...base, ...o })), args: cniArgs });

function codeOf(fn: () => unknown): { code: number; msg: string; details: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return { code: e.code, msg: e.msg, details: e.details };
    throw e;
  }
  throw new Error('did not throw');
}

describe('config and precedence', () => {
  it('defaults: no changes, dataDir /run/cni/tuning', () => {
    const c = load({});
    expect(c).toEqual({ name: 'tn', dataDir: '/run/cni/tuning', sysctl: [], promisc: false, mtu: 0 });
    expect(changesLink(c)).toBe(false);
    expect(loadDataDir({ stdinData: Buffer.from(JSON.stringify({ ...base, dataDir: '/x' })) }).dataDir).toBe('/x');
  });

  it('MAC: args.cni > runtimeConfig > CNI_ARGS > conf', () => {
    const mac = (o: Record<string, unknown>, env = '') => load(o, env).mac;
    expect(mac({ mac: '02:00:00:00:00:01' })).toBe('02:00:00:00:00:01');
    expect(mac({ mac: '02:00:00:00:00:01' }, 'IgnoreUnknown=1;MAC=02:00:00:00:00:02')).toBe('02:00:00:00:00:02');
    expect(mac({ mac: '02:00:00:00:00:01', runtimeConfig: { mac: '02:00:00:00:00:03' } }, 'MAC=02:00:00:00:00:02')).toBe('02:00:00:00:00:03');
    expect(
      mac({ mac: '02:00:00:00:00:01', runtimeConfig: { mac: '02:00:00:00:00:03' }, args: { cni: { mac: '02:00:00:00:00:04' } } }, 'MAC=02:00:00:00:00:02'),
    ).toBe('02:00:00:00:00:04');
    // An empty runtimeConfig.mac / CNI_ARGS MAC does not override; an empty args.cni.mac does.
    expect(mac({ mac: '02:00:00:00:00:01', runtimeConfig: { mac: '' } }, 'MAC=')).toBe('02:00:00:00:00:01');
    expect(mac({ mac: '02:00:00:00:00:01', args: { cni: { mac: '' } } })).toBeUndefined();
  });

  it('args.cni overrides promisc, mtu, allmulti, txQLen (false and 0 included) and merges sysctls', () => {
    const c = load({
      promisc: true, mtu: 1400, allmulti: true, txQLen: 500,
      sysctl: { 'net.a': '1', 'net.b': '2' },
      args: { cni: { promisc: false, mtu: 0, allmulti: false, txQLen: 0, sysctl: { 'net.b': '3', 'net.c': '4' } } },
    });
    expect(c).toMatchObject({ promisc: false, mtu: 0, allmulti: false, txQLen: 0 });
    expect(c.sysctl).toEqual([['net.a', '1'], ['net.b', '3'], ['net.c', '4']]);
    // args.cni.sysctl without a config sysctl map (the reference panics on a nil map here).
    expect(load({ args: { cni: { sysctl: { 'net.x': '1' } } } }).sysctl).toEqual([['net.x', '1']]);
  });

  it('keys match case-insensitively; every "sysctl" object merges, as Go decodes them', () => {
    const c = load('{"cniVersion":"1.0.0","name":"tn","type":"tuning","SysCtl":{"net.a":"1"},"sysctl":{"net.b":"2"},"MTU":1300,"ARGS":{"CNI":{"Promisc":true}}}');
    expect(c.sysctl).toEqual([['net.a', '1'], ['net.b', '2']]);
    expect(c.mtu).toBe(1300);
    expect(c.promisc).toBe(true);
  });

  it('duplicated sysctl keys are refused (code 7), also across two "sysctl" objects and with escapes', () => {
    const dup = codeOf(() => load('{"cniVersion":"1.0.0","name":"tn","type":"tuning","sysctl":{"net.a":"1","net.a":"2"}}'));
    expect(dup).toMatchObject({ code: 7, msg: 'duplicated sysctl keys are not allowed' });
    expect(dup.details).toContain('"net.a"');
    expect(codeOf(() => load('{"name":"tn","sysctl":{"net.a":"1"},"Sysctl":{"net.a":"1"}}')).msg).toContain('duplicated');
    expect(codeOf(() => load('{"name":"tn","sysctl":{"net.a":"1","net\\u002ea":"1"}}')).msg).toContain('duplicated');
    // Same key in args.cni.sysctl is an override, not a duplicate.
    expect(load({ sysctl: { 'net.a': '1' }, args: { cni: { sysctl: { 'net.a': '2' } } } }).sysctl).toEqual([['net.a', '2']]);
  });

  it('wrong types and values are code 7 naming the field', () => {
    expect(codeOf(() => load({ mtu: '1500' })).msg).toMatch(/mtu/);
    expect(codeOf(() => load({ sysctl: { 'net.a': 1 } })).msg).toMatch(/sysctl/);
    expect(codeOf(() => load({ promisc: 'yes' })).msg).toMatch(/promisc/);
    expect(codeOf(() => load({ mtu: -1 }))).toMatchObject({ code: 7, msg: expect.stringMatching(/mtu: must be between 0 and/) });
    expect(codeOf(() => load({ args: { cni: { txQLen: -5 } } })).msg).toMatch(/args\.cni\.txQLen/);
    const bad = codeOf(() => load({ runtimeConfig: { mac: 'zz' } }));
    expect(bad).toMatchObject({ code: 7, msg: 'invalid args zz for MAC addr: address zz: invalid MAC address' });
    expect(bad.details).toContain('runtimeConfig.mac');
    // Only the winning MAC is checked, as the reference parses only the one it applies.
    expect(load({ mac: 'zz', args: { cni: { mac: '02:00:00:00:00:09' } } }).mac).toBe('02:00:00:00:00:09');
  });

  it('CNI_ARGS: unknown keys refused unless IgnoreUnknown (code 4)', () => {
    expect(codeOf(() => load({}, 'FOO=1'))).toMatchObject({ code: 4, msg: 'ARGS: unknown args ["FOO=1"]' });
    expect(load({}, 'IgnoreUnknown=true;FOO=1;MAC=02:00:00:00:00:07').mac).toBe('02:00:00:00:00:07');
  });
});

describe('sysctl entries scanner', () => {
  it('keeps every entry in order, ignores nested or other keys, null clears', () => {
    expect(sysctlEntries('{"a":{"sysctl":{"x":"1"}},"sysctl":{"net.a":"1","net.b":"2"},"b":[1,{"c":"}"}]}')).toEqual([
      ['net.a', '1'],
      ['net.b', '2'],
    ]);
    expect(sysctlEntries('{"sysctl":{"net.a":"1"},"sysctl":null,"SYSCTL":{"net.b":"2"}}')).toEqual([['net.b', '2']]);
    expect(sysctlEntries('{"sysctl":{}}')).toEqual([]);
    expect(sysctlEntries('[]')).toEqual([]);
    expect(sysctlEntries(' { "sysctl" : { "net.\\"q" : "v\\\\" } } ')).toEqual([['net."q', 'v\\']]);
  });
});

describe('sysctl key -> /proc/sys file', () => {
  it('dots become slashes, the first IFNAME becomes the interface, the path is cleaned', () => {
    expect(sysctlFileName('net.ipv4.ip_forward', 'eth0')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlFileName('net.ipv4.conf.IFNAME.arp_filter', 'eth0')).toBe('/proc/sys/net/ipv4/conf/eth0/arp_filter');
    expect(sysctlFileName('net.ipv4.conf.IFNAME.IFNAME', 'eth0')).toBe('/proc/sys/net/ipv4/conf/eth0/IFNAME');
    // An interface name with dots stays one component (the substitution comes after the conversion).
    expect(sysctlFileName('net.ipv4.conf.IFNAME.arp_filter', 'eth0.100')).toBe('/proc/sys/net/ipv4/conf/eth0.100/arp_filter');
    expect(sysctlFileName('net/ipv4/conf/all/forwarding', 'eth0')).toBe('/proc/sys/net/ipv4/conf/all/forwarding');
    expect(sysctlFileName('net.core.somaxconn.', 'eth0')).toBe('/proc/sys/net/core/somaxconn');
    // Every dot is converted, so ".." can never climb out of /proc/sys/net.
    expect(sysctlFileName('net/../kernel/x', 'eth0')).toBe('/proc/sys/net/kernel/x');
  });

  it('anything outside /proc/sys/net/ is "invalid net sysctl key" (code 7), quoted as the reference does', () => {
    for (const [key, converted] of [
      ['kernel.hostname', 'kernel/hostname'],
      ['net', 'net'],
      ['net..', 'net//'],
      ['sys/net.x', 'sys/net/x'],
      ['netfilter.x', 'netfilter/x'],
      ['', ''],
    ] as const) {
      const e = codeOf(() => sysctlFileName(key, 'eth0'));
      expect(e.code).toBe(7);
      expect(e.msg).toBe(`invalid net sysctl key: "${converted}"`);
      expect(e.details).toContain(JSON.stringify(key));
    }
  });
});

describe('allowlist (Go regexp semantics, unanchored)', () => {
  it('a key must match one line', () => {
    const list = ['^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]*$', 'net.core.somaxconn'];
    checkAllowed(['net.ipv4.conf.IFNAME.arp_filter', 'net.core.somaxconn', 'xnet.core.somaxconnx'], list);
    const e = codeOf(() => checkAllowed(['net.ipv4.ip_forward'], list));
    expect(e.code).toBe(7);
    expect(e.msg).toBe(`Sysctl net.ipv4.ip_forward is not allowed. Only the following sysctls are allowed: [${list.join(' ')}]`);
  });

  it('RE2 syntax: flags, POSIX classes, \\A \\z \\Q..\\E, named groups; Perl-only syntax refused', () => {
    expect(goRegExp('(?i)^NET\\.').test('net.x')).toBe(true);
    expect(goRegExp('^net\\.[[:alpha:]_]+$').test('net.ip_forward')).toBe(true);
    expect(goRegExp('^net\\.[[:alpha:]]+$').test('net.4')).toBe(false);
    expect(goRegExp('\\Anet\\.core\\z').test('net.core')).toBe(true);
    expect(goRegExp('\\Anet\\.core\\z').test('net.core\n')).toBe(false);
    expect(goRegExp('^\\Qnet.a+b\\E$').test('net.a+b')).toBe(true);
    expect(goRegExp('^\\Qnet.a+b\\E$').test('netxaab')).toBe(false);
    expect(goRegExp('^(?P<top>net)\\.').test('net.x')).toBe(true);
    expect(codeOf(() => goRegExp('net(?=x)')).msg).toBe('error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
    expect(codeOf(() => goRegExp('(a)\\1')).msg).toContain('\\1');
    expect(codeOf(() => goRegExp('net[')).code).toBe(7);
  });

  it('lines are compiled only as far as needed, as the reference does', () => {
    checkAllowed(['net.a'], ['net\\.a', 'bad[']);
    expect(codeOf(() => checkAllowed(['net.b'], ['net\\.a', 'bad['])).msg).toContain('error parsing regexp');
  });
});

describe('backup file', () => {
  const link = (o: Partial<Link>): Link => ({
    index: 3, name: 'eth0', hwType: 1, mtu: 1500, up: true, flags: 0x1003, operstate: 'up', txQLen: 1000, promisc: false, promiscuity: 0, mac: '0a:58:0a:21:00:02', ...o,
  });

  it('only the configured attributes, in the reference order, 1-space indent, no newline', () => {
    const conf = { ...load({ txQLen: 5, allmulti: true, mtu: 1400, promisc: true, mac: '02:00:00:00:00:01' }) };
    const o = originalsOf(link({ flags: 0x1003 | 0x200 }), conf);
    expect(encodeBackup(o)).toBe('{\n "mac": "0a:58:0a:21:00:02",\n "promisc": false,\n "mtu": 1500,\n "allmulti": true,\n "txQLen": 1000\n}');
    expect(encodeBackup(originalsOf(link({}), load({ mtu: 9000 })))).toBe('{\n "mtu": 1500\n}');
    expect(encodeBackup(originalsOf(link({ flags: 0x1103 }), load({ promisc: true })))).toBe('{\n "promisc": true\n}');
    // txQLen 0 is kept (a pointer in Go); a link without MAC has none to keep.
    expect(encodeBackup(originalsOf(link({ txQLen: 0, mac: undefined }), load({ txQLen: 5, mac: '02:00:00:00:00:01' })))).toBe('{\n "txQLen": 0\n}');
  });

  it('decodes what Go writes (keys case-insensitively); a wrong type fails the file', () => {
    expect(decodeBackup('{\n "mac": "aa:bb:cc:dd:ee:ff",\n "promisc": false,\n "mtu": 1500,\n "allmulti": false\n}')).toEqual({
      mac: 'aa:bb:cc:dd:ee:ff', promisc: false, mtu: 1500, allmulti: false,
    });
    expect(decodeBackup('{"MTU": 1400, "TxQLen": 7}')).toEqual({ mtu: 1400, txQLen: 7 });
    expect(decodeBackup('{"mtu": "1400"}')).toBeUndefined();
    expect(decodeBackup('{"mtu": 0, "mac": ""}')).toEqual({});
    expect(decodeBackup('not json')).toBeUndefined();
  });
});

describe('MAC parsing (Go net.ParseMAC)', () => {
  it('accepts the Go forms and canonicalises to lower case with colons', () => {
    expect(canonicalMac('C2:B0:57:49:47:F1')).toBe('c2:b0:57:49:47:f1');
    expect(canonicalMac('c2-b0-57-49-47-f1')).toBe('c2:b0:57:49:47:f1');
    expect(canonicalMac('c2b0.5749.47f1')).toBe('c2:b0:57:49:47:f1');
    expect(canonicalMac('02:00:5e:10:00:00:00:01')).toBe('02:00:5e:10:00:00:00:01');
  });

  it('refuses mixed separators, wrong lengths and non-hex', () => {
    for (const bad of ['c2:b0-57:49:47:f1', 'c2:b0:57:49:47', 'c2:b0:57:49:47:f1:00', 'g2:b0:57:49:47:f1', 'c2b057.4947f1', '', 'zz']) {
      expect(canonicalMac(bad), bad).toBeUndefined();
    }
  });
});
