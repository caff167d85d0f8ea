// `tscni install DIR` and scripts/install.sh into temporary directories: one copy of the executable,
// a link per plugin name (hard links, or symlinks where link() is refused), atomic and idempotent
// replacement of our own files, refusal of files that are not ours unless --force. Checked with
// stat/du/readlink and by running the installed plugins, never with tscni's own code.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIST_BIN, REF_BIN, ROOT, runPlugin } from '../../helpers/plugin.js';

const TSCNI = path.join(ROOT, 'dist/tscni');
const PLUGIN_NAMES = fs.readdirSync(DIST_BIN).sort();
const ALL_NAMES = [...PLUGIN_NAMES, 'tscni'].sort();
const EXE_SIZE = fs.statSync(TSCNI).size;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(tag: string): string {
  const d = fs.mkdtempSync(`/tmp/in-${tag}-`);
  dirs.push(d);
  return d;
}

interface InstallReport {
  executable: { path: string; action: string; bytes: number };
  links: { name: string; kind: 'hardlink' | 'symlink'; action: string; replacedForeign?: boolean }[];
}
function install(args: string[], wrap: string[] = []): { status: number; stderr: string; report?: InstallReport } {
  const argv = [...wrap, TSCNI, 'install', '--json', ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  const report = r.status === 0 ? (JSON.parse(r.stdout) as InstallReport) : undefined;
  return { status: r.status ?? -1, stderr: r.stderr, ...(report ? { report } : {}) };
}

const inode = (p: string): number => fs.statSync(p).ino;
/** Disk blocks the directory takes, hard links counted once (GNU du). */
const diskBytes = (dir: string): number => Number(execFileSync('du', ['-s', '-B1', dir], { encoding: 'utf8' }).split('\t')[0]);
const answersVersion = (file: string): unknown => runPlugin(file, { CNI_COMMAND: 'VERSION' }, '{}').json;

/** The layout scripts/install.sh made before `tscni install`: no DIR/tscni, every name a hard link to one file. */
function oldLayout(dir: string, executable: Buffer): void {
  const first = path.join(dir, PLUGIN_NAMES[0]!);
  fs.writeFileSync(first, executable, { mode: 0o755 });
  for (const n of PLUGIN_NAMES.slice(1)) fs.linkSync(first, path.join(dir, n));
}

describe('tscni install', () => {
  it('puts one copy and a hard link per plugin name, taking the disk space of one executable', () => {
    const dir = tempDir('one');
    const r = install([dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(ALL_NAMES); // no temporaries left
    const ino = inode(path.join(dir, 'tscni'));
    for (const n of PLUGIN_NAMES) {
      expect(fs.lstatSync(path.join(dir, n)).isFile()).toBe(true);
      expect(inode(path.join(dir, n)), n).toBe(ino);
    }
    expect(fs.statSync(path.join(dir, 'tscni')).nlink).toBe(ALL_NAMES.length);
    expect(fs.statSync(path.join(dir, 'tscni')).mode & 0o777).toBe(0o755);
    expect(diskBytes(dir)).toBeLessThan(EXE_SIZE * 1.1);
    expect(r.report!.links.map((l) => [l.kind, l.action])).toEqual(PLUGIN_NAMES.map(() => ['hardlink', 'created']));
    for (const n of ['bridge', 'host-local', 'portmap']) {
      expect(answersVersion(path.join(dir, n))).toMatchObject({ cniVersion: '1.1.0' });
    }
  });

  it('is idempotent: a second run keeps the same copy and links, and writes nothing', () => {
    const dir = tempDir('again');
    expect(install([dir]).status).toBe(0);
    const ino = inode(path.join(dir, 'tscni'));
    const mtime = fs.statSync(path.join(dir, 'tscni')).mtimeMs;
    const r = install([dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.report!.executable.action).toBe('unchanged');
    expect(new Set(r.report!.links.map((l) => l.action))).toEqual(new Set(['unchanged']));
    expect(fs.readdirSync(dir).sort()).toEqual(ALL_NAMES);
    for (const n of ALL_NAMES) expect(inode(path.join(dir, n))).toBe(ino);
    expect(fs.statSync(path.join(dir, 'tscni')).mtimeMs).toBe(mtime);
  });

  it('replaces an older tscni install (no marker, old layout) with one new copy', () => {
    const dir = tempDir('old');
    // An earlier build: same program without the identity marker (its bytes overwritten in place,
    // so only the dispatcher text identifies it), laid out as the old install.sh did.
    const old = fs.readFileSync(TSCNI);
    const marker = Buffer.from('tscni-multi-call-executable:v1');
    let found = 0;
    for (let at = old.indexOf(marker); at >= 0; at = old.indexOf(marker, at), found++) old.fill('x', at, at + marker.length);
    expect(found).toBeGreaterThan(0);
    oldLayout(dir, old);
    const oldIno = inode(path.join(dir, 'bridge'));
    // Temporaries of an install that died (its pid is gone): removed once old, kept while recent
    // (the writer may live in another PID namespace).
    const isAlive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    let deadPid = 4_000_000;
    while (isAlive(deadPid)) deadPid++;
    const stale = path.join(dir, `.tscni-install.${deadPid}.bridge`);
    const recent = path.join(dir, `.tscni-install.${deadPid}.ptp`);
    fs.writeFileSync(stale, 'partial');
    fs.utimesSync(stale, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    fs.writeFileSync(recent, 'partial');
    const r = install([dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(recent), ...ALL_NAMES].sort());
    fs.rmSync(recent);
    expect(r.report!.links.every((l) => l.action === 'replaced' && !l.replacedForeign)).toBe(true);
    const ino = inode(path.join(dir, 'tscni'));
    expect(ino).not.toBe(oldIno);
    for (const n of PLUGIN_NAMES) expect(inode(path.join(dir, n))).toBe(ino);
    expect(diskBytes(dir)).toBeLessThan(EXE_SIZE * 1.1); // the old copy is gone with its last link
  });

  it('refuses a file that is not tscni (the Go bridge), changing nothing, and replaces it with --force', () => {
    const dir = tempDir('foreign');
    fs.copyFileSync(path.join(REF_BIN, 'bridge'), path.join(dir, 'bridge'));
    const goIno = inode(path.join(dir, 'bridge'));
    const refused = install([dir]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(path.join(dir, 'bridge'));
    expect(refused.stderr).toContain('--force');
    expect(refused.stderr).not.toContain(path.join(dir, 'ptp'));
    expect(fs.readdirSync(dir)).toEqual(['bridge']); // nothing installed, nothing removed
    expect(inode(path.join(dir, 'bridge'))).toBe(goIno);

    const forced = install(['--force', dir]);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.report!.links.find((l) => l.name === 'bridge')).toMatchObject({ action: 'replaced', replacedForeign: true });
    expect(inode(path.join(dir, 'bridge'))).toBe(inode(path.join(dir, 'tscni')));
    expect(answersVersion(path.join(dir, 'bridge'))).toMatchObject({ cniVersion: '1.1.0' });
  });

  it('refuses a foreign symlink, and a directory even with --force', () => {
    const dir = tempDir('links');
    fs.symlinkSync(path.join(REF_BIN, 'ptp'), path.join(dir, 'ptp'));
    fs.mkdirSync(path.join(dir, 'vrf'));
    expect(install([dir]).stderr).toContain(path.join(dir, 'ptp'));
    const r = install(['--force', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(path.join(dir, 'vrf'));
    expect(fs.readlinkSync(path.join(dir, 'ptp'))).toBe(path.join(REF_BIN, 'ptp'));
  });

  it('falls back to symlinks where the filesystem refuses hard links', () => {
    // link() is made to fail the way the kernel does on a filesystem without hard links (EXDEV/EPERM):
    // strace's fault injection, on the real binary, with no test hook inside tscni.
    const dir = tempDir('sym');
    const r = install([dir], ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=link,linkat', '-e', 'inject=link,linkat:error=EXDEV']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(ALL_NAMES);
    expect(fs.lstatSync(path.join(dir, 'tscni')).isFile()).toBe(true);
    for (const n of PLUGIN_NAMES) expect(fs.readlinkSync(path.join(dir, n)), n).toBe('tscni');
    expect(diskBytes(dir)).toBeLessThan(EXE_SIZE * 1.1);
    // A plugin started through its symlink is picked by the link's name.
    expect(answersVersion(path.join(dir, 'ptp'))).toMatchObject({ cniVersion: '1.1.0' });
    expect(answersVersion(path.join(dir, 'host-local'))).toMatchObject({ cniVersion: '1.1.0' });
    // Re-running (now with working hard links) keeps the symlinks, which already point at the copy.
    const again = install([dir]);
    expect(again.status, again.stderr).toBe(0);
    expect(new Set(again.report!.links.map((l) => `${l.kind}/${l.action}`))).toEqual(new Set(['symlink/unchanged']));
  });

  it('rejects an unknown option with a usage error', () => {
    const r = spawnSync(TSCNI, ['install', '--frob'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--frob');
  });
});

describe('scripts/install.sh', () => {
  const script = path.join(ROOT, 'scripts/install.sh');

  it('installs through tscni install and puts tscni on the PATH as a symlink to the one copy', () => {
    const dest = tempDir('sh');
    const bindir = tempDir('path');
    for (let i = 0; i < 2; i++) {
      const r = spawnSync('bash', [script, '--path-dir', bindir, dest], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(fs.readdirSync(dest).sort()).toEqual(ALL_NAMES);
    expect(new Set(ALL_NAMES.map((n) => inode(path.join(dest, n)))).size).toBe(1);
    expect(fs.readdirSync(bindir)).toEqual(['tscni']);
    expect(fs.readlinkSync(path.join(bindir, 'tscni'))).toBe(path.join(fs.realpathSync(dest), 'tscni'));
    const help = spawnSync(path.join(bindir, 'tscni'), ['install', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: tscni install');
    expect(answersVersion(path.join(dest, 'bridge'))).toMatchObject({ cniVersion: '1.1.0' });
  });

  it('passes a refusal through, and --force on', () => {
    const dest = tempDir('shf');
    fs.copyFileSync(path.join(REF_BIN, 'tuning'), path.join(dest, 'tuning'));
    const refused = spawnSync('bash', [script, '--no-path', dest], { encoding: 'utf8' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(path.join(dest, 'tuning'));
    const forced = spawnSync('bash', [script, '--no-path', '--force', dest], { encoding: 'utf8' });
    expect(forced.status, forced.stderr).toBe(0);
    expect(inode(path.join(dest, 'tuning'))).toBe(inode(path.join(dest, 'tscni')));
  });

  it('--systemd installs the dhcp units, pointed at the install directory', () => {
    const dest = tempDir('sd');
    const units = tempDir('units');
    const r = spawnSync('bash', [script, '--systemd', '--no-path', dest], {
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
    const r = spawnSync('bash', [script, '--frob'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--frob');
  });
});
