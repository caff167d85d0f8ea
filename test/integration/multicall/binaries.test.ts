// The built executables as a runtime and a person meet them: one name per plugin, VERSION, the
// about text, and a clear spec error from names whose implementation has not landed yet.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DIST_BIN, ROOT, runPlugin } from '../../helpers/plugin.js';

const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
// Plugins whose reference supports fewer versions (firewall 0.4.0+, bandwidth 0.3.0+, vrf 0.3.1+).
const VERSIONS_OF: Record<string, string[]> = {
  firewall: ALL_VERSIONS.slice(ALL_VERSIONS.indexOf('0.4.0')),
  bandwidth: ALL_VERSIONS.slice(ALL_VERSIONS.indexOf('0.3.0')),
  vrf: ALL_VERSIONS.slice(ALL_VERSIONS.indexOf('0.3.1')),
};
const EXPECTED_NAMES = [
  'bridge', 'ptp', 'macvlan', 'ipvlan', 'vlan', 'host-device', 'tap', 'dummy', 'loopback',
  'host-local', 'dhcp', 'static', 'cluster-ipam', 'portmap', 'firewall', 'tuning', 'bandwidth', 'sbr', 'vrf', 'flannel',
];

describe('dist/bin', () => {
  it('has one executable per plugin name, all hard links to one multi-call binary', () => {
    const names = fs.readdirSync(DIST_BIN).sort();
    expect(names).toEqual([...EXPECTED_NAMES].sort());
    const ino = fs.statSync(path.join(ROOT, 'dist/tscni')).ino;
    for (const n of names) {
      const st = fs.statSync(path.join(DIST_BIN, n));
      expect(st.ino).toBe(ino);
      expect(st.mode & 0o111).not.toBe(0);
    }
  });

  const versionsOf = (name: string): string[] => VERSIONS_OF[name] ?? ALL_VERSIONS;
  for (const name of EXPECTED_NAMES) {
    it(`${name}: VERSION lists ${versionsOf(name)[0]} through 1.1.0`, () => {
      const r = runPlugin(name, { CNI_COMMAND: 'VERSION' }, '{}');
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.json).toEqual({ cniVersion: '1.1.0', supportedVersions: versionsOf(name) });
    });
  }

  it('without CNI_COMMAND prints the description, version and spec versions on stderr, nothing on stdout', () => {
    const r = spawnSync(path.join(DIST_BIN, 'loopback'), [], { env: { PATH: process.env.PATH }, encoding: 'utf8', input: '' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/loopback/);
    expect(r.stderr).toMatch(/\d+\.\d+\.\d+/);
    expect(r.stderr).toContain('1.1.0');
  });

  it('a copy of one name elsewhere still runs on its own', () => {
    const dir = fs.mkdtempSync('/tmp/tscni-copy-');
    try {
      const copy = path.join(dir, 'loopback');
      fs.copyFileSync(path.join(DIST_BIN, 'loopback'), copy);
      fs.chmodSync(copy, 0o755);
      const r = runPlugin(copy, { CNI_COMMAND: 'VERSION' }, '{}');
      expect(r.status).toBe(0);
      expect(r.json).toMatchObject({ supportedVersions: ALL_VERSIONS });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown CNI_COMMAND is code 4', () => {
    const r = runPlugin('loopback', { CNI_COMMAND: 'FROB' }, '{}');
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ code: 4 });
  });

  it('bad JSON on stdin is code 6, without a stack trace on stdout', () => {
    const r = runPlugin('loopback', { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/x' }, '{nope');
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ code: 6 });
    expect(r.stdout).not.toMatch(/\n\s+at /);
  });
});
