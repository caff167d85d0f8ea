// host-local run as a runtime runs it: the built binary, env + stdin, files checked on disk.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_VERSIONS, leaseFiles, leases, ourBin, run, tempDataDir } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = tempDataDir();
  dirs.push(d);
  return d;
}
const bin = () => ourBin('host-local');

function dualConf(version: string, dir: string, extra: Record<string, unknown> = {}, ipamExtra: Record<string, unknown> = {}) {
  return {
    cniVersion: version,
    name: 'mynet',
    type: 'bridge',
    ipam: {
      type: 'host-local',
      dataDir: dir,
      ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.2.2.0/24' }], [{ subnet: '2001:db8:1::/64' }]],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.2.1' }, { dst: '3ffe:ffff:0:01ff::1/64' }],
      ...ipamExtra,
    },
    ...extra,
  };
}

describe('host-local ADD/CHECK/DEL in every spec version', () => {
  it.each(ALL_VERSIONS)('%s', (version) => {
    const dir = dataDir();
    const conf = dualConf(version, dir);
    const add = run(bin(), conf, { command: 'ADD' });
    expect(add.stderr).toBe('');
    expect(add.code, add.stdout).toBe(0);
    const r = add.json!;
    expect(r['cniVersion']).toBe(version);
    if (version === '0.1.0' || version === '0.2.0') {
      expect(r['ip4']).toEqual({
        ip: '10.1.2.2/24',
        gateway: '10.1.2.1',
        routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.2.1' }],
      });
      expect(r['ip6']).toEqual({ ip: '2001:db8:1::2/64', gateway: '2001:db8:1::1', routes: [{ dst: '3ffe:ffff:0:1ff::1/64' }] });
    } else {
      const withVersion = version.startsWith('0.');
      expect(add.stdout.includes('"version":')).toBe(withVersion);
      expect(r['ips']).toEqual([
        { ...(withVersion ? { version: '4' } : {}), address: '10.1.2.2/24', gateway: '10.1.2.1' },
        { ...(withVersion ? { version: '6' } : {}), address: '2001:db8:1::2/64', gateway: '2001:db8:1::1' },
      ]);
      expect(r['routes']).toEqual([{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.2.1' }, { dst: '3ffe:ffff:0:1ff::1/64' }]);
    }
    expect(leaseFiles(dir, 'mynet')).toEqual({
      '10.1.2.2': 'dummy\r\neth0',
      '2001:db8:1::2': 'dummy\r\neth0',
      'last_reserved_ip.0': '10.1.2.2',
      'last_reserved_ip.1': '2001:db8:1::2',
      lock: '',
    });
    const st = fs.statSync(path.join(dir, 'mynet', '10.1.2.2'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'mynet', 'lock')).mode & 0o777).toBe(0o750);
    expect(fs.statSync(path.join(dir, 'mynet')).mode & 0o777).toBe(0o755);

    const check = run(bin(), conf, { command: 'CHECK' });
    if (version >= '0.4.0') expect(check.code, check.stdout).toBe(0);
    else expect(check.json?.['code']).toBe(1);

    const del = run(bin(), conf, { command: 'DEL' });
    expect(del.code, del.stdout).toBe(0);
    expect(del.stdout).toBe('');
    expect(leases(dir, 'mynet')).toEqual({});
    if (version >= '0.4.0') {
      const after = run(bin(), conf, { command: 'CHECK' });
      expect(after.json).toMatchObject({ msg: 'host-local: Failed to find address added by container dummy' });
    }
    // DEL again (and of something never added) succeeds.
    expect(run(bin(), conf, { command: 'DEL' }).code).toBe(0);
    expect(run(bin(), conf, { command: 'DEL', containerID: 'never-seen' }).code).toBe(0);
  });
});

describe('host-local allocation rules', () => {
  const v4 = (dir: string, ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    cniVersion: '1.0.0',
    name: 'mynet',
    type: 'bridge',
    ipam: { type: 'host-local', dataDir: dir, subnet: '10.1.2.0/24', ...ipam },
    ...extra,
  });
  const addrOf = (o: ReturnType<typeof run>): string => ((o.json?.['ips'] as { address: string }[])[0]!).address;

  it('one container on two interfaces gets two addresses; a repeat ADD is refused; the next container gets .3', () => {
    const dir = dataDir();
    expect(addrOf(run(bin(), v4(dir), { command: 'ADD', ifName: 'eth0' }))).toBe('10.1.2.2/24');
    expect(addrOf(run(bin(), v4(dir), { command: 'ADD', ifName: 'eth1' }))).toBe('10.1.2.3/24');
    const dup = run(bin(), v4(dir), { command: 'ADD', ifName: 'eth0' });
    expect(dup.code).toBe(1);
    expect(dup.json?.['msg']).toBe('failed to allocate for range 0: 10.1.2.2 has been allocated to dummy, duplicate allocation is not allowed');
    expect(addrOf(run(bin(), v4(dir), { command: 'ADD', containerID: 'other' }))).toBe('10.1.2.4/24');
    expect(leases(dir, 'mynet')).toEqual({
      '10.1.2.2': 'dummy\r\neth0',
      '10.1.2.3': 'dummy\r\neth1',
      '10.1.2.4': 'other\r\neth0',
    });
    // DEL releases only (cid, ifname).
    expect(run(bin(), v4(dir), { command: 'DEL', ifName: 'eth1' }).code).toBe(0);
    expect(Object.keys(leases(dir, 'mynet'))).toEqual(['10.1.2.2', '10.1.2.4']);
  });

  it('releases legacy files that hold only the container ID; ignores surrounding whitespace', () => {
    const dir = dataDir();
    fs.mkdirSync(path.join(dir, 'mynet'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'mynet', '10.1.2.9'), 'dummy');
    fs.writeFileSync(path.join(dir, 'mynet', '10.1.2.10'), '  other\r\neth0\n');
    // A legacy lease counts as a duplicate, and CHECK finds it.
    const dup = run(bin(), v4(dir), { command: 'ADD' });
    expect(dup.json?.['msg']).toContain('10.1.2.9 has been allocated to dummy');
    expect(run(bin(), v4(dir), { command: 'CHECK' }).code).toBe(0);
    expect(run(bin(), v4(dir), { command: 'CHECK', containerID: 'other' }).code).toBe(0);
    expect(run(bin(), v4(dir), { command: 'DEL' }).code).toBe(0);
    expect(run(bin(), v4(dir), { command: 'DEL', containerID: 'other' }).code).toBe(0);
    expect(leases(dir, 'mynet')).toEqual({});
  });

  it('gives requested addresses from args.cni.ips, runtimeConfig.ips and CNI_ARGS IP=', () => {
    const dir = dataDir();
    const conf = { ...dualConf('1.0.0', dir), args: { cni: { ips: ['10.1.2.88'] } }, runtimeConfig: { ips: ['2001:db8:1::99/64'] } };
    const add = run(bin(), conf, { command: 'ADD' });
    expect(add.json?.['ips']).toEqual([
      { address: '10.1.2.88/24', gateway: '10.1.2.1' },
      { address: '2001:db8:1::99/64', gateway: '2001:db8:1::1' },
    ]);
    expect(fs.readFileSync(path.join(dir, 'mynet', 'last_reserved_ip.0'), 'utf8')).toBe('10.1.2.88');
    const env = run(bin(), v4(dir), { command: 'ADD', containerID: 'c2', cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.1.2.77' });
    expect(addrOf(env)).toBe('10.1.2.77/24');
    // Requested in the second range of a set.
    const second = run(bin(), { ...dualConf('1.0.0', dir), args: { cni: { ips: ['10.2.2.50'] } } }, { command: 'ADD', containerID: 'c3' });
    expect((second.json?.['ips'] as { address: string }[])[0]!.address).toBe('10.2.2.50/24');
  });

  it('reports requested-address errors and releases what the ADD took', () => {
    const dir = dataDir();
    const conf = (ips: string[]) => ({ ...dualConf('1.0.0', dir), args: { cni: { ips } } });
    const outside = run(bin(), conf(['10.1.2.88', '10.9.9.9']), { command: 'ADD' });
    expect(outside.json).toMatchObject({ code: 7, msg: 'failed to allocate all requested IPs: 10.9.9.9' });
    expect(leases(dir, 'mynet')).toEqual({});
    const gw = run(bin(), conf(['10.1.2.1']), { command: 'ADD' });
    expect(gw.json).toMatchObject({ msg: "failed to allocate for range 0: requested ip 10.1.2.1 is subnet's gateway" });
    run(bin(), conf(['2001:db8:1::5']), { command: 'ADD', containerID: 'holder' });
    const taken = run(bin(), conf(['2001:db8:1::5']), { command: 'ADD' });
    expect(taken.json).toMatchObject({
      code: 11,
      msg: 'failed to allocate for range 1: requested IP address 2001:db8:1::5 is not available in range set 2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff',
    });
    // Round-robin went on after .88; the v4 address the failed ADD took for range 0 was released again.
    expect(leases(dir, 'mynet')).toEqual({ '10.1.2.89': 'holder\r\neth0', '2001:db8:1::5': 'holder\r\neth0' });
  });

  it('wraps around, never hands out the gateway or broadcast, and reports exhaustion', () => {
    const dir = dataDir();
    const conf = v4(dir, { subnet: '10.1.2.0/29' });
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push(addrOf(run(bin(), conf, { command: 'ADD', containerID: `c${i}` })));
    expect(got).toEqual(['10.1.2.2/29', '10.1.2.3/29', '10.1.2.4/29', '10.1.2.5/29', '10.1.2.6/29']);
    const full = run(bin(), conf, { command: 'ADD', containerID: 'c9' });
    expect(full.json).toMatchObject({ code: 11, msg: 'failed to allocate for range 0: no IP addresses available in range set: 10.1.2.1-10.1.2.6' });
    run(bin(), conf, { command: 'DEL', containerID: 'c1' });
    expect(addrOf(run(bin(), conf, { command: 'ADD', containerID: 'c9' }))).toBe('10.1.2.3/29');
  });

  it('rolls back the first range set when the second is exhausted', () => {
    const dir = dataDir();
    const conf = {
      cniVersion: '1.0.0',
      name: 'mynet',
    type: 'bridge',
      ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.3.0/30' }]] },
    };
    expect(run(bin(), conf, { command: 'ADD', containerID: 'a' }).code).toBe(0);
    const b = run(bin(), conf, { command: 'ADD', containerID: 'b' });
    expect(b.json?.['msg']).toBe('failed to allocate for range 1: no IP addresses available in range set: 10.1.3.1-10.1.3.2');
    expect(leases(dir, 'mynet')).toEqual({ '10.1.2.2': 'a\r\neth0', '10.1.3.2': 'a\r\neth0' });
  });

  it('puts resolvConf into dns', () => {
    const dir = dataDir();
    const rc = path.join(dir, 'resolv.conf');
    fs.writeFileSync(rc, 'nameserver 10.53.0.1\nnameserver 10.53.0.2\ndomain example.test\nsearch a.test b.test\noptions ndots:2\n');
    const add = run(bin(), v4(dir, { resolvConf: rc }), { command: 'ADD' });
    expect(add.json?.['dns']).toEqual({
      nameservers: ['10.53.0.1', '10.53.0.2'],
      domain: 'example.test',
      search: ['a.test', 'b.test'],
      options: ['ndots:2'],
    });
  });

  it('refuses more than one address per family below 0.3.0, on ADD and DEL', () => {
    const dir = dataDir();
    for (const version of ['0.1.0', '0.2.0']) {
      const conf = {
        cniVersion: version,
        name: 'mynet',
    type: 'bridge',
        ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.3.0/24' }]] },
      };
      for (const command of ['ADD', 'DEL'] as const) {
        const o = run(bin(), conf, { command });
        expect(o.json).toEqual({ code: 7, msg: `CNI version ${version} does not support more than 1 address per family` });
      }
    }
    expect(leases(dir, 'mynet')).toEqual({});
  });

  it('reports config errors with code 7 and the reference wording', () => {
    const dir = dataDir();
    expect(run(bin(), v4(dir, { subnet: '10.1.2.3/24' }), { command: 'ADD' }).json).toEqual({
      code: 7,
      msg: 'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.1.2.0',
      details: 'in ipam',
    });
    expect(run(bin(), { cniVersion: '1.0.0', name: 'mynet', type: 'bridge' }, { command: 'ADD' }).json).toEqual({
      code: 7,
      msg: "IPAM config missing 'ipam' key",
    });
    const badArgs = run(bin(), v4(dir), { command: 'ADD', cniArgs: 'FOO=bar' });
    expect(badArgs.json).toMatchObject({ code: 4, msg: 'ARGS: unknown args ["FOO=bar"]' });
  });

  it('never writes outside dataDir for hostile names', () => {
    const dir = dataDir();
    const inner = path.join(dir, 'inner');
    fs.mkdirSync(inner);
    const badNet = run(bin(), { ...v4(inner), name: '../escape' }, { command: 'ADD' });
    expect(badNet.code).toBe(1);
    expect(badNet.json?.['code']).toBe(7);
    const badID = run(bin(), v4(inner), { command: 'ADD', containerID: 'a/../../b' });
    expect(badID.code).toBe(1);
    expect(badID.json?.['code']).toBe(4);
    const badIf = run(bin(), v4(inner), { command: 'ADD', ifName: '../x' });
    expect(badIf.json?.['code']).toBe(4);
    expect(fs.readdirSync(dir)).toEqual(['inner']);
    expect(fs.readdirSync(inner)).toEqual([]);
  });
});

describe('host-local GC and STATUS (CNI 1.1)', () => {
  const conf = (dir: string, extra: Record<string, unknown> = {}) => ({
    cniVersion: '1.1.0',
    name: 'mynet',
    type: 'bridge',
    ipam: { type: 'host-local', dataDir: dir, subnet: '10.1.2.0/29' },
    ...extra,
  });

  it('GC releases attachments not listed, keeps lock, cursors and legacy leases of listed containers', () => {
    const dir = dataDir();
    for (const [cid, ifn] of [['keep', 'eth0'], ['keep', 'eth1'], ['gone', 'eth0']] as const) {
      expect(run(bin(), conf(dir), { command: 'ADD', containerID: cid, ifName: ifn }).code).toBe(0);
    }
    fs.writeFileSync(path.join(dir, 'mynet', '10.1.2.6'), 'keep');
    fs.writeFileSync(path.join(dir, 'mynet', '10.1.2.5'), 'stale-legacy');
    const gc = run(bin(), conf(dir, { 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }), { command: 'GC' });
    expect(gc.code, gc.stdout).toBe(0);
    expect(leaseFiles(dir, 'mynet')).toEqual({
      '10.1.2.2': 'keep\r\neth0',
      '10.1.2.6': 'keep',
      'last_reserved_ip.0': '10.1.2.4',
      lock: '',
    });
    // The released addresses are usable again, and the survivor still counts as a duplicate.
    expect(run(bin(), conf(dir), { command: 'ADD', containerID: 'keep' }).json?.['msg']).toContain('duplicate allocation');
    expect(run(bin(), conf(dir), { command: 'ADD', containerID: 'new' }).code).toBe(0);
  });

  it('GC with an empty list releases everything', () => {
    const dir = dataDir();
    run(bin(), conf(dir), { command: 'ADD', containerID: 'a' });
    run(bin(), conf(dir), { command: 'ADD', containerID: 'b' });
    expect(run(bin(), conf(dir, { 'cni.dev/valid-attachments': [] }), { command: 'GC' }).code).toBe(0);
    expect(leases(dir, 'mynet')).toEqual({});
    expect(Object.keys(leaseFiles(dir, 'mynet'))).toEqual(['last_reserved_ip.0', 'lock']);
  });

  it('STATUS is ready, then not available (50) when a range set is exhausted', () => {
    const dir = dataDir();
    const c = { ...conf(dir), ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.1.2.0/30' }], [{ subnet: '2001:db8:5::/64' }]] } };
    expect(run(bin(), c, { command: 'STATUS' }).code).toBe(0);
    expect(run(bin(), c, { command: 'ADD', containerID: 'a' }).code).toBe(0);
    const st = run(bin(), c, { command: 'STATUS' });
    expect(st.json).toEqual({
      code: 50,
      msg: 'host-local: network mynet cannot allocate: range set 0 (IPv4 10.1.2.1-10.1.2.2) has no free address',
    });
    run(bin(), c, { command: 'DEL', containerID: 'a' });
    expect(run(bin(), c, { command: 'STATUS' }).code).toBe(0);
  });

  it('STATUS is not available (50) when the store cannot be written', () => {
    const dir = dataDir();
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro);
    const mount = (args: string[]) => spawnSync('mount', args, { encoding: 'utf8' });
    expect(mount(['-t', 'tmpfs', '-o', 'size=1m,ro', 'tscni-ipam-ro', ro]).status).toBe(0);
    try {
      const st = run(bin(), conf(ro), { command: 'STATUS' });
      expect(st.json?.['code']).toBe(50);
      expect(st.json?.['msg']).toBe(`host-local: the lease store ${path.join(ro, 'mynet')} cannot be written`);
    } finally {
      spawnSync('umount', [ro]);
    }
  });
});
