// loopback through its built binary, against fresh network namespaces, checked with `ip -j`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson, netnsPath, removeAllNetns } from '../../helpers/netns.js';
import { DIST_BIN, runPlugin, type CniEnv } from '../../helpers/plugin.js';

interface IpLink { ifname: string; flags: string[]; operstate: string }
interface IpAddrInfo { family: string; local: string; prefixlen: number }
interface IpAddr { ifname: string; addr_info: IpAddrInfo[] }

const loIsUp = (ns: string): boolean => ipJson<IpLink[]>(['link', 'show', 'lo'], ns)[0]!.flags.includes('UP');

function env(command: string, ns: string, extra: Partial<CniEnv> = {}): CniEnv {
  return { CNI_COMMAND: command, CNI_CONTAINERID: 'ctr-1', CNI_NETNS: netnsPath(ns), CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent', ...extra };
}

const conf = (cniVersion: string): Record<string, unknown> => ({ cniVersion, name: 'lo-test', type: 'loopback' });

afterEach(() => removeAllNetns());

describe('loopback', () => {
  for (const version of ['0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
    it(`ADD/CHECK/DEL at ${version}: lo up with 127.0.0.1/8 and ::1/128, then down`, () => {
      const ns = createNetns('tscni-lo');
      expect(loIsUp(ns)).toBe(false);

      const add = runPlugin('loopback', env('ADD', ns), conf(version));
      expect(add.stderr).toBe('');
      expect(add.status).toBe(0);
      expect(add.json).toEqual({
        cniVersion: version,
        interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: netnsPath(ns) }],
        ips: [
          { ...(version.startsWith('0.') ? { version: '4' } : {}), interface: 0, address: '127.0.0.1/8' },
          { ...(version.startsWith('0.') ? { version: '6' } : {}), interface: 0, address: '::1/128' },
        ],
        ...(version.startsWith('0.') ? { dns: {} } : {}),
      });
      expect(loIsUp(ns)).toBe(true);
      const addrs = ipJson<IpAddr[]>(['addr', 'show', 'lo'], ns)[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
      expect(addrs).toEqual(expect.arrayContaining(['127.0.0.1/8', '::1/128']));

      if (version !== '0.3.1') {
        const check = runPlugin('loopback', env('CHECK', ns), { ...conf(version), prevResult: add.json });
        expect(check.stdout).toBe('');
        expect(check.status).toBe(0);
      }

      const del = runPlugin('loopback', env('DEL', ns), conf(version));
      expect(del.stdout).toBe('');
      expect(del.status).toBe(0);
      expect(loIsUp(ns)).toBe(false);

      // CHECK now fails: lo is down.
      if (version !== '0.3.1') {
        const check = runPlugin('loopback', env('CHECK', ns), { ...conf(version), prevResult: add.json });
        expect(check.status).not.toBe(0);
        expect(check.json).toMatchObject({ code: expect.any(Number), msg: expect.stringContaining('lo') });
      }
    });
  }

  it('0.2.0 result is converted to the ip4/ip6 shape', () => {
    const ns = createNetns('tscni-lo');
    const add = runPlugin('loopback', env('ADD', ns), conf('0.2.0'));
    expect(add.status).toBe(0);
    expect(add.json).toEqual({ cniVersion: '0.2.0', ip4: { ip: '127.0.0.1/8' }, ip6: { ip: '::1/128' }, dns: {} });
  });

  it('ADD passes a prevResult through unchanged', () => {
    const ns = createNetns('tscni-lo');
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: netnsPath(ns) }], ips: [{ interface: 0, address: '10.61.0.5/24' }] };
    const add = runPlugin('loopback', env('ADD', ns), { ...conf('1.0.0'), prevResult });
    expect(add.status).toBe(0);
    expect(add.json).toEqual(prevResult);
    expect(loIsUp(ns)).toBe(true);
  });

  it('DEL succeeds when the netns is gone, and when repeated', () => {
    const gone = runPlugin('loopback', env('DEL', 'tscni-lo-does-not-exist'), conf('1.1.0'));
    expect(gone.status).toBe(0);
    expect(gone.stdout).toBe('');
    const noNetns = runPlugin('loopback', env('DEL', 'x', { CNI_NETNS: '' }), conf('1.1.0'));
    expect(noNetns.status).toBe(0);
    const ns = createNetns('tscni-lo');
    for (let i = 0; i < 2; i++) expect(runPlugin('loopback', env('DEL', ns), conf('1.1.0')).status).toBe(0);
  });

  it('ADD into a missing netns is a spec error, not a crash', () => {
    const add = runPlugin('loopback', env('ADD', 'tscni-lo-does-not-exist'), conf('1.1.0'));
    expect(add.status).toBe(1);
    expect(add.json).toMatchObject({ code: expect.any(Number), msg: expect.stringContaining('tscni-lo-does-not-exist') });
    expect(add.stdout).not.toMatch(/\n\s+at /); // no stack trace on stdout
  });

  it('ADD into a path that is not a network namespace is code 8', () => {
    const add = runPlugin('loopback', env('ADD', 'x', { CNI_NETNS: '/etc/hostname' }), conf('1.1.0'));
    expect(add.status).toBe(1);
    expect(add.json).toMatchObject({ code: 8 });
  });

  it('spawns no process: netlink and netns entry are in-process (strace sees one execve, threads only)', () => {
    const ns = createNetns('tscni-lo');
    const trace = path.join(fs.mkdtempSync('/tmp/tscni-lo-strace-'), 'trace');
    try {
      const res = spawnSync('strace', ['-f', '-qq', '-e', 'trace=execve,clone,clone3,fork,vfork', '-o', trace, path.join(DIST_BIN, 'loopback')], {
        env: { PATH: process.env.PATH, ...env('ADD', ns) },
        input: JSON.stringify(conf('1.1.0')),
        encoding: 'utf8',
      });
      expect(res.status).toBe(0);
      const lines = fs.readFileSync(trace, 'utf8').split('\n').filter(Boolean);
      expect(lines.filter((l) => l.includes('execve(')).length).toBe(1);
      const clones = lines.filter((l) => /\b(clone3?|v?fork)\(/.test(l));
      expect(clones.length).toBeGreaterThan(0); // strace really traced the process (Node starts threads)
      for (const c of clones) expect(c).toContain('CLONE_THREAD');
      expect(loIsUp(ns)).toBe(true);
    } finally {
      fs.rmSync(path.dirname(trace), { recursive: true, force: true });
    }
  });
});
