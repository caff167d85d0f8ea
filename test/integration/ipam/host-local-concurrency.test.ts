// Many processes on one network at once: flock on <dataDir>/<net>/lock keeps every address unique
// and every file accounted for.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseFiles, leases, ourBin, runAsync, tempDataDir } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const N = 50;

describe('host-local under concurrency', () => {
  it(`${N} parallel ADDs then ${N} parallel DELs leave exactly the expected files`, async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const conf = {
      cniVersion: '1.1.0',
      name: 'busynet',
      type: 'bridge',
      ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.66.0.0/24' }], [{ subnet: '2001:db8:66::/64' }]] },
    };
    const bin = ourBin('host-local');
    const adds = await Promise.all(Array.from({ length: N }, (_, i) => runAsync(bin, conf, { command: 'ADD', containerID: `c${i}` })));
    const seen = new Map<string, string>();
    adds.forEach((r, i) => {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      for (const ip of r.json?.['ips'] as { address: string }[]) {
        const addr = ip.address.split('/')[0]!;
        expect(seen.has(addr), `${addr} handed out twice`).toBe(false);
        seen.set(addr, `c${i}\r\neth0`);
      }
    });
    expect(seen.size).toBe(2 * N);
    // Every printed address is on disk with its owner, and nothing else is.
    expect(leases(dir, 'busynet')).toEqual(Object.fromEntries([...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    // The v4 addresses are exactly .2 .. .51 (round-robin, no gaps, no gateway).
    const v4 = [...seen.keys()].filter((a) => !a.includes(':')).map((a) => Number(a.split('.')[3])).sort((a, b) => a - b);
    expect(v4).toEqual(Array.from({ length: N }, (_, i) => i + 2));

    const dels = await Promise.all(Array.from({ length: N }, (_, i) => runAsync(bin, conf, { command: 'DEL', containerID: `c${i}` })));
    for (const r of dels) expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(Object.keys(leaseFiles(dir, 'busynet'))).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  });

  it('interleaved ADDs and DELs of different containers stay consistent', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const conf = { cniVersion: '1.0.0', name: 'churn', type: 'bridge', ipam: { type: 'host-local', dataDir: dir, subnet: '10.67.0.0/26' } };
    const bin = ourBin('host-local');
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => runAsync(bin, conf, { command: 'ADD', containerID: `a${i}` })));
    for (const r of first) expect(r.code).toBe(0);
    const mixed = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => runAsync(bin, conf, { command: 'DEL', containerID: `a${i}` })),
      ...Array.from({ length: 20 }, (_, i) => runAsync(bin, conf, { command: 'ADD', containerID: `b${i}` })),
    ]);
    for (const r of mixed) expect(r.code, r.stdout).toBe(0);
    const held = leases(dir, 'churn');
    expect(Object.values(held).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}\r\neth0`).sort());
  });
});
