// The version gates and flags of the list operations, where no plugin is run: CNI_PATH is empty,
// so any plugin call would fail with "failed to find plugin".
import os from 'node:os';
import { expect, it } from 'vitest';
import { parseNetworkList } from '../../../cmd/tscni/runner/conf.js';
import { gcNetwork, gcStale } from '../../../cmd/tscni/runner/gc.js';
import { addList, checkList, statusList } from '../../../cmd/tscni/runner/ops.js';

const ctx = { cniPath: [], cacheDir: os.tmpdir() + '/rn-unit-none', baseEnv: {} };
const rt = { containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0', cniArgs: [] as [string, string][], capabilityArgs: {} };
const list = (extra: object) => parseNetworkList(Buffer.from(JSON.stringify({ name: 'net', plugins: [{ type: 'bridge' }], ...extra })));

it('CHECK: refused below 0.4.0, skipped with disableCheck', async () => {
  await expect(checkList(ctx, list({ cniVersion: '0.3.1' }), rt)).rejects.toThrow('configuration version "0.3.1" does not support the CHECK command');
  await expect(checkList(ctx, list({ cniVersion: '1.0.0', disableCheck: true }), rt)).resolves.toBeUndefined();
  await expect(checkList(ctx, list({ cniVersion: '1.0.0' }), rt)).rejects.toThrow('plugin type="bridge" failed (check): [code 7] failed to find plugin "bridge"');
});

it('STATUS and GC: nothing below 1.1.0 (gc says so), nothing with disableGC', async () => {
  await expect(statusList(ctx, list({ cniVersion: '1.0.0' }))).resolves.toBe(false);
  await expect(gcNetwork(ctx, list({ cniVersion: '1.0.0' }))).rejects.toThrow('GC needs cniVersion 1.1.0');
  await expect(gcNetwork(ctx, list({ cniVersion: '1.1.0', disableGC: true }))).resolves.toMatchObject({ method: 'none' });
  await expect(gcStale(ctx, list({ cniVersion: '1.1.0', disableGC: 'true' }))).resolves.toMatchObject({ method: 'none', released: [] });
});

it('ADD validates the container ID, network name and interface name before running anything', async () => {
  await expect(addList(ctx, list({ cniVersion: '1.0.0' }), { ...rt, containerId: 'bad id' })).rejects.toThrow('invalid characters in containerID');
  await expect(addList(ctx, list({ cniVersion: '1.0.0' }), { ...rt, ifName: 'a-name-longer-than-15' })).rejects.toThrow('interface name');
});
