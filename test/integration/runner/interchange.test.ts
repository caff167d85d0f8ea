// A node can switch between tscni and a libcni runtime: containerd's go-cni (libcni 1.0, built
// offline from Debian's sources like test/integration/runtimes) and `tscni` share libcni's result
// cache in its real place, /var/lib/cni/results. An attachment made by go-cni is checked and
// deleted by tscni; one made by tscni is checked and removed by go-cni. CHECK needs the cached
// result (bridge refuses a CHECK without prevResult), so a passing CHECK proves the other side's
// cache file was read. Debian's libcni speaks up to 1.0.0 and records no netns: the list is 1.0.0.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { netnsPath } from '../../helpers/netns.js';
import { DIST_BIN } from '../../helpers/plugin.js';
import { buildDriver, type Json } from '../runtimes/rig.js';
import { cleanup, container, firewall, ipsOf, leases, makeNode, nodeEnv, tscni, writeExample, type Run, type RunnerNode } from './rig.js';

const RESULTS = '/var/lib/cni/results';
/** The runner pointed at libcni's own cache (its default), as on a real node. */
const LIBCNI_CACHE = { TSCNI_CACHE_DIR: '/var/lib/cni' };
/** go-cni's capability struct has no JSON tags: containerd sends capitalized keys; both sides get the same. */
const PORTS = [{ HostPort: 18301, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }];

let buildDir = '';
let bin = '';
let node: RunnerNode | undefined;
let network = '';

beforeAll(() => {
  buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rn-gocni-build-'));
  bin = buildDriver(buildDir);
}, 180_000);

afterEach(() => {
  if (network && fs.existsSync(RESULTS)) {
    for (const f of fs.readdirSync(RESULTS)) if (f.startsWith(`${network}-`) || f.includes('-rn')) fs.rmSync(path.join(RESULTS, f), { force: true });
  }
  cleanup(node);
  node = undefined;
});

afterAll(() => {
  if (buildDir) fs.rmSync(buildDir, { recursive: true, force: true });
});

function driver(n: RunnerNode, verb: 'setup' | 'check' | 'remove', id: string, ctr: string): Run {
  const args = [verb, '-bin', DIST_BIN, '-conf', n.confDir, '-id', id, '-netns', netnsPath(ctr), '-pod', 'rn-pod', '-namespace', 'rn', '-ports', JSON.stringify(PORTS)];
  const r = spawnSync('ip', ['netns', 'exec', n.node, bin, ...args], { encoding: 'utf8', env: nodeEnv(n), timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function setupList(n: RunnerNode): Json {
  const list = writeExample(n, 'bridge-podman.conflist', 'ic', ['10.38.20.0/24']);
  // Debian's libcni is 1.0: pin the list there (its cniVersions parsing predates 1.1 too).
  delete list.cniVersions;
  list.cniVersion = '1.0.0';
  fs.writeFileSync(path.join(n.confDir, '50-bridge-podman.conflist'), JSON.stringify(list, null, 2));
  network = list.name as string;
  return list;
}

const sandboxId = (): string => `rn${randomBytes(31).toString('hex')}`;

it('go-cni adds, tscni checks and deletes through libcni\'s cache file', () => {
  const n = (node = makeNode('ours'));
  const list = setupList(n);
  const ctr = container(n);
  const id = sandboxId();
  const setup = driver(n, 'setup', id, ctr);
  expect(setup.stderr).toBe('');
  expect(setup.status).toBe(0);
  const raw = (JSON.parse(setup.stdout) as { raw: Json[] }).raw;
  const ip = ipsOf(raw[raw.length - 1] as Json)[0] as string;
  const file = path.join(RESULTS, `${list.name}-${id}-eth0`);
  expect(fs.existsSync(file)).toBe(true);

  const env = { ...LIBCNI_CACHE, CNI_CONTAINERID: id, CAP_ARGS: JSON.stringify({ portMappings: PORTS }) };
  const ls = JSON.parse(tscni(n, ['ls', '--json'], LIBCNI_CACHE).stdout) as Json;
  const mine = (ls.attachments as Json[]).find((a) => a.containerId === id && a.network === list.name);
  expect(mine).toMatchObject({ ifName: 'eth0', netns: '', netnsExists: null, ips: [`${ip}/24`] });

  const check = tscni(n, ['check', list.name, netnsPath(ctr)], env);
  expect(check.stderr).toBe('');
  expect(check.status).toBe(0);
  const del = tscni(n, ['del', list.name, netnsPath(ctr)], env);
  expect(del.stderr).toBe('');
  expect(del.status).toBe(0);
  expect(fs.existsSync(file)).toBe(false);
  expect(leases(n, list.name)).toEqual([]);
  expect(firewall(n)).not.toContain(`${ip}`);
  // go-cni's own teardown (its loopback network) still works after tscni took eth0 down.
  expect(driver(n, 'remove', id, ctr).status).toBe(0);
}, 60_000);

it('tscni adds, go-cni checks and removes through the cache file tscni wrote', () => {
  const n = (node = makeNode('ours'));
  const list = setupList(n);
  const ctr = container(n);
  const id = sandboxId();
  const add = tscni(n, ['add', list.name, netnsPath(ctr)], { ...LIBCNI_CACHE, CNI_CONTAINERID: id, CAP_ARGS: JSON.stringify({ portMappings: PORTS }) });
  expect(add.stderr).toBe('');
  expect(add.status).toBe(0);
  const ip = ipsOf(JSON.parse(add.stdout) as Json)[0] as string;
  const file = path.join(RESULTS, `${list.name}-${id}-eth0`);
  expect(fs.existsSync(file)).toBe(true);

  const check = driver(n, 'check', id, ctr);
  expect(check.stderr).toBe('');
  expect(check.status).toBe(0);
  const remove = driver(n, 'remove', id, ctr);
  expect(remove.stderr).toBe('');
  expect(remove.status).toBe(0);
  expect(fs.existsSync(file)).toBe(false);
  expect(leases(n, list.name)).toEqual([]);
  const fw = firewall(n);
  expect(fw).not.toContain(`${ip}`);
  expect(fw).not.toContain('18301');
}, 60_000);
