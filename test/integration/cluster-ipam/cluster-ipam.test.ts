// cluster-ipam across three "nodes" against a real 3-member etcd: node netns attached to an underlay
// netns where etcd runs; each node has its own bridge (the bridge plugin with cluster-ipam), the
// containers are netns of their own. Addresses are read back in the containers with `ip -j addr`
// and in etcd with etcdctl; no check uses our own code.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdMissing } from '../../helpers/etcd-cluster.js';
import { type Underlay, startUnderlay } from '../../helpers/etcd-underlay.js';
import { createNetns, ipJson, netnsPath, ping, removeNetns } from '../../helpers/netns.js';
import { type CniEnv, DIST_BIN, type PluginRun, ROOT, runPluginInNetns, runPluginInNetnsAsync } from '../../helpers/plugin.js';

type Json = Record<string, any>;

const missing = etcdMissing();
const NODE_NAMES = ['node-a', 'node-b', 'node-c'];
const PREFIX = '/tce/ipam';
const NET = 'tce-pool';

interface IpAddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

let ul: Underlay;
const containers: string[] = [];

function ipamConf(node: number, extra: Record<string, unknown> = {}, ipamExtra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: NET,
    // The plugin's own type when the test calls it directly; bridgeConf overrides it.
    type: 'cluster-ipam',
    ...extra,
    ipam: {
      type: 'cluster-ipam',
      range: '10.154.0.0/24',
      rangeStart: '10.154.0.10',
      exclude: ['10.154.0.100/30'],
      routes: [{ dst: '10.154.0.0/16' }],
      // Generous: 60 plugin processes share 2 cores with the rest of the suite. The quorum-loss test
      // below sets a short one of its own.
      etcd: { endpoints: ul.etcd.endpoints, prefix: PREFIX, dialTimeoutMs: 500, timeoutMs: 20_000 },
      nodeName: NODE_NAMES[node],
      ...ipamExtra,
    },
  };
}

/** bridge + cluster-ipam on node `node`; its bridge is the node's own. */
const bridgeConf = (node: number, ipamExtra: Record<string, unknown> = {}) =>
  ipamConf(node, { type: 'bridge', bridge: 'tce-br0' }, ipamExtra);

function env(command: string, cid: string, container?: string, extra: Record<string, string> = {}): CniEnv {
  return { CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_NETNS: container ? netnsPath(container) : '', CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN, ...extra };
}

const PLUGIN = (name: string): string => name;
const nodeNs = (i: number): string => ul.nodes[i]!.ns;

function newContainer(): string {
  const c = createNetns('tce-c');
  containers.push(c);
  return c;
}

/** Claims under the prefix (etcdctl): ip -> parsed value. */
function claims(network = NET): Map<string, { containerID: string; ifname: string; node: string }> {
  const out = new Map<string, { containerID: string; ifname: string; node: string }>();
  for (const [k, v] of ul.etcd.keys(`${PREFIX}/${network}/`)) {
    const ip = k.slice(`${PREFIX}/${network}/`.length);
    if (!ip.startsWith('_')) out.set(ip, JSON.parse(v));
  }
  return out;
}

const addressOf = (r: PluginRun): string => ((r.json as { ips: { address: string }[] }).ips[0]!.address);
const codeOf = (r: PluginRun): number | undefined => (r.json as { code?: number } | undefined)?.code;

function containerAddresses(c: string): string[] {
  const links = ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', 'eth0'], c);
  return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));
}

