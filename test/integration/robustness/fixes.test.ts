// Issue 12's three fixes, through the built binaries of every plugin name the suite installs:
// a config without `type` is refused (code 7 naming `type`) before anything changes; JSON nested
// 100,000 deep is code 6 (no recursion, no crash); an ADD whose result cannot be expressed in the
// config's version (no IP at 0.1.0/0.2.0) is refused before the plugin moves or creates anything.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PLUGIN_NAMES } from '../../../cmd/tscni/registry.js';
import {
  canCreate, cniErrorProblems, env, haveTun, type Json, leftovers, makeRig, NET, Problems, removeAllRigs, removeRig, run, setPath,
  snapshot, spec, withoutKept,
} from './harness.js';

afterEach(removeAllRigs);

const prev10 = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.153.7.2/24', interface: 0 }] };

/** A config every plugin would otherwise accept far enough to act on; chained ones get a prevResult. */
function confFor(name: string, rig: ReturnType<typeof makeRig>): Json {
  const known = ['bridge', 'ptp', 'macvlan', 'ipvlan', 'vlan', 'host-device', 'tap', 'dummy', 'loopback', 'host-local', 'static', 'dhcp'];
  if (known.includes(name)) return spec(name).conf(rig);
  return { cniVersion: '1.0.0', name: NET, type: name, prevResult: prev10 };
}

const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('issue 12 fixes', () => {
  it('every plugin refuses a config without type (or with an empty one), code 7 naming type, for every command, changing nothing', () => {
    const rig = makeRig();
    const problems = new Problems();
    try {
      const before = snapshot(rig);
      for (const name of PLUGIN_NAMES) {
        for (const command of ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS']) {
          const conf = { ...setPath(confFor(name, rig), 'type', undefined), cniVersion: command === 'GC' || command === 'STATUS' ? '1.1.0' : '1.0.0' };
          problems.add(`${name} ${command} without type`, cniErrorProblems(run(rig, name, env(rig, command), conf), 7, ['type', 'required']));
        }
        problems.add(`${name} type ""`, cniErrorProblems(run(rig, name, env(rig, 'ADD'), setPath(confFor(name, rig), 'type', '')), 7, ['type', '""']));
        problems.add(`${name} type 5`, cniErrorProblems(run(rig, name, env(rig, 'ADD'), setPath(confFor(name, rig), 'type', 5)), 7, ['type', '5']));
        problems.add(`${name}`, leftovers(before, snapshot(rig)));
      }
    } finally {
      removeRig(rig);
    }
    problems.check();
  });

  it('every plugin refuses JSON nested 100,000 deep (alone and as a key) as undecodable, code 6', () => {
    const rig = makeRig();
    const problems = new Problems();
    try {
      for (const name of PLUGIN_NAMES) {
        problems.add(`${name} deep document`, cniErrorProblems(run(rig, name, env(rig, 'ADD'), deep(100_000)), 6, ['max depth']));
        const keyed = JSON.stringify(confFor(name, rig)).replace(/^\{/, `{"trbDeep":${deep(100_000)},`);
        problems.add(`${name} deep key`, cniErrorProblems(run(rig, name, env(rig, 'ADD'), keyed), 6, ['max depth']));
      }
    } finally {
      removeRig(rig);
    }
    problems.check();
  });

  it("ADD and DEL aimed at the plugin's own netns are refused (code 8) before they touch it", () => {
    const rig = makeRig();
    const problems = new Problems();
    try {
      const before = snapshot(rig);
      const own = { CNI_NETNS: '/proc/self/ns/net' };
      for (const name of ['bridge', 'ptp', 'macvlan', 'host-device', 'tap', 'loopback', 'host-local']) {
        for (const command of ['ADD', 'DEL']) {
          // DEL of rbdev0 in the node itself would move or delete a node link.
          const r = run(rig, name, env(rig, command, { ...own, CNI_IFNAME: name === 'host-device' ? 'rbdev0' : spec(name).ifName }), spec(name).conf(rig));
          problems.add(`${name} ${command}`, cniErrorProblems(r, 8, ["plugin's netns"]));
        }
      }
      problems.add('after all', leftovers(before, withoutKept('bridge', snapshot(rig))));
    } finally {
      removeRig(rig);
    }
    problems.check();
  });

  it('an ADD at 0.1.0/0.2.0 whose result would carry no IP is refused before anything changes (interface and chained plugins)', () => {
    const rig = makeRig();
    const problems = new Problems();
    try {
      // The interface plugins whose ipam is optional, and those that need it (refused the same way).
      const iface = ['host-device', 'macvlan', 'ipvlan', 'tap', 'bridge', 'vlan', 'dummy', 'ptp'].filter((n) => canCreate(n) && (n !== 'tap' || haveTun));
      for (const name of iface) {
        for (const version of ['0.1.0', '0.2.0', '']) {
          const conf = setPath(setPath(spec(name).conf(rig), 'ipam', undefined), 'cniVersion', version === '' ? undefined : version);
          const before = snapshot(rig);
          const label = `${name} at ${version || 'no cniVersion'} without ipam`;
          problems.add(label, cniErrorProblems(run(rig, name, env(rig, 'ADD'), conf), 1, ['cannot convert', 'no valid IP']));
          problems.add(label, leftovers(before, withoutKept(name, snapshot(rig))));
        }
      }
      // host-device: the device itself stays on the node, with its name and state.
      const dev = spawnSync('ip', ['-n', rig.node, '-j', 'link', 'show', 'rbdev0'], { encoding: 'utf8' });
      expect(dev.status, dev.stderr).toBe(0);
      // Chained plugins at 0.1.0/0.2.0 pass a prevResult through: one without an IP cannot be printed.
      spawnSync('ip', ['-n', rig.ctr, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
      const macBefore = spawnSync('ip', ['-n', rig.ctr, '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }).stdout;
      for (const [name, extra] of [
        ['tuning', { mac: '02:53:00:00:00:01', promisc: true, mtu: 1280 }],
        ['portmap', { runtimeConfig: { portMappings: [{ hostPort: 18153, containerPort: 80, protocol: 'tcp' }] }, capabilities: { portMappings: true } }],
        ['sbr', {}],
        ['loopback', {}],
      ] as const) {
        for (const version of ['0.1.0', '0.2.0']) {
          const conf = { cniVersion: version, name: NET, type: name, ...extra, prevResult: { cniVersion: version, dns: {} } };
          const before = snapshot(rig);
          const label = `${name} at ${version} with a prevResult without IP`;
          const r = run(rig, name, env(rig, 'ADD', { CNI_IFNAME: name === 'loopback' ? 'lo' : 'eth0' }), conf);
          problems.add(label, cniErrorProblems(r, 1, ['cannot convert', 'no valid IP']));
          problems.add(label, leftovers(before, snapshot(rig)));
        }
      }
      expect(spawnSync('ip', ['-n', rig.ctr, '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }).stdout).toBe(macBefore);
      // loopback's own result carries 127.0.0.1: it stays accepted at 0.1.0.
      const lo = run(rig, 'loopback', env(rig, 'ADD', { CNI_IFNAME: 'lo' }), { name: NET, type: 'loopback' });
      expect(lo.status, lo.stdout).toBe(0);
      expect(lo.json).toMatchObject({ cniVersion: '0.1.0', ip4: { ip: '127.0.0.1/8' } });
    } finally {
      removeRig(rig);
    }
    problems.check();
  });
});
