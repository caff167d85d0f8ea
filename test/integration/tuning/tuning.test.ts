// tuning through the built binary, chained after our bridge (or ptp) with its real prevResult,
// inside test netns; kernel state read back with `ip -d -j link show` and /proc/sys in the netns.
import { existsSync, openSync, readSync, closeSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { link } from '../../helpers/ip.js';
import { removeAllNetns, removeNetns, sh } from '../../helpers/netns.js';
import { cniEnv, removeDir, runIn, VERSIONS } from '../../helpers/node-rig.js';
import {
  attach, backupPath, errorOf, eth0, ipLinkSet, MAC1, MAC2, MAC3, MAC4, newRig, procSys, readBackup, type Rig,
  runWithAllowlist, setProcSys, tuned, tuning, tuningConf,
} from './helpers.js';

let rig: Rig;

beforeEach(() => {
  rig = newRig();
});

afterEach(() => {
  removeAllNetns();
  for (const d of rig.dirs) removeDir(d);
});

const ALL = { mac: MAC1, promisc: true, mtu: 1400, allmulti: true, txQLen: 321 };

describe('tuning ADD / CHECK / DEL', () => {
  it('applies mac, promisc, mtu, allmulti, txQLen; backs up the originals; DEL restores them', () => {
    const a = attach(rig, 'tn1');
    const orig = tuned(a.before);
    expect(orig).toMatchObject({ promisc: false, allmulti: false, mtu: 1500, txqlen: 1000 });
    const conf = tuningConf(rig, ALL);
    const add = tuning(rig, a, 'ADD', conf);
    expect(add.status, add.stdout).toBe(0);
    expect(tuned(eth0(a))).toEqual({ mac: MAC1, mtu: 1400, txqlen: 321, promisc: true, allmulti: true });
    // prevResult passed through, only eth0's MAC updated.
    const prevIfs = a.prev['interfaces'] as { name: string; mac: string; sandbox?: string }[];
    const res = add.json as Record<string, unknown>;
    expect(res).toEqual({ ...a.prev, interfaces: prevIfs.map((i) => (i.name === 'eth0' ? { ...i, mac: MAC1 } : i)) });
    // The backup: the original values of exactly these attributes, the reference's format, 0600.
    const b = readBackup(backupPath(rig, a));
    expect(b.mode).toBe(0o600);
    expect(b.text).toBe(`{\n "mac": "${orig.mac}",\n "promisc": false,\n "mtu": 1500,\n "allmulti": false,\n "txQLen": 1000\n}`);
    expect(tuning(rig, a, 'CHECK', { ...conf, prevResult: res }).status).toBe(0);

    const del = tuning(rig, a, 'DEL', conf);
    expect(del.status, del.stdout).toBe(0);
    expect(del.stdout).toBe('');
    expect(tuned(eth0(a))).toEqual(orig);
    expect(existsSync(backupPath(rig, a))).toBe(false);
    expect(tuning(rig, a, 'DEL', conf).status).toBe(0);
  });

  it('backs up only what is configured; the default dataDir is not used when dataDir is given', () => {
    const a = attach(rig, 'tn2');
    const add = tuning(rig, a, 'ADD', tuningConf(rig, { mtu: 1300 }));
    expect(add.status, add.stdout).toBe(0);
    expect(readBackup(backupPath(rig, a)).text).toBe('{\n "mtu": 1500\n}');
    expect(tuned(eth0(a))).toEqual({ ...tuned(a.before), mtu: 1300 });
    expect(existsSync('/run/cni/tuning/tn2_eth0.json')).toBe(false);
    expect(tuning(rig, a, 'DEL', tuningConf(rig, { mtu: 1300 })).status).toBe(0);
    expect(eth0(a).mtu).toBe(1500);
  });

  it('sysctls are written inside the container netns, IFNAME is the interface; no backup without link attributes', () => {
    const a = attach(rig, 'tn3');
    const hostBefore = procSys(rig.host, 'net/ipv4/conf/all/log_martians');
    const conf = tuningConf(rig, {
      sysctl: { 'net.ipv4.conf.all.log_martians': '1', 'net.ipv4.conf.IFNAME.arp_filter': '1', 'net/core/somaxconn': '513' },
    });
    const add = tuning(rig, a, 'ADD', conf);
    expect(add.status, add.stdout).toBe(0);
    expect(add.json).toEqual(a.prev);
    expect(procSys(a.c, 'net/ipv4/conf/all/log_martians')).toBe('1');
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_filter')).toBe('1');
    expect(procSys(a.c, 'net/core/somaxconn')).toBe('513');
    expect(procSys(rig.host, 'net/ipv4/conf/all/log_martians')).toBe(hostBefore);
    expect(existsSync(backupPath(rig, a))).toBe(false);
    expect(tuning(rig, a, 'CHECK', conf).status).toBe(0);
    setProcSys(a.c, 'net/ipv4/conf/eth0/arp_filter', '0');
    const chk = tuning(rig, a, 'CHECK', conf);
    expect(errorOf(chk)).toEqual({ code: 101, msg: 'Error: Tuning configured value of /proc/sys/net/ipv4/conf/eth0/arp_filter is 1, current value is 0' });
    // Sysctls are not restored by DEL (as the reference).
    expect(tuning(rig, a, 'DEL', conf).status).toBe(0);
    expect(procSys(a.c, 'net/ipv4/conf/all/log_martians')).toBe('1');
  });

  it('chained after ptp as well', () => {
    const a = attach(rig, 'tn4', { main: 'ptp' });
    const conf = tuningConf(rig, { mtu: 1280, sysctl: { 'net.ipv6.conf.IFNAME.disable_ipv6': '1' } });
    expect(tuning(rig, a, 'ADD', conf).status).toBe(0);
    expect(eth0(a).mtu).toBe(1280);
    expect(procSys(a.c, 'net/ipv6/conf/eth0/disable_ipv6')).toBe('1');
    expect(tuning(rig, a, 'CHECK', conf).status).toBe(0);
    expect(tuning(rig, a, 'DEL', conf).status).toBe(0);
    expect(eth0(a).mtu).toBe(1500);
  });

  it.each(VERSIONS)('cniVersion %s: the result in that version, CHECK where the version allows it', (version) => {
    const a = attach(rig, 'tn5', { version });
    const conf = tuningConf(rig, { mac: MAC2 }, version);
    const add = tuning(rig, a, 'ADD', conf);
    expect(add.status, add.stdout).toBe(0);
    const res = add.json as Record<string, unknown>;
    expect(res['cniVersion']).toBe(version);
    if (version === '0.1.0' || version === '0.2.0') {
      expect(res).toEqual(a.prev);
    } else {
      expect((res['interfaces'] as { name: string; mac: string }[]).find((i) => i.name === 'eth0')?.mac).toBe(MAC2);
    }
    expect(eth0(a).address).toBe(MAC2);
    const chk = tuning(rig, a, 'CHECK', { ...conf, prevResult: res });
    if (version === '0.4.0' || version.startsWith('1.')) expect(chk.status, chk.stdout).toBe(0);
    else expect(errorOf(chk).msg).toBe('config version does not allow CHECK');
    expect(tuning(rig, a, 'DEL', conf).status).toBe(0);
    expect(eth0(a).address).toBe(a.before.address);
  });
});

describe('precedence: args.cni > runtimeConfig.mac > CNI_ARGS MAC > conf', () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['conf', { mac: MAC1 }, '', MAC1],
    ['CNI_ARGS over conf', { mac: MAC1 }, `IgnoreUnknown=1;MAC=${MAC2}`, MAC2],
    ['runtimeConfig over CNI_ARGS', { mac: MAC1, runtimeConfig: { mac: MAC3 } }, `MAC=${MAC2}`, MAC3],
    ['args.cni over runtimeConfig', { mac: MAC1, runtimeConfig: { mac: MAC3 }, args: { cni: { mac: MAC4 } } }, `MAC=${MAC2}`, MAC4],
  ];
  it.each(cases)('%s', (_name, extra, cniArgs, want) => {
    const a = attach(rig, 'tn6');
    const env: Record<string, string> = cniArgs ? { CNI_ARGS: cniArgs } : {};
    const add = tuning(rig, a, 'ADD', tuningConf(rig, extra), 'ours', env);
    expect(add.status, add.stdout).toBe(0);
    expect(eth0(a).address).toBe(want);
    expect((add.json as { interfaces: { name: string; mac: string }[] }).interfaces.find((i) => i.name === 'eth0')?.mac).toBe(want);
    expect(tuning(rig, a, 'CHECK', { ...tuningConf(rig, extra), prevResult: add.json }, 'ours', env).status).toBe(0);
  });

  it('args.cni overrides the other attributes and merges sysctls over the config', () => {
    const a = attach(rig, 'tn7');
    const conf = tuningConf(rig, {
      mtu: 1400, promisc: true, allmulti: true, txQLen: 10,
      sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1', 'net.ipv4.conf.IFNAME.arp_announce': '1' },
      args: { cni: { mtu: 1360, promisc: false, allmulti: false, txQLen: 20, sysctl: { 'net.ipv4.conf.IFNAME.arp_announce': '2', 'net.ipv4.conf.IFNAME.arp_ignore': '1' } } },
    });
    expect(tuning(rig, a, 'ADD', conf).status).toBe(0);
    expect(tuned(eth0(a))).toEqual({ ...tuned(a.before), mtu: 1360, txqlen: 20, promisc: false, allmulti: false });
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_filter')).toBe('1');
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_announce')).toBe('2');
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_ignore')).toBe('1');
    // promisc false from args: not in the backup (only a true promisc is applied and backed up).
    expect(readBackup(backupPath(rig, a)).text).toBe('{\n "mtu": 1500,\n "allmulti": false,\n "txQLen": 1000\n}');
  });
});

