// scripts/install.sh into a temporary directory: one executable, a hard link per plugin name, and
// the dhcp units pointed at that directory when asked.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIST_BIN, ROOT, runPlugin } from '../../helpers/plugin.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('scripts/install.sh', () => {
  it('installs every plugin name as a hard link to one executable, and replaces an older install', () => {
    const dest = fs.mkdtempSync('/tmp/tscni-install-');
    dirs.push(dest);
    fs.writeFileSync(path.join(dest, 'bridge'), 'old binary');
    for (let i = 0; i < 2; i++) {
      const r = spawnSync('bash', [path.join(ROOT, 'scripts/install.sh'), dest], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    const names = fs.readdirSync(dest).sort();
    expect(names).toEqual(fs.readdirSync(DIST_BIN).sort()); // no temporary files left behind
    const inodes = new Set(names.map((n) => fs.statSync(path.join(dest, n)).ino));
    expect(inodes.size).toBe(1);
    expect(runPlugin(path.join(dest, 'bridge'), { CNI_COMMAND: 'VERSION' }, '{}').json).toMatchObject({ cniVersion: '1.1.0' });
  });

  it('--systemd installs the dhcp units, pointed at the install directory', () => {
    const dest = fs.mkdtempSync('/tmp/tscni-install-');
    const units = fs.mkdtempSync('/tmp/tscni-units-');
    dirs.push(dest, units);
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/install.sh'), '--systemd', dest], {
      encoding: 'utf8',
      env: { ...process.env, TSCNI_SYSTEMD_UNIT_DIR: units },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(units).sort()).toEqual(['cni-dhcp.service', 'cni-dhcp.socket']);
    const service = fs.readFileSync(path.join(units, 'cni-dhcp.service'), 'utf8');
    expect(service).toContain(`ExecStart=${dest}/dhcp daemon `);
    expect(fs.readFileSync(path.join(units, 'cni-dhcp.socket'), 'utf8')).toContain('ListenStream=/run/cni/dhcp.sock');
  });

  it('refuses an unknown option', () => {
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/install.sh'), '--frob'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--frob');
  });
});
