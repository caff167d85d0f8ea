// Every conf-examples/bridge*.conflist: its bridge entry works as a runtime would send it (ADD,
// CHECK, DEL) in a throwaway node netns. The chained plugins are other tests' business.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/plugin.js';
import { link, vethsOf } from '../../helpers/ip.js';
import { cleanupRigs, leases, makeRig, run } from './helpers.js';

afterEach(() => cleanupRigs());

type Json = Record<string, any>;
const dir = path.join(ROOT, 'conf-examples');
const files = fs.readdirSync(dir).filter((f) => /^bridge.*\.conflist$/.test(f));

describe('conf-examples bridge conflists', () => {
  it('exist for the documented deployments', () => {
    expect(files.sort()).toEqual(['bridge-dual-stack.conflist', 'bridge-kube-router.conflist', 'bridge-l2-kubevirt.conflist', 'bridge-podman.conflist', 'bridge.conflist']);
  });

  for (const file of files) {
    it(`${file}: the bridge entry ADDs, CHECKs and DELs`, () => {
      const list = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Json;
      const entry = structuredClone(list.plugins[0]) as Json;
      expect(entry.type).toBe('bridge');
      const rig = makeRig();
      if (entry.ipam?.type) entry.ipam.dataDir = rig.dataDir;
      const conf = { cniVersion: list.cniVersion, name: list.name, ...entry };
      const add = run(rig, 'ADD', conf, { cniArgs: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod' });
      expect(add.stderr).toBe('');
      expect(add.status).toBe(0);
      const r = add.json as Json;
      expect(r.interfaces[0].name).toBe(entry.bridge);
      if (entry.ipam?.type) expect(leases(rig, list.name)).toHaveLength(list.plugins[0].ipam.ranges.length);
      const check = run(rig, 'CHECK', { ...conf, prevResult: r }, { cniArgs: 'IgnoreUnknown=1' });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.status).toBe(0);
      expect(run(rig, 'DEL', { ...conf, prevResult: r }, { cniArgs: 'IgnoreUnknown=1' }).status).toBe(0);
      expect(link(rig.containers[0]!, 'eth0')).toBeUndefined();
      expect(vethsOf(rig.node)).toEqual([]);
      expect(leases(rig, list.name)).toEqual([]);
    });
  }
});
