// podman 4.3's default network shape on tscni alone: `podman network create` writes bridge + portmap +
// firewall + tuning (checked against conf-examples/bridge-podman.conflist), podman runs the plugins
// from dist/bin (or TSCNI_TEST_PLUGIN_DIR, see rig.ts): two containers start, reach each other,
// `-p 127.0.0.1:PORT:80` serves a page to the node, and `podman rm` leaves nothing behind.
// podman runs under `nsenter --net=<node netns>` (test/integration/podman/rig.ts); its plugins see
// no system D-Bus (so the firewall plugin's default backend is iptables, never a real firewalld).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vethsOf } from '../../helpers/ip.js';
import {
  ULIMITS, cleanupRig, inspect, leases, makeRig, missingTools as podmanMissing, podman, podmanConflistPath, podmanOk,
  waitForRigProcesses, type NetworkDef, type PodmanInspect, type Rig,
} from '../podman/rig.js';
import {
  EXAMPLES, PLUGIN_DIR, fetchFrom, firewallText, isolatedEnv, leftovers, missingTools, removeDefaultRootStates, stateDirOf,
  suffix, urlOf, waitServing, type Json,
} from './rig.js';

const id = suffix();
const NET: NetworkDef = { name: `rt-pmdef-${id}`, bridge: `rt-pm${id}`, octet: 70, podmanDefault: true };
const PORT = 18081;
let rig: Rig | undefined;
let envDir = '';

function theRig(): Rig {
  if (!rig) throw new Error('rig not set up');
  return rig;
}

beforeAll(() => {
  const missing = [...podmanMissing(), ...missingTools()];
  if (missing.length > 0) throw new Error(`podman default-network test needs: ${missing.join(', ')} (scripts/setup.sh)`);
  envDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-pm-env-'));
  // No TSCNI_STATE_DIR here: when a container stops, conmon's `podman container cleanup` runs the
  // DEL without the environment podman was started with, so the plugins must keep their records
  // where they keep them on a real node (/var/lib/cni/tscni/<plugin>/<this test's network>/, which
  // the leftovers oracle reads and afterAll removes). The firewall's record names its backend, so
  // that DEL does not probe D-Bus either.
  const { TSCNI_STATE_DIR: _unused, ...env } = isolatedEnv(envDir);
  rig = makeRig([NET], { pluginDir: PLUGIN_DIR, nodePrefix: 'rt-pm-node', env });
}, 120_000);

afterAll(() => {
  cleanupRig(rig);
  rig = undefined;
  removeDefaultRootStates(NET.name);
  if (envDir) fs.rmSync(envDir, { recursive: true, force: true });
});

/** The keys that name a particular network (name, bridge, subnet, gateway, dataDir) removed. */
function shape(list: Json): Json {
  const copy = structuredClone(list);
  delete copy.name;
  const bridge = copy.plugins[0];
  delete bridge.bridge;
  delete bridge.ipam.dataDir;
  bridge.ipam.ranges = bridge.ipam.ranges.map((set: Json[]) => set.map((r) => Object.keys(r).sort()));
  return copy;
}

describe("podman's default network (bridge + portmap + firewall + tuning) on tscni", () => {
  it('podman network create writes the chain conf-examples/bridge-podman.conflist shows', () => {
    const written = JSON.parse(fs.readFileSync(podmanConflistPath(theRig(), NET), 'utf8')) as Json;
    const example = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'bridge-podman.conflist'), 'utf8')) as Json;
    expect(shape(written)).toEqual(shape(example));
    expect(written.plugins.map((p: Json) => p.type)).toEqual(['bridge', 'portmap', 'firewall', 'tuning']);
  });

  it('containers start, reach each other, -p 127.0.0.1:PORT:80 serves a page to the node; podman rm leaves nothing', () => {
    const r = theRig();
    const [a, b] = [`rt-pm-a-${id}`, `rt-pm-b-${id}`];
    const page = `rt podman page ${id}`;
    podmanOk(r, [
      'run', '-d', '--name', a, '--network', NET.name, '-p', `127.0.0.1:${PORT}:80`, ...ULIMITS, r.image,
      'sh', '-c', `echo '${page}' > /tmp/index.html && exec httpd -f -p 80 -h /tmp`,
    ]);
    podmanOk(r, ['run', '-d', '--name', b, '--network', NET.name, ...ULIMITS, r.image, 'sleep', '120']);
    const [ia, ib] = [a, b].map((n) => inspect(r, n)) as [PodmanInspect, PodmanInspect];
    const ipA = ia.NetworkSettings.Networks[NET.name]?.IPAddress ?? '';
    const ipB = ib.NetworkSettings.Networks[NET.name]?.IPAddress ?? '';
    expect(ipA).toMatch(/^10\.81\.70\.\d+$/);
    expect(ipB).toMatch(/^10\.81\.70\.\d+$/);
    expect(leases(r, NET.name).sort()).toEqual([ipA, ipB].sort());

    // Container to container: ICMP and the page over TCP.
    const ping = podman(r, ['exec', b, 'ping', '-c', '1', '-W', '2', ipA]);
    expect(ping.stdout + ping.stderr).toContain('1 packets received');
    expect(waitServing(r.node, urlOf(ipA, 80)), 'httpd in a is up').toBe(`${page}\n`);
    expect(podman(r, ['exec', b, 'wget', '-q', '-O', '-', urlOf(ipA, 80)]).stdout).toBe(`${page}\n`);

    // Node to container through the host port on 127.0.0.1 (portmap's DNAT + route_localnet).
    expect(fetchFrom(r.node, urlOf('127.0.0.1', PORT)), `node -> 127.0.0.1:${PORT}`).toBe(`${page}\n`);
    const fw = firewallText(r.node);
    expect(fw.split('\n').some((l) => l.includes('CNI-DN-') && l.includes(ia.Id))).toBe(true);
    expect(fw.split('\n').some((l) => l.startsWith('-A CNI-FORWARD') && l.includes(`${ipA}/32`))).toBe(true);

    // The leftovers oracle sees the live attachment (so its empty answer after rm means something).
    expect(leftovers(stateDirOf(envDir), { node: r.node, network: NET.name, id: ia.Id, ips: [ipA], dataDir: r.dataDir }).length).toBeGreaterThan(0);
    podmanOk(r, ['rm', '--force', '--time', '0', a, b]);
    expect(podmanOk(r, ['ps', '--all', '--quiet'])).toBe('');
    expect(waitForRigProcesses(r)).toEqual([]);
    expect(fetchFrom(r.node, urlOf('127.0.0.1', PORT)), 'host port after podman rm').toBeUndefined();
    expect(vethsOf(r.node)).toEqual([]);
    for (const [info, ip] of [[ia, ipA], [ib, ipB]] as const) {
      expect(fs.existsSync(info.NetworkSettings.SandboxKey), 'container netns').toBe(false);
      expect(leftovers(stateDirOf(envDir), { node: r.node, network: NET.name, id: info.Id, ips: [ip], dataDir: r.dataDir })).toEqual([]);
    }
  });
});