describe.skipIf(missing !== undefined)('cluster-ipam: three nodes, one pool, a 3-member etcd', () => {
  beforeAll(async () => {
    ul = await startUnderlay({ prefix: 'tce', base: '10.155.0', nodes: 3, clientPort: 23793, peerPort: 23803 });
  }, 90_000);

  afterAll(async () => {
    for (const c of containers.splice(0)) removeNetns(c);
    await ul?.remove();
  });

  const adds: { cid: string; node: number; container: string; address: string }[] = [];

  it('60 parallel ADDs spread over the nodes (bridge + cluster-ipam) give 60 distinct addresses', async () => {
    const jobs = Array.from({ length: 60 }, (_, i) => ({ cid: `burst${i}`, node: i % 3, container: newContainer() }));
    const runs = await Promise.all(jobs.map((j) => runPluginInNetnsAsync(nodeNs(j.node), PLUGIN('bridge'), env('ADD', j.cid, j.container), bridgeConf(j.node))));
    runs.forEach((r, i) => expect(r.status, `${jobs[i]!.cid}: ${r.stdout}${r.stderr}`).toBe(0));
    const addresses = runs.map(addressOf);
    expect(new Set(addresses).size).toBe(60);
    jobs.forEach((j, i) => adds.push({ ...j, address: addresses[i]! }));
    // In the containers: eth0 carries exactly the address the result names.
    for (const a of adds) expect(containerAddresses(a.container)).toEqual([a.address]);
    // In etcd: 60 claims, each naming its container, ifname and node; nothing in the excluded block.
    const held = claims();
    expect(held.size).toBe(60);
    for (const a of adds) {
      expect(held.get(a.address.split('/')[0]!)).toMatchObject({ containerID: a.cid, ifname: 'eth0', node: NODE_NAMES[a.node] });
    }
    for (const ip of ['10.154.0.100', '10.154.0.101', '10.154.0.102', '10.154.0.103']) expect(held.has(ip)).toBe(false);
    for (const ip of held.keys()) expect(Number(ip.split('.')[3])).toBeGreaterThanOrEqual(10);
  }, 120_000);

  it('CHECK reads the claim back; a second ADD of the same attachment is refused', () => {
    const a = adds[0]!;
    expect(runPluginInNetns(nodeNs(a.node), PLUGIN('cluster-ipam'), env('CHECK', a.cid, a.container), ipamConf(a.node)).status).toBe(0);
    const again = runPluginInNetns(nodeNs(a.node), PLUGIN('cluster-ipam'), env('ADD', a.cid, a.container), ipamConf(a.node));
    expect(codeOf(again)).toBe(7);
    expect(again.stdout).toContain('duplicate allocation is not allowed');
    expect(runPluginInNetns(nodeNs(0), PLUGIN('cluster-ipam'), env('CHECK', 'never-added', 'x'), ipamConf(0)).json).toMatchObject({ code: 3 });
  });

  it('one etcd member killed in the middle of a burst: allocations go on, no duplicates', async () => {
    const jobs = Array.from({ length: 30 }, (_, i) => ({ cid: `kill1-${i}`, node: i % 3 }));
    // The leader goes: the others must elect a new one while the calls are in flight.
    const victim = ul.etcd.leader();
    if (victim === undefined) throw new Error('no etcd leader found');
    const pending = jobs.map((j) => runPluginInNetnsAsync(nodeNs(j.node), PLUGIN('cluster-ipam'), env('ADD', j.cid, 'x'), ipamConf(j.node)));
    // Kill it once the burst has started landing (some claims of it are in etcd), not before.
    let landed = 0;
    while ((landed = claims().size - 60) < 1) await new Promise((r) => setTimeout(r, 20));
    await ul.etcd.kill(victim);
    try {
      const runs = await Promise.all(pending);
      // The kill really fell in the middle of the burst.
      expect(landed).toBeLessThan(30);
      runs.forEach((r, i) => expect(r.status, `${jobs[i]!.cid}: ${r.stdout}${r.stderr}`).toBe(0));
      const addresses = runs.map(addressOf);
      const all = [...adds.map((a) => a.address), ...addresses];
      expect(new Set(all).size).toBe(90);
      const held = claims();
      expect(held.size).toBe(90);
      jobs.forEach((j, i) => expect(held.get(addresses[i]!.split('/')[0]!)).toMatchObject({ containerID: j.cid, node: NODE_NAMES[j.node] }));
      // ... and while it is down, new calls work on the remaining two.
      const one = runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('ADD', 'kill1-extra', 'x'), ipamConf(1));
      expect(one.status, one.stdout).toBe(0);
      expect(runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('DEL', 'kill1-extra', 'x'), ipamConf(1)).status).toBe(0);
    } finally {
      await ul.etcd.restart(victim);
    }
  }, 120_000);

  it('two members killed: ADD fails within its deadline with code 11 naming the endpoints, and leaves nothing; restarted: service resumes', async () => {
    const container = newContainer();
    await ul.etcd.kill(1);
    await ul.etcd.kill(2);
    let failed: PluginRun;
    try {
      failed = runPluginInNetns(nodeNs(0), PLUGIN('bridge'), env('ADD', 'noquorum', container), bridgeConf(0, { etcd: { endpoints: ul.etcd.endpoints, prefix: PREFIX, dialTimeoutMs: 500, timeoutMs: 3000 } }));
      // DEL cannot reach the claims either: it must say so (code 11), not pretend success.
      const del = runPluginInNetns(nodeNs(0), PLUGIN('cluster-ipam'), env('DEL', adds[0]!.cid, adds[0]!.container), ipamConf(0, {}, { etcd: { endpoints: ul.etcd.endpoints, prefix: PREFIX, dialTimeoutMs: 500, timeoutMs: 2000 } }));
      expect(codeOf(del)).toBe(11);
      // STATUS: not available.
      const status = runPluginInNetns(nodeNs(0), PLUGIN('cluster-ipam'), env('STATUS', ''), ipamConf(0, {}, { etcd: { endpoints: ul.etcd.endpoints, prefix: PREFIX, dialTimeoutMs: 500, timeoutMs: 2000 } }));
      expect(codeOf(status)).toBe(50);
    } finally {
      await Promise.all([ul.etcd.restart(1), ul.etcd.restart(2)]);
    }
    expect(failed.status).not.toBe(0);
    const err = failed.json as { code: number; msg: string; details?: string };
    expect(err.code).toBe(11);
    for (const e of ul.etcd.endpoints) expect(`${err.msg} ${err.details}`).toContain(e);
    // Nothing left: no interface in the container, no veth on the node's bridge for it, no claim.
    expect(ipJson<{ ifname: string }[]>(['link', 'show'], container).map((l) => l.ifname)).toEqual(['lo']);
    expect([...claims().values()].some((c) => c.containerID === 'noquorum')).toBe(false);
    // Service resumes.
    const ok = runPluginInNetns(nodeNs(0), PLUGIN('bridge'), env('ADD', 'noquorum', container), bridgeConf(0));
    expect(ok.status, ok.stdout).toBe(0);
    expect(containerAddresses(container)).toEqual([addressOf(ok)]);
    expect(claims().get(addressOf(ok).split('/')[0]!)).toMatchObject({ containerID: 'noquorum', node: 'node-a' });
  }, 120_000);

  it('GC on one node removes only that node\'s stale claims', () => {
    const nodeA = adds.filter((a) => a.node === 0);
    const keep = nodeA.slice(0, 5);
    const before = claims();
    const gc = runPluginInNetns(nodeNs(0), PLUGIN('bridge'), env('GC', ''), {
      ...bridgeConf(0),
      'cni.dev/valid-attachments': [...keep.map((a) => ({ containerID: a.cid, ifname: 'eth0' })), { containerID: 'noquorum', ifname: 'eth0' }],
    });
    expect(gc.status, gc.stdout).toBe(0);
    const after = claims();
    for (const [ip, c] of before) {
      const stale = c.node === 'node-a' && !keep.some((k) => k.cid === c.containerID) && c.containerID !== 'noquorum';
      expect(after.has(ip), `${ip} ${JSON.stringify(c)}`).toBe(!stale);
    }
    expect(after.size).toBe(before.size - (before.size - [...before.values()].filter((c) => c.node !== 'node-a').length - keep.length - 1));
  });

  it('DEL is idempotent; a late DEL does not free the address another attachment now holds', () => {
    const victim = adds.find((a) => a.node === 1)!;
    const del = () => runPluginInNetns(nodeNs(1), PLUGIN('bridge'), env('DEL', victim.cid, victim.container), bridgeConf(1));
    expect(del().status).toBe(0);
    expect(del().status).toBe(0);
    // Without a netns, and for an attachment etcd never saw.
    expect(runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('DEL', victim.cid), ipamConf(1)).status).toBe(0);
    expect(runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('DEL', 'never-seen'), ipamConf(1)).status).toBe(0);
    const ip = victim.address.split('/')[0]!;
    expect(claims().has(ip)).toBe(false);
    // Another node's container now asks for that very address (CNI_ARGS IP) and gets it.
    const taker = runPluginInNetns(nodeNs(2), PLUGIN('cluster-ipam'), env('ADD', 'taker', 'x', { CNI_ARGS: `IP=${ip}` }), ipamConf(2));
    expect(taker.status, taker.stdout).toBe(0);
    expect(addressOf(taker)).toBe(victim.address);
    // The victim's DEL arrives late (a retry): the address stays with the taker.
    expect(runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('DEL', victim.cid, victim.container), ipamConf(1)).status).toBe(0);
    expect(claims().get(ip)).toMatchObject({ containerID: 'taker', node: 'node-c' });
    // A requested address someone holds: code 11, naming it.
    const clash = runPluginInNetns(nodeNs(0), PLUGIN('cluster-ipam'), env('ADD', 'clash', 'x', { CNI_ARGS: `IP=${ip}` }), ipamConf(0));
    expect(clash.json).toMatchObject({ code: 11 });
    expect(clash.stdout).toContain(ip);
  });

  it('dual stack through ranges: one claim per family; requests through runtimeConfig.ips and args.cni.ips; DEL frees both', () => {
    const ds = (node: number, extra: Record<string, unknown> = {}) => ({
      ...ipamConf(node),
      name: 'tce-ds',
      ...extra,
      ipam: { ...ipamConf(node).ipam, range: undefined, rangeStart: undefined, exclude: undefined, ranges: [[{ subnet: '10.154.2.0/24' }], [{ subnet: 'fd54:2::/64' }]] },
    });
    const a = runPluginInNetns(nodeNs(0), PLUGIN('cluster-ipam'), env('ADD', 'ds1', 'x'), ds(0));
    expect(a.status, a.stdout).toBe(0);
    expect((a.json as { ips: { address: string; gateway: string }[] }).ips).toEqual([
      { address: '10.154.2.2/24', gateway: '10.154.2.1' },
      { address: 'fd54:2::2/64', gateway: 'fd54:2::1' },
    ]);
    const b = runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('ADD', 'ds2', 'x'), ds(1, { runtimeConfig: { ips: ['fd54:2::77/64'] }, args: { cni: { ips: ['10.154.2.77'] } } }));
    expect(b.status, b.stdout).toBe(0);
    expect((b.json as { ips: { address: string }[] }).ips.map((i) => i.address)).toEqual(['10.154.2.77/24', 'fd54:2::77/64']);
    const held = claims('tce-ds');
    expect([...held.keys()].sort()).toEqual(['10.154.2.2', '10.154.2.77', 'fd54:2::2', 'fd54:2::77']);
    expect(held.get('fd54:2::77')).toMatchObject({ containerID: 'ds2', node: 'node-b' });
    expect(runPluginInNetns(nodeNs(0), PLUGIN('cluster-ipam'), env('DEL', 'ds1', 'x'), ds(0)).status).toBe(0);
    expect([...claims('tce-ds').keys()].sort()).toEqual(['10.154.2.77', 'fd54:2::77']);
  });

  it('pool exhaustion: code 11 naming the pool; STATUS says not available; a DEL makes room', () => {
    const small = (node: number) => ({ ...ipamConf(node), name: 'tce-small', ipam: { ...ipamConf(node).ipam, range: '10.154.1.0/29', rangeStart: undefined, exclude: ['10.154.1.6/32'] } });
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = runPluginInNetns(nodeNs(i % 3), PLUGIN('cluster-ipam'), env('ADD', `small${i}`, 'x'), small(i % 3));
      expect(r.status, r.stdout).toBe(0);
      got.push(addressOf(r));
    }
    // .1 is the gateway and .6 excluded: .2-.5 are the pool.
    expect(got.sort()).toEqual(['10.154.1.2/29', '10.154.1.3/29', '10.154.1.4/29', '10.154.1.5/29']);
    const full = runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('ADD', 'small-extra', 'x'), small(1));
    expect(full.json).toMatchObject({ code: 11 });
    expect((full.json as { msg: string }).msg).toContain('10.154.1.1-10.154.1.6 of network tce-small');
    const status = runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('STATUS', ''), small(1));
    expect(status.json).toMatchObject({ code: 50 });
    expect(runPluginInNetns(nodeNs(0), PLUGIN('cluster-ipam'), env('DEL', 'small0', 'x'), small(0)).status).toBe(0);
    expect(runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('STATUS', ''), small(1)).status).toBe(0);
    expect(runPluginInNetns(nodeNs(1), PLUGIN('cluster-ipam'), env('ADD', 'small-extra', 'x'), small(1)).status).toBe(0);
    expect(claims('tce-small').size).toBe(4);
  });
});

