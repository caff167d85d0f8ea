// podman 4.3 (CNI backend) runs tscni's bridge + host-local, unchanged, as its network plugins:
// containers get leases from our range, reach each other and the gateway, and `podman rm` / a `--rm`
// exit leaves no lease, veth or container netns behind. podman's own CNI_ARGS
// (IgnoreUnknown=1;K8S_POD_NAME=...;IP=...;MAC=...) and the runtimeConfig it builds from a plugin's
// capabilities (portMappings from -p, aliases as a map {network: [names]}) must be accepted.
// podman runs inside a throwaway "node" netns (see rig.ts): the host namespace is never touched.
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ipJson } from '../../helpers/netns.js';
import {
  CNI_RESULTS_DIR, ULIMITS, cleanupRig, inspect, leaseOwner, leases, makeRig, missingTools, podman, podmanOk,
  rigProcesses, suffix, waitForRigProcesses, type NetworkDef, type PodmanInspect, type Rig,
} from './rig.js';

interface IpLink { ifname: string; master?: string; linkinfo?: { info_kind?: string } }
interface IpAddr { addr_info: { family: string; local: string; prefixlen: number }[] }

const id = suffix();
const MAIN: NetworkDef = { name: `tscni-pm-${id}`, bridge: `tscni-pm${id}`, octet: 60 };
/** bridge declares the portMappings capability: podman passes `runtimeConfig.portMappings` for -p. */
const PORTS: NetworkDef = { name: `tscni-pmp-${id}`, bridge: `tscni-pp${id}`, octet: 61, capabilities: { portMappings: true } };
/** bridge declares the aliases capability: podman passes `runtimeConfig.aliases` = {net: [alias, shortID]}. */
const ALIASES: NetworkDef = { name: `tscni-pma-${id}`, bridge: `tscni-pa${id}`, octet: 62, capabilities: { aliases: true } };
/** The same bridge + host-local at cniVersion 0.4.0 (podman 4.3's libcni handles up to 1.0.0). */
const V040: NetworkDef = { name: `tscni-pm4-${id}`, bridge: `tscni-p4${id}`, octet: 63, cniVersion: '0.4.0' };

let rig: Rig | undefined;

function theRig(): Rig {
  if (!rig) throw new Error('rig not set up');
  return rig;
}

const ipNum = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
function expectInRange(ip: string, net: NetworkDef): void {
  expect(ip).toMatch(new RegExp(`^10\\.81\\.${net.octet}\\.\\d+$`));
  expect(ipNum(ip)).toBeGreaterThanOrEqual(ipNum(`10.81.${net.octet}.10`));
  expect(ipNum(ip)).toBeLessThanOrEqual(ipNum(`10.81.${net.octet}.50`));
}

