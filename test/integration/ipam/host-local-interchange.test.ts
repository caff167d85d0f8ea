// A node that switches between the Go host-local (/usr/lib/cni/host-local, 1.1.1) and ours keeps
// every allocation, in both directions, and the two exclude each other through the same lock.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { GO_DIR, leaseFiles, leases, ourBin, run, runAsync, tempDataDir } from './helpers.js';

const GO = `${GO_DIR}/host-local`;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const conf = (dir: string) => ({
  cniVersion: '1.0.0',
  name: 'swapnet',
  type: 'bridge',
  ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.77.0.0/24' }], [{ subnet: '2001:db8:77::/64' }]] },
});
const ipsOf = (o: ReturnType<typeof run>) => (o.json?.['ips'] as { address: string }[]).map((i) => i.address);

describe('interchange with the Go reference host-local', () => {
  it('Go allocates; ours sees the leases (duplicate, CHECK), continues round-robin and releases them', () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const c = conf(dir);
    for (const cid of ['g1', 'g2', 'g3']) expect(run(GO, c, { command: 'ADD', containerID: cid }).code).toBe(0);
    const ours = ourBin('host-local');
    expect(run(ours, c, { command: 'CHECK', containerID: 'g2' }).code).toBe(0);
    expect(run(ours, c, { command: 'ADD', containerID: 'g2' }).json?.['msg']).toBe(
      'failed to allocate for range 0: 10.77.0.3 has been allocated to g2, duplicate allocation is not allowed',
    );
    expect(ipsOf(run(ours, c, { command: 'ADD', containerID: 't1' }))).toEqual(['10.77.0.5/24', '2001:db8:77::5/64']);
    expect(run(ours, c, { command: 'DEL', containerID: 'g1' }).code).toBe(0);
    expect(leases(dir, 'swapnet')).toEqual({
      '10.77.0.3': 'g2\r\neth0',
      '10.77.0.4': 'g3\r\neth0',
      '10.77.0.5': 't1\r\neth0',
      '2001:db8:77::3': 'g2\r\neth0',
      '2001:db8:77::4': 'g3\r\neth0',
      '2001:db8:77::5': 't1\r\neth0',
    });
    // Back to Go: it sees ours, continues after our cursor, and releases what we allocated.
    expect(run(GO, c, { command: 'CHECK', containerID: 't1' }).code).toBe(0);
    expect(run(GO, c, { command: 'ADD', containerID: 't1' }).json?.['msg']).toContain('duplicate allocation is not allowed');
    expect(ipsOf(run(GO, c, { command: 'ADD', containerID: 'g4' }))).toEqual(['10.77.0.6/24', '2001:db8:77::6/64']);
    // Ours again, right after Go changed the directory: its new lease must be seen (index rebuilt).
    expect(run(ours, c, { command: 'ADD', containerID: 'g4' }).json?.['msg']).toContain('10.77.0.6 has been allocated to g4');
    for (const cid of ['g2', 'g3', 't1', 'g4']) {
      const bin = cid.startsWith('g') ? ours : GO;
      expect(run(bin, c, { command: 'DEL', containerID: cid }).code).toBe(0);
    }
    expect(leases(dir, 'swapnet')).toEqual({});
  });

  it('ours allocates; Go sees the leases, continues round-robin and releases them, byte-identical files', () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const c = conf(dir);
    const ours = ourBin('host-local');
    for (const cid of ['t1', 't2']) expect(run(ours, c, { command: 'ADD', containerID: cid }).code).toBe(0);
    const afterOurs = leaseFiles(dir, 'swapnet');
    expect(ipsOf(run(GO, c, { command: 'ADD', containerID: 'g1' }))).toEqual(['10.77.0.4/24', '2001:db8:77::4/64']);
    expect(run(GO, c, { command: 'DEL', containerID: 't1' }).code).toBe(0);
    expect(run(GO, c, { command: 'CHECK', containerID: 't2' }).code).toBe(0);
    // Same bytes as the Go plugin writes for its own lease.
    const files = leaseFiles(dir, 'swapnet');
    expect(files['10.77.0.3']).toBe(afterOurs['10.77.0.3']);
    expect(files['10.77.0.3']).toBe('t2\r\neth0');
    expect(files['10.77.0.4']).toBe('g1\r\neth0');
    // Ours again after Go released one of our leases and took a new one.
    expect(run(ours, c, { command: 'CHECK', containerID: 't1' }).json?.['msg']).toBe(
      'host-local: Failed to find address added by container t1',
    );
    expect(ipsOf(run(ours, c, { command: 'ADD', containerID: 't3' }))).toEqual(['10.77.0.5/24', '2001:db8:77::5/64']);
    for (const cid of ['t2', 'g1', 't3']) expect(run(GO, c, { command: 'DEL', containerID: cid }).code).toBe(0);
    expect(leases(dir, 'swapnet')).toEqual({});
  });

  it('Go and ours allocating at the same time never hand out one address twice', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const c = conf(dir);
    const ours = ourBin('host-local');
    const runs = Array.from({ length: 30 }, (_, i) =>
      runAsync(i % 2 === 0 ? ours : GO, c, { command: 'ADD', containerID: `mix${i}` }),
    );
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.stdout).toBe(0);
    const v4 = results.map((r) => (r.json?.['ips'] as { address: string }[])[0]!.address);
    expect(new Set(v4).size).toBe(30);
    expect(Object.keys(leases(dir, 'swapnet'))).toHaveLength(60);
    const dels = await Promise.all(
      Array.from({ length: 30 }, (_, i) => runAsync(i % 2 === 0 ? GO : ours, c, { command: 'DEL', containerID: `mix${i}` })),
    );
    for (const r of dels) expect(r.code, r.stdout).toBe(0);
    expect(leases(dir, 'swapnet')).toEqual({});
  });
});