describe('CHECK', () => {
  it('fails (code 101) when an attribute drifted; promisc false means "off"', () => {
    const a = attach(rig, 'tn8');
    const conf = tuningConf(rig, { mtu: 1400, allmulti: true, txQLen: 99 });
    expect(tuning(rig, a, 'ADD', conf).status).toBe(0);
    expect(tuning(rig, a, 'CHECK', conf).status).toBe(0);
    ipLinkSet(a.c, ['eth0', 'promisc', 'on']);
    expect(errorOf(tuning(rig, a, 'CHECK', conf))).toEqual({ code: 101, msg: 'Error: Tuning link eth0 configured promisc is false, current value is 1' });
    ipLinkSet(a.c, ['eth0', 'promisc', 'off']);
    ipLinkSet(a.c, ['eth0', 'mtu', '1450']);
    expect(errorOf(tuning(rig, a, 'CHECK', conf))).toEqual({ code: 101, msg: 'Error: Tuning configured MTU of eth0 is 1400, current value is 1450' });
    ipLinkSet(a.c, ['eth0', 'mtu', '1400', 'allmulticast', 'off']);
    expect(errorOf(tuning(rig, a, 'CHECK', conf))).toEqual({ code: 101, msg: 'Error: Tuning configured all-multicast mode of eth0 is true, current value is false' });
    ipLinkSet(a.c, ['eth0', 'allmulticast', 'on', 'txqueuelen', '98']);
    expect(errorOf(tuning(rig, a, 'CHECK', conf))).toEqual({ code: 101, msg: 'Error: Tuning configured Transmit Queue Length of eth0 is 99, current value is 98' });
    ipLinkSet(a.c, ['eth0', 'txqueuelen', '99', 'address', MAC3]);
    expect(errorOf(tuning(rig, a, 'CHECK', { ...conf, mac: MAC1 }))).toEqual({ code: 101, msg: `Error: Tuning configured Ethernet of eth0 is ${MAC1}, current value is ${MAC3}` });
    expect(tuning(rig, a, 'CHECK', conf).status).toBe(0);
    sh(a.c, 'ip', ['link', 'del', 'eth0']);
    expect(errorOf(tuning(rig, a, 'CHECK', conf))).toEqual({ code: 101, msg: 'Cannot find container link eth0' });
  });

  it('requires prevResult (code 7)', () => {
    const a = attach(rig, 'tn9');
    const r = runIn(rig.host, 'tuning', cniEnv('CHECK', a.c, a.cid), tuningConf(rig, { mtu: 1400 }));
    expect(errorOf(r)).toMatchObject({ code: 7, msg: 'Required prevResult missing' });
  });
});