const nodeLinks = (r: Rig): IpLink[] => ipJson<IpLink[]>(['-d', 'link', 'show'], r.node);
const nodeVeths = (r: Rig): IpLink[] => nodeLinks(r).filter((l) => l.linkinfo?.info_kind === 'veth');
function nodeAddrs(r: Rig, dev: string): string[] {
  const entry = ipJson<IpAddr[]>(['addr', 'show', 'dev', dev], r.node)[0];
  return (entry?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}
/** Container netns podman creates in /run/netns (`netns-<uuid>`); only podman names them so. */
const podmanNetns = (): string[] => (fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns').filter((n) => n.startsWith('netns-')) : []);
const hostHasLink = (name: string): boolean => ipJson<IpLink[]>(['link', 'show']).some((l) => l.ifname === name);
const cniCache = (r: Rig, cid: string): string[] =>
  fs.existsSync(CNI_RESULTS_DIR) ? fs.readdirSync(CNI_RESULTS_DIR).filter((f) => f.includes(cid) && r.networks.some((n) => f.startsWith(n.name))) : [];

/** Everything one container's network attachment leaves on the node is gone. */
function expectTornDown(r: Rig, net: NetworkDef, ids: string[], sandboxes: string[]): void {
  expect(leases(r, net.name)).toEqual([]);
  expect(nodeVeths(r).filter((l) => l.master === net.bridge)).toEqual([]);
  for (const s of sandboxes) expect(fs.existsSync(s), `container netns ${s} left behind`).toBe(false);
  for (const cid of ids) expect(cniCache(r, cid)).toEqual([]);
}

beforeAll(() => {
  const missing = missingTools();
  if (missing.length > 0) throw new Error(`podman test needs: ${missing.join(', ')} (scripts/setup.sh installs podman runc busybox-static)`);
  rig = makeRig([MAIN, PORTS, ALIASES, V040]);
});

// A failed test must not leave its containers (and their leases) to the next one.
afterEach(() => {
  if (!rig) return;
  if (podman(rig, ['ps', '--all', '--quiet']).stdout.trim() !== '') podman(rig, ['rm', '--all', '--force', '--time', '0']);
});

afterAll(() => {
  cleanupRig(rig);
  rig = undefined;
});

describe('podman 4.3 CNI backend with tscni plugins', () => {
  it('sees our conflist as a network with our host-local range', () => {
    const r = theRig();
    const nets = JSON.parse(podmanOk(r, ['network', 'inspect', MAIN.name])) as {
      name: string; driver: string; network_interface: string;
      subnets: { subnet: string; gateway: string; lease_range?: { start_ip: string; end_ip: string } }[];
    }[];
    expect(nets[0]).toMatchObject({ name: MAIN.name, driver: 'bridge', network_interface: MAIN.bridge });
    expect(nets[0]?.subnets).toEqual([
      { subnet: '10.81.60.0/24', gateway: '10.81.60.1', lease_range: { start_ip: '10.81.60.10', end_ip: '10.81.60.50' } },
    ]);
  });

  it('two containers get leases from our range, ping each other and the gateway; podman rm cleans up', () => {
    const r = theRig();
    const names = [`tscni-pm-a-${id}`, `tscni-pm-b-${id}`];
    for (const name of names) {
      podmanOk(r, ['run', '-d', '--name', name, '--network', MAIN.name, ...ULIMITS, r.image, 'sleep', '120']);
    }
    const [a, b] = names.map((n) => inspect(r, n)) as [PodmanInspect, PodmanInspect];
    const netA = a.NetworkSettings.Networks[MAIN.name];
    const netB = b.NetworkSettings.Networks[MAIN.name];
    expect(netA).toBeDefined();
    expect(netB).toBeDefined();
    if (!netA || !netB) return;
    expect(Object.keys(a.NetworkSettings.Networks)).toEqual([MAIN.name]);
    for (const n of [netA, netB]) {
      expectInRange(n.IPAddress, MAIN);
      expect(n.IPPrefixLen).toBe(24);
      expect(n.Gateway).toBe('10.81.60.1');
    }
    expect(netA.IPAddress).not.toBe(netB.IPAddress);

    // The kernel inside each container agrees with what podman reports (busybox ip as the oracle).
    for (const [name, n] of [[names[0], netA], [names[1], netB]] as const) {
      const shown = podmanOk(r, ['exec', name, 'ip', 'addr', 'show', 'dev', 'eth0']);
      expect(shown).toContain(`inet ${n.IPAddress}/24`);
      expect(shown.toLowerCase()).toContain(`link/ether ${n.MacAddress.toLowerCase()}`);
      expect(podmanOk(r, ['exec', name, 'ip', 'route'])).toMatch(/^default via 10\.81\.60\.1 dev eth0/m);
    }

    // host-local state: one lease per container, owned by its container ID.
    expect(leases(r, MAIN.name)).toEqual([netA.IPAddress, netB.IPAddress].sort((x, y) => ipNum(x) - ipNum(y)));
    expect(leaseOwner(r, MAIN.name, netA.IPAddress)).toContain(a.Id);
    expect(leaseOwner(r, MAIN.name, netB.IPAddress)).toContain(b.Id);

    // The node (podman's namespace) holds our bridge with the gateway and both host veths on it;
    // the real host namespace has no trace of it.
    expect(nodeAddrs(r, MAIN.bridge)).toEqual(['10.81.60.1/24']);
    expect(nodeVeths(r).filter((l) => l.master === MAIN.bridge)).toHaveLength(2);
    expect(hostHasLink(MAIN.bridge)).toBe(false);

    for (const [from, to] of [[names[0], '10.81.60.1'], [names[0], netB.IPAddress], [names[1], netA.IPAddress]] as const) {
      const ping = podman(r, ['exec', from, 'ping', '-c', '1', '-W', '2', to]);
      expect(ping.stdout + ping.stderr, `${from} -> ${to}`).toContain('1 packets received');
      expect(ping.status).toBe(0);
    }

    podmanOk(r, ['rm', '--force', '--time', '0', ...names]);
    expect(podmanOk(r, ['ps', '--all', '--quiet'])).toBe('');
    expectTornDown(r, MAIN, [a.Id, b.Id], [a.NetworkSettings.SandboxKey, b.NetworkSettings.SandboxKey]);
    expect(waitForRigProcesses(r)).toEqual([]);
  });

  it('podman run --rm: CNI_ARGS IP= and MAC= (with IgnoreUnknown=1;K8S_POD_NAME=) are honoured; exit tears down', () => {
    const r = theRig();
    const before = podmanNetns();
    const out = podmanOk(r, [
      'run', '--rm', '--name', `tscni-pm-c-${id}`, '--network', MAIN.name,
      '--ip', '10.81.60.45', '--mac-address', '02:81:60:00:00:45', ...ULIMITS, r.image, 'ip', 'addr', 'show', 'dev', 'eth0',
    ]);
    expect(out).toContain('inet 10.81.60.45/24');
    expect(out).toContain('link/ether 02:81:60:00:00:45');
    // `podman run --rm` returns after the CNI DEL: nothing of the container is left.
    expect(podmanOk(r, ['ps', '--all', '--quiet'])).toBe('');
    expect(leases(r, MAIN.name)).toEqual([]);
    expect(nodeVeths(r).filter((l) => l.master === MAIN.bridge)).toEqual([]);
    expect(podmanNetns().filter((n) => !before.includes(n))).toEqual([]);
  });

  it('runtimeConfig.portMappings from -p is accepted by bridge and host-local', () => {
    const r = theRig();
    const name = `tscni-pm-p-${id}`;
    podmanOk(r, ['run', '-d', '--name', name, '--network', PORTS.name, '-p', '18080:80', ...ULIMITS, r.image, 'sleep', '120']);
    const info = inspect(r, name);
    const net = info.NetworkSettings.Networks[PORTS.name];
    expect(net).toBeDefined();
    if (!net) return;
    expectInRange(net.IPAddress, PORTS);
    expect(podmanOk(r, ['exec', name, 'ip', 'addr', 'show', 'dev', 'eth0'])).toContain(`inet ${net.IPAddress}/24`);
    expect(leases(r, PORTS.name)).toEqual([net.IPAddress]);
    podmanOk(r, ['rm', '--force', '--time', '0', name]);
    expectTornDown(r, PORTS, [info.Id], [info.NetworkSettings.SandboxKey]);
  });

  it('runtimeConfig.aliases as podman sends it ({network: [names]}) is accepted, as the Go plugins do', () => {
    const r = theRig();
    const name = `tscni-pm-al-${id}`;
    const run = podman(r, [
      'run', '-d', '--name', name, '--network', ALIASES.name, '--network-alias', 'db', ...ULIMITS, r.image, 'sleep', '120',
    ]);
    expect(run.stderr).not.toContain('runtimeConfig.aliases');
    expect(run.status).toBe(0);
    const info = inspect(r, name);
    const net = info.NetworkSettings.Networks[ALIASES.name];
    expect(net).toBeDefined();
    if (!net) return;
    expectInRange(net.IPAddress, ALIASES);
    expect(leases(r, ALIASES.name)).toEqual([net.IPAddress]);
    podmanOk(r, ['rm', '--force', '--time', '0', name]);
    expectTornDown(r, ALIASES, [info.Id], [info.NetworkSettings.SandboxKey]);
  });

  it('a cniVersion 0.4.0 conflist works the same', () => {
    const r = theRig();
    const out = podmanOk(r, ['run', '--rm', '--network', V040.name, ...ULIMITS, r.image, 'ip', 'addr', 'show', 'dev', 'eth0']);
    const ip = /inet (10\.81\.63\.\d+)\/24/.exec(out)?.[1];
    expect(ip, out).toBeDefined();
    if (ip) expectInRange(ip, V040);
    expect(leases(r, V040.name)).toEqual([]);
    expect(nodeVeths(r).filter((l) => l.master === V040.bridge)).toEqual([]);
  });

  it('leaves no podman process of this test running', () => {
    expect(waitForRigProcesses(theRig())).toEqual([]);
    expect(rigProcesses(theRig())).toEqual([]);
  });
});
