import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AttachmentStore, isValidAttachment } from '../../../shared/state/attachments.js';

const roots: string[] = [];
const newRoot = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-state-'));
  roots.push(dir);
  return dir;
};
afterEach(() => {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

describe('AttachmentStore', () => {
  it('puts, gets, lists per network and removes records', () => {
    const store = new AttachmentStore<{ ips: string[] }>('portmap', newRoot());
    const a = { network: 'net1', containerID: 'c_1', ifName: 'eth0' };
    const b = { network: 'net2', containerID: 'c_1', ifName: 'eth0' };
    store.put(a, { ips: ['10.1.2.3'] });
    store.put(b, { ips: ['10.9.2.3'] });
    expect(store.get(a)).toEqual({ ips: ['10.1.2.3'] });
    expect(store.list('net1')).toEqual([{ key: a, record: { ips: ['10.1.2.3'] } }]);
    expect(fs.statSync(store.fileOf(a)).mode & 0o777).toBe(0o600);
    store.remove(a);
    store.remove(a);
    expect(store.get(a)).toBeUndefined();
    expect(store.list('net1')).toEqual([]);
    expect(store.list('net2')).toHaveLength(1);
  });

  it('remove() also drops the temp file a killed writer of that record left, and only that one', () => {
    const store = new AttachmentStore<number>('tuning', newRoot());
    const key = { network: 'n', containerID: 'c', ifName: 'eth0' };
    const other = { network: 'n', containerID: 'c2', ifName: 'eth0' };
    store.put(other, 2);
    const file = store.fileOf(key);
    fs.writeFileSync(`${file}.tmp-4242`, '{"key":');
    fs.writeFileSync(`${store.fileOf(other)}.tmp-4243`, '{"key":');
    store.remove(key);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['c2_eth0.json', 'c2_eth0.json.tmp-4243']);
  });

  it('drops temp files of killed writers and skips unreadable records', () => {
    const store = new AttachmentStore<number>('firewall', newRoot());
    const key = { network: 'n', containerID: 'c', ifName: 'eth0' };
    store.put(key, 1);
    const dir = path.dirname(store.fileOf(key));
    fs.writeFileSync(path.join(dir, 'x_eth0.json.tmp-123'), '{"key":');
    fs.writeFileSync(path.join(dir, 'y_eth0.json'), 'not json');
    expect(store.list('n')).toEqual([{ key, record: 1 }]);
    expect(fs.readdirSync(dir).sort()).toEqual(['c_eth0.json', 'y_eth0.json']);
  });

  it('refuses names that would escape the directory', () => {
    const store = new AttachmentStore<number>('bandwidth', newRoot());
    expect(() => store.put({ network: '../x', containerID: 'c', ifName: 'eth0' }, 1)).toThrow(/network name/);
    expect(() => store.put({ network: 'n', containerID: '..', ifName: 'eth0' }, 1)).toThrow(/container ID/);
    expect(() => store.put({ network: 'n', containerID: 'c', ifName: 'a/b' }, 1)).toThrow(/interface name/);
  });

  it('matches valid attachments on container ID and interface', () => {
    const valid = [{ containerID: 'c1', ifname: 'eth0' }];
    expect(isValidAttachment({ containerID: 'c1', ifName: 'eth0' }, valid)).toBe(true);
    expect(isValidAttachment({ containerID: 'c1', ifName: 'eth1' }, valid)).toBe(false);
  });
});