describe('errors and a failed ADD', () => {
  it('ADD without prevResult, duplicated sysctl keys, a key outside net, an ifname with "/"', () => {
    const a = attach(rig, 'tn10');
    const noPrev = runIn(rig.host, 'tuning', cniEnv('ADD', a.c, a.cid), tuningConf(rig, { mtu: 1400 }));
    expect(errorOf(noPrev)).toMatchObject({ code: 7, msg: 'Required prevResult missing' });
    const dup = `{"cniVersion":"1.0.0","name":"tnnet","type":"tuning","sysctl":{"net.core.somaxconn":"1","net.core.somaxconn":"2"},"prevResult":${JSON.stringify(a.prev)}}`;
    const d = tuning(rig, a, 'ADD', dup);
    expect(errorOf(d)).toMatchObject({ code: 7, msg: expect.stringContaining('duplicated') });
    const bad = tuning(rig, a, 'ADD', tuningConf(rig, { sysctl: { 'kernel.hostname': 'x' } }));
    expect(errorOf(bad)).toMatchObject({ code: 7, msg: 'invalid net sysctl key: "kernel/hostname"' });
    const slash = runIn(rig.host, 'tuning', cniEnv('ADD', a.c, a.cid, 'eth/0'), { ...tuningConf(rig, { mtu: 1400 }), prevResult: a.prev });
    expect(errorOf(slash)).toMatchObject({ code: 4, msg: expect.stringContaining('/') });
    expect(tuned(eth0(a))).toEqual(tuned(a.before));
    expect(existsSync(backupPath(rig, a))).toBe(false);
  });

  it('a sysctl that does not exist fails the ADD (code 7) and puts back the sysctls already written', () => {
    const a = attach(rig, 'tn11');
    const conf = tuningConf(rig, { sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1', 'net.ipv4.conf.IFNAME.no_such_key': '1' }, mtu: 1400 });
    const r = tuning(rig, a, 'ADD', conf);
    expect(errorOf(r)).toMatchObject({ code: 7, msg: 'open /proc/sys/net/ipv4/conf/eth0/no_such_key: no such file or directory' });
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_filter')).toBe('0');
    expect(tuned(eth0(a))).toEqual(tuned(a.before));
    expect(existsSync(backupPath(rig, a))).toBe(false);
  });

  it('a link change the kernel refuses fails the ADD (code 100) and undoes the earlier changes and the backup', () => {
    const a = attach(rig, 'tn12');
    const conf = tuningConf(rig, { sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1' }, mac: MAC1, promisc: true, mtu: 70000 });
    const r = tuning(rig, a, 'ADD', conf);
    expect(errorOf(r).code, r.stdout).toBe(100);
    expect(tuned(eth0(a))).toEqual(tuned(a.before));
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_filter')).toBe('0');
    expect(existsSync(backupPath(rig, a))).toBe(false);
    expect(tuning(rig, a, 'DEL', conf).status).toBe(0);
  });

  it('CNI_IFNAME not in the container (code 4); a backup that cannot be written (code 5) undoes the sysctls', () => {
    const a = attach(rig, 'tn23');
    const missing = runIn(rig.host, 'tuning', cniEnv('ADD', a.c, a.cid, 'eth9'), { ...tuningConf(rig, { mtu: 1400 }), prevResult: a.prev });
    expect(errorOf(missing)).toMatchObject({ code: 4, msg: 'failed to get "eth9": Link not found' });
    const blocker = path.join(rig.dataDir, 'not-a-dir');
    writeFileSync(blocker, '');
    const conf = tuningConf(rig, { sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1' }, mtu: 1400, dataDir: path.join(blocker, 'tuning') });
    const r = tuning(rig, a, 'ADD', conf);
    expect(errorOf(r)).toMatchObject({ code: 5, msg: expect.stringMatching(/^failed to save file eth0\.json: /) });
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_filter')).toBe('0');
    expect(tuned(eth0(a))).toEqual(tuned(a.before));
  });

  it('an invalid MAC is refused before anything changes (code 7, naming the source)', () => {
    const a = attach(rig, 'tn13');
    const r = tuning(rig, a, 'ADD', tuningConf(rig, { mtu: 1400, runtimeConfig: { mac: '02:33:zz:00:00:01' } }));
    expect(errorOf(r)).toMatchObject({ code: 7, msg: 'invalid args 02:33:zz:00:00:01 for MAC addr: address 02:33:zz:00:00:01: invalid MAC address' });
    expect(errorOf(r).details).toContain('runtimeConfig.mac');
    expect(tuned(eth0(a))).toEqual(tuned(a.before));
    expect(existsSync(backupPath(rig, a))).toBe(false);
  });
});

describe('DEL always succeeds', () => {
  it('without CNI_NETNS, with the netns gone, with the link gone, without a backup, twice', () => {
    const conf = tuningConf(rig, { mtu: 1400 });
    // No netns given: the backup can never be used again, so it goes.
    const a = attach(rig, 'tn14');
    expect(tuning(rig, a, 'ADD', conf).status).toBe(0);
    const env = cniEnv('DEL', a.c, a.cid);
    delete env.CNI_NETNS;
    expect(runIn(rig.host, 'tuning', env, conf).status).toBe(0);
    expect(existsSync(backupPath(rig, a))).toBe(false);
    // Netns deleted.
    const b = attach(rig, 'tn15');
    expect(tuning(rig, b, 'ADD', conf).status).toBe(0);
    removeNetns(b.c);
    expect(tuning(rig, b, 'DEL', conf).status).toBe(0);
    expect(existsSync(backupPath(rig, b))).toBe(false);
    expect(tuning(rig, b, 'DEL', conf).status).toBe(0);
    // Link deleted.
    const c = attach(rig, 'tn16');
    expect(tuning(rig, c, 'ADD', conf).status).toBe(0);
    sh(c.c, 'ip', ['link', 'del', 'eth0']);
    expect(tuning(rig, c, 'DEL', conf).status).toBe(0);
    expect(existsSync(backupPath(rig, c))).toBe(false);
    // Never added, and an undecodable backup.
    const d = attach(rig, 'tn17');
    expect(tuning(rig, d, 'DEL', conf).status).toBe(0);
    writeFileSync(backupPath(rig, d), '{"mtu":');
    // A writer killed before its rename leaves a temp file; DEL clears it.
    writeFileSync(`${backupPath(rig, d)}.tmp-99999`, '{"mt');
    const r = tuning(rig, d, 'DEL', conf);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(existsSync(backupPath(rig, d))).toBe(false);
    expect(existsSync(`${backupPath(rig, d)}.tmp-99999`)).toBe(false);
  });
});

describe('backup file', () => {
  it('is replaced atomically: a reader holding the old file sees all of it, the path shows the new one', () => {
    const a = attach(rig, 'tn18');
    const file = backupPath(rig, a);
    const old = `{\n "mtu": 9000${' '.repeat(4000)}\n}`;
    writeFileSync(file, old, { mode: 0o600 });
    const oldIno = statSync(file).ino;
    const fd = openSync(file, 'r');
    try {
      expect(tuning(rig, a, 'ADD', tuningConf(rig, { mtu: 1400 })).status).toBe(0);
      const buf = Buffer.alloc(8192);
      const n = readSync(fd, buf, 0, buf.length, 0);
      expect(buf.subarray(0, n).toString()).toBe(old);
    } finally {
      closeSync(fd);
    }
    expect(statSync(file).ino).not.toBe(oldIno);
    // A backup that exists is an earlier ADD's: its original MTU is kept (rewritten, not the tuned 1400 nor the current 1500).
    expect(readBackup(file)).toEqual({ text: '{\n "mtu": 9000\n}', mode: 0o600 });
    expect(path.dirname(file)).toBe(rig.dataDir);
  });

  it('dataDir is created when missing (0700)', () => {
    const a = attach(rig, 'tn19');
    const dir = path.join(rig.dataDir, 'nested', 'tuning');
    expect(tuning(rig, a, 'ADD', tuningConf(rig, { mtu: 1400, dataDir: dir })).status).toBe(0);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readBackup(backupPath(rig, a, dir)).text).toBe('{\n "mtu": 1500\n}');
    expect(tuning(rig, a, 'DEL', tuningConf(rig, { mtu: 1400, dataDir: dir })).status).toBe(0);
    expect(existsSync(backupPath(rig, a, dir))).toBe(false);
  });
});

describe('allowlist /etc/cni/tuning/allowlist.conf (private mount namespace; the real /etc untouched)', () => {
  const allowlist = '^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$\n\n  net.core.somaxconn  \n';

  it('every key matches a line: applied', () => {
    const a = attach(rig, 'tn20');
    const r = runWithAllowlist(rig, a, allowlist, tuningConf(rig, { sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1', 'net.core.somaxconn': '600' } }));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_filter')).toBe('1');
    expect(procSys(a.c, 'net/core/somaxconn')).toBe('600');
    expect(existsSync('/etc/cni/tuning/allowlist.conf')).toBe(false);
  });

  it('a key matching no line: refused before anything is written', () => {
    const a = attach(rig, 'tn21');
    const r = runWithAllowlist(rig, a, allowlist, tuningConf(rig, { sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1', 'net.ipv4.ip_forward': '1' } }));
    expect(errorOf(r)).toMatchObject({
      code: 7,
      msg: 'Sysctl net.ipv4.ip_forward is not allowed. Only the following sysctls are allowed: [^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$ net.core.somaxconn]',
    });
    expect(procSys(a.c, 'net/ipv4/conf/eth0/arp_filter')).toBe('0');
    // args.cni sysctls are checked too.
    const r2 = runWithAllowlist(rig, a, allowlist, tuningConf(rig, { args: { cni: { sysctl: { 'net.core.netdev_max_backlog': '1' } } } }));
    expect(errorOf(r2).msg).toMatch(/^Sysctl net\.core\.netdev_max_backlog is not allowed/);
  });
});

describe('GC and STATUS', () => {
  it('GC leaves every backup alone (backups are per container and interface, not per network); STATUS succeeds', () => {
    const a = attach(rig, 'tn22');
    expect(tuning(rig, a, 'ADD', tuningConf(rig, { mtu: 1400 })).status).toBe(0);
    mkdirSync(rig.dataDir, { recursive: true });
    const gc = runIn(rig.host, 'tuning', { CNI_COMMAND: 'GC' }, { ...tuningConf(rig, {}, '1.1.0'), 'cni.dev/valid-attachments': [] });
    expect(gc.status, gc.stdout).toBe(0);
    expect(existsSync(backupPath(rig, a))).toBe(true);
    expect(runIn(rig.host, 'tuning', { CNI_COMMAND: 'STATUS' }, tuningConf(rig, {}, '1.1.0')).status).toBe(0);
    expect(link(a.c, 'eth0')?.mtu).toBe(1400);
  });
});
