// libcni's cache file format (cniCacheV1) and host-local lease reading.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { allocationsOf, leaseCIDR } from '../../../cmd/tscni/runner/allocations.js';
import { cacheFilePath, listCache, readCachedResult, removeCache, writeCache } from '../../../cmd/tscni/runner/cache.js';
import { parseNetworkList } from '../../../cmd/tscni/runner/conf.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rn-unit-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const key = { network: 'net', containerId: 'c1', ifName: 'eth0' };
const result = { cniVersion: '1.0.0', ips: [{ address: '10.38.0.2/24' }] };

it('writes <cacheDir>/results/<net>-<cid>-<ifname> with libcni field order and omitempty, mode 0600', () => {
  writeCache(dir, { ...key, listBytes: Buffer.from('{"name":"net"}'), netns: '', cniArgs: [], capabilityArgs: {}, result });
  const file = path.join(dir, 'results', 'net-c1-eth0');
  expect(cacheFilePath(dir, key)).toBe(file);
  expect(fs.readFileSync(file, 'utf8')).toBe(
    `{"kind":"cniCacheV1","containerId":"c1","config":"${Buffer.from('{"name":"net"}').toString('base64')}","ifName":"eth0","networkName":"net","result":${JSON.stringify(result)}}`,
  );
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  writeCache(dir, { ...key, listBytes: Buffer.from('{}'), netns: '/run/netns/x', cniArgs: [['A', '1']], capabilityArgs: { ips: [] }, result });
  expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')))).toEqual(['kind', 'containerId', 'config', 'ifName', 'networkName', 'netns', 'cniArgs', 'capabilityArgs', 'result']);
  expect(listCache(dir).map((e) => [e.networkName, e.containerId, e.ifName, e.netns, e.cniArgs])).toEqual([['net', 'c1', 'eth0', '/run/netns/x', [['A', '1']]]]);
  removeCache(dir, key);
  expect(fs.existsSync(file)).toBe(false);
});

it('reads a legacy cache file (the bare result) as libcni does, and skips it when listing', () => {
  fs.mkdirSync(path.join(dir, 'results'));
  fs.writeFileSync(path.join(dir, 'results', 'net-c1-eth0'), JSON.stringify(result));
  expect(readCachedResult(dir, key)).toEqual(result);
  expect(listCache(dir)).toEqual([]);
  expect(readCachedResult(dir, { ...key, containerId: 'none' })).toBeUndefined();
  expect(() => cacheFilePath(dir, { ...key, containerId: '' })).toThrow('cache file path requires');
});

it('reads host-local leases ("<cid>\\r\\n<ifname>", or the cid alone) and their range prefixes', () => {
  const list = parseNetworkList(Buffer.from(JSON.stringify({ name: 'net', cniVersion: '1.0.0', plugins: [{ type: 'bridge', ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.38.0.0/24' }], [{ subnet: 'fd38::/64' }]] } }] })));
  fs.mkdirSync(path.join(dir, 'net'));
  fs.writeFileSync(path.join(dir, 'net', '10.38.0.2'), 'c1\r\neth0');
  fs.writeFileSync(path.join(dir, 'net', 'fd38::2'), 'c2');
  fs.writeFileSync(path.join(dir, 'net', 'last_reserved_ip.0'), '10.38.0.2');
  fs.writeFileSync(path.join(dir, 'net', 'lock'), '');
  expect(allocationsOf(list).map((a) => [a.ip, a.containerId, a.ifName])).toEqual([['10.38.0.2', 'c1', 'eth0'], ['fd38::2', 'c2', '']]);
  expect(leaseCIDR(list, '10.38.0.2')).toBe('10.38.0.2/24');
  expect(leaseCIDR(list, 'fd38::2')).toBe('fd38::2/64');
  expect(leaseCIDR(list, '10.9.9.9')).toBe('10.9.9.9/32');
});