describe.skipIf(missing !== undefined)('conf-examples/macvlan-cluster-ipam.conflist', () => {
  const dir = path.join(ROOT, 'conf-examples');
  afterAll(async () => {
    for (const c of containers.splice(0)) removeNetns(c);
    await ul?.remove();
  });

  it('its entry, pointed at the test cluster and the nodes\' uplink, ADDs/CHECKs/DELs on two nodes; their containers share the L2 and the pool', async () => {
    ul = await startUnderlay({ prefix: 'tcx', base: '10.155.1', nodes: 2, clientPort: 23796, peerPort: 23806, etcdMembers: 1 });
    const list = JSON.parse(fs.readFileSync(path.join(dir, 'macvlan-cluster-ipam.conflist'), 'utf8')) as Json;
    const entry = structuredClone(list.plugins[0]) as Json;
    expect(entry.type).toBe('macvlan');
    expect(entry.ipam.type).toBe('cluster-ipam');
    // What a site changes: the uplink, the pool (here the underlay's own /24 so the containers can
    // talk across nodes) and the etcd endpoints (the test cluster has no TLS; TLS is tested in
    // test/integration/etcd/tls-netns.test.ts). Every other key is the example's own.
    entry.master = 'ul0';
    Object.assign(entry.ipam, { range: '10.155.1.0/24', rangeStart: '10.155.1.100', rangeEnd: '10.155.1.199', exclude: ['10.155.1.100/31'], gateway: '10.155.1.1' });
    entry.ipam.etcd = { ...entry.ipam.etcd, endpoints: ul.etcd.endpoints, certFile: undefined, keyFile: undefined, trustedCAFile: undefined };
    const conf = (node: number) => ({ cniVersion: list.cniVersion, name: list.name, ...entry, ipam: { ...entry.ipam, nodeName: `ex-${node}` } });
    const ctr = [newContainer(), newContainer()];
    const results = [0, 1].map((n) => {
      const r = runPluginInNetns(nodeNs(n), 'macvlan', env('ADD', `ex${n}`, ctr[n]), conf(n));
      expect(r.status, r.stdout + r.stderr).toBe(0);
      return r;
    });
    const addrs = results.map(addressOf);
    expect(addrs).toEqual(['10.155.1.102/24', '10.155.1.103/24']);
    for (const n of [0, 1]) expect(containerAddresses(ctr[n]!)).toEqual([addrs[n]]);
    expect(ping(ctr[0]!, addrs[1]!.split('/')[0]!, 3)).toBe(true);
    for (const n of [0, 1]) {
      const check = runPluginInNetns(nodeNs(n), 'macvlan', env('CHECK', `ex${n}`, ctr[n]), { ...conf(n), prevResult: results[n]!.json });
      expect(check.status, check.stdout).toBe(0);
      expect(runPluginInNetns(nodeNs(n), 'macvlan', env('DEL', `ex${n}`, ctr[n]), { ...conf(n), prevResult: results[n]!.json }).status).toBe(0);
    }
    expect(ul.etcd.keys('/tscni/ipam/flat-l2/').size).toBe(1); // the cursor only
  }, 90_000);
});
