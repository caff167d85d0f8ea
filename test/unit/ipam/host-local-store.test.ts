// The disk store and its owner index against a real temp directory (no plugin process).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIP, parseIP } from '../../../shared/ip/index.js';
import { DiskStore } from '../../../ipam/host-local/disk-store.js';
import { INDEX_ROOT, keyOfContent, shardOf } from '../../../ipam/host-local/owner-index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-ipam-unit-'));
  dirs.push(d);
  return d;
}
function withStore<T>(dir: string, fn: (s: DiskStore) => T): T {
  const s = DiskStore.open(dir, 'net1', 1);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

describe('owner keys', () => {
  it('indexes full and legacy owners, skips what no valid attachment can match', () => {
    expect(keyOfContent('cid\r\neth0')).toBe('cid:eth0');
    expect(keyOfContent('  cid \n')).toBe('cid');
    expect(keyOfContent('')).toBeUndefined();
    expect(keyOfContent('../x\r\neth0')).toBeUndefined();
    expect(keyOfContent('cid\r\nbad/if')).toBeUndefined();
    expect(shardOf('cid:eth0')).toMatch(/^[0-9a-f]{2}$/);
    // One container's full and legacy keys share a shard: one shard read answers both lookups.
    expect(shardOf('cid:eth0')).toBe(shardOf('cid'));
    expect(shardOf('cid:eth1')).toBe(shardOf('cid'));
  });
});

describe('DiskStore with owner index', () => {
  it('writes the reference format and finds leases through the index', () => {
    const dir = tmp();
    withStore(dir, (s) => {
      expect(s.reserve('c1', 'eth0', parseIP('10.5.0.2')!, '0')).toBe(true);
      expect(s.reserve('c2', 'eth0', parseIP('10.5.0.2')!, '0')).toBe(false);
    });
    expect(fs.readFileSync(path.join(dir, 'net1', '10.5.0.2'), 'utf8')).toBe('c1\r\neth0');
    expect(fs.existsSync(path.join(dir, INDEX_ROOT, 'net1', 'state'))).toBe(true);
    withStore(dir, (s) => {
      expect(s.getByID('c1', 'eth0').map(formatIP)).toEqual(['10.5.0.2']);
      expect(s.findByID('c1', 'eth1')).toBe(false);
    });
  });

  it('notices leases written behind its back (as the Go plugin does) and rebuilds', () => {
    const dir = tmp();
    withStore(dir, (s) => s.reserve('c1', 'eth0', parseIP('10.5.0.2')!, '0'));
    fs.writeFileSync(path.join(dir, 'net1', '10.5.0.3'), 'go1\r\neth0', { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'net1', 'last_reserved_ip.0'), '10.5.0.3');
    withStore(dir, (s) => expect(s.getByID('go1', 'eth0').map(formatIP)).toEqual(['10.5.0.3']));
    // A removal behind its back: the stale hint is checked against the file and dropped.
    fs.rmSync(path.join(dir, 'net1', '10.5.0.2'));
    withStore(dir, (s) => expect(s.findByID('c1', 'eth0')).toBe(false));
  });

  it('rebuilds when only a cursor changed (coarse timestamps) and when the state is missing', () => {
    const dir = tmp();
    withStore(dir, (s) => s.reserve('c1', 'eth0', parseIP('10.5.0.2')!, '0'));
    fs.writeFileSync(path.join(dir, 'net1', 'last_reserved_ip.0'), '10.5.0.9');
    withStore(dir, (s) => expect(s.lastReservedIP('0') && formatIP(s.lastReservedIP('0')!)).toBe('10.5.0.9'));
    fs.rmSync(path.join(dir, INDEX_ROOT), { recursive: true });
    withStore(dir, (s) => expect(s.findByID('c1', 'eth0')).toBe(true));
  });

  it('a shard cut short while being written (empty or not JSON) means a rebuild, not "no leases"', () => {
    const dir = tmp();
    withStore(dir, (s) => s.reserve('c1', 'eth0', parseIP('10.5.0.2')!, '0'));
    const shard = path.join(dir, INDEX_ROOT, 'net1', 'owners', shardOf('c1'));
    expect(JSON.parse(fs.readFileSync(shard, 'utf8'))).toEqual({ 'c1:eth0': ['10.5.0.2'] });
    for (const damage of ['', '{"c1:eth0":["10.5']) {
      fs.writeFileSync(shard, damage);
      withStore(dir, (s) => expect(s.getByID('c1', 'eth0').map(formatIP)).toEqual(['10.5.0.2']));
      // The rebuild rewrote the shard.
      expect(JSON.parse(fs.readFileSync(shard, 'utf8'))).toEqual({ 'c1:eth0': ['10.5.0.2'] });
    }
  });

  it('DEL of the last lease of a shard removes the shard file; the lease directory holds only the reference files', () => {
    const dir = tmp();
    withStore(dir, (s) => s.reserve('c1', 'eth0', parseIP('10.5.0.2')!, '0'));
    withStore(dir, (s) => s.releaseByID('c1', 'eth0'));
    expect(fs.existsSync(path.join(dir, INDEX_ROOT, 'net1', 'owners', shardOf('c1')))).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'net1')).sort()).toEqual(['last_reserved_ip.0', 'lock']);
    expect(fs.statSync(path.join(dir, 'net1', 'lock')).mode & 0o777).toBe(0o750);
    withStore(dir, (s) => expect(s.findByID('c1', 'eth0')).toBe(false));
  });

  it('GC keeps unreadable-shape leases and releases empty ones', () => {
    const dir = tmp();
    withStore(dir, (s) => s.reserve('c1', 'eth0', parseIP('10.5.0.2')!, '0'));
    fs.writeFileSync(path.join(dir, 'net1', '10.5.0.7'), 'not a valid owner!');
    fs.writeFileSync(path.join(dir, 'net1', '10.5.0.8'), '');
    const report = withStore(dir, (s) => s.gc([]));
    expect(report.released.sort()).toEqual(['10.5.0.2', '10.5.0.8']);
    expect(report.kept).toEqual(['10.5.0.7']);
  });
});
