// bandwidth through the built binary, chained after our bridge plugin with its real prevResult, in a
// test netns that plays the node. Kernel state is read back with `tc -j` and `ip -j -d link`;
// side-by-side runs use Debian's Go 1.1.1 bandwidth in /usr/lib/cni.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, removeDir, runIn as runInNode, tempDir, type Impl } from '../../helpers/node-rig.js';
import { link, type IpLink } from '../../helpers/ip.js';
import type { PluginRun } from '../../helpers/plugin.js';

// bandwidth keeps a per-attachment record (for GC) under TSCNI_STATE_DIR: a test-owned one.
const stateDir = tempDir('bw-state-');
afterAll(() => removeDir(stateDir));
const runIn: typeof runInNode = (ns, plugin, env, config, impl) => runInNode(ns, plugin, { TSCNI_STATE_DIR: stateDir, ...env }, config, impl);

const NET = 'bwnet';
let node: string;
let dataDir: string;

interface Iface { name: string; mac?: string; sandbox?: string; mtu?: number }
interface Res { cniVersion: string; interfaces: Iface[]; ips: unknown[] }
interface TcQdisc { kind: string; handle: string; dev?: string; root?: boolean; parent?: string; options?: Record<string, unknown>; bytes?: number }

function bridgeConf(version = '1.0.0'): Record<string, unknown> {
  return {
    cniVersion: version,
    name: NET,
    type: 'bridge',
    bridge: 'bw-br0',
    isGateway: true,
    mtu: 1400,
    ipam: { type: 'host-local', subnet: '10.34.1.0/24', dataDir },
  };
}

function bwConf(prevResult: unknown, extra: Record<string, unknown>, version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: NET, type: 'bandwidth', ...extra, ...(prevResult ? { prevResult } : {}) };
}

const BOTH = { ingressRate: 800000, ingressBurst: 80000, egressRate: 1600000, egressBurst: 160000 };

/** A container attached by our bridge plugin: its netns, id and the bridge's result. */
function container(cid: string, version = '1.0.0'): { ns: string; cid: string; res: Res } {
  const ns = createNetns('bw-c');
  const r = runIn(node, 'bridge', cniEnv('ADD', ns, cid), bridgeConf(version));
  expect(r.status, r.stdout).toBe(0);
  return { ns, cid, res: r.json as Res };
}

const hostVethOf = (res: Res): string => (res.interfaces.find((i) => !i.sandbox && i.name.startsWith('veth')) as Iface).name;
const tcJson = <T>(args: string[]): T => {
  const out = sh(node, 'tc', ['-j', ...args]);
  return (out.trim() ? JSON.parse(out) : []) as T;
};
const qdiscs = (dev: string): TcQdisc[] => tcJson<TcQdisc[]>(['qdisc', 'show', 'dev', dev]);
const rootQdisc = (dev: string): TcQdisc | undefined => qdiscs(dev).find((q) => q.root);
const ifbs = (): IpLink[] =>
  (JSON.parse(sh(node, 'ip', ['-j', '-d', 'link', 'show', 'type', 'ifb'])) as IpLink[]).filter((l) => l.ifname.startsWith('bwp'));
const msgOf = (r: PluginRun): string => (r.json as { msg?: string } | undefined)?.msg ?? '';
const codeOf = (r: PluginRun): number => (r.json as { code?: number } | undefined)?.code ?? 0;

interface U32Entry { options?: { flowid?: string; match?: unknown; actions?: Array<Record<string, unknown>> } }
/** The u32 rule (not the hash-table entries) of a filter dump, its actions without the global action indexes. */
function redirectRule(dev: string): U32Entry['options'] {
  const rules = tcJson<U32Entry[]>(['filter', 'show', 'dev', dev, 'parent', 'ffff:']).filter((f) => f.options?.actions);
  expect(rules).toHaveLength(1);
  const o = rules[0]?.options;
  return { ...o, actions: o?.actions?.map(({ index: _i, ref: _r, bind: _b, ...rest }) => rest) };
}

function add(c: { ns: string; cid: string; res: Res }, extra: Record<string, unknown>, impl: Impl = 'ours', version = '1.0.0'): PluginRun {
  return runIn(node, 'bandwidth', cniEnv('ADD', c.ns, c.cid), bwConf(c.res, extra, version), impl);
}

beforeEach(() => {
  node = createNetns('bw-node');
  sh(node, 'ip', ['link', 'set', 'lo', 'up']);
  dataDir = tempDir('bw-ipam-');
});

afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
});

describe('bandwidth ADD/CHECK/DEL', () => {
  it('both directions: tbf on the host veth, ifb UP with the veth MTU, alias, redirect filter, tbf on the ifb; CHECK; DEL', () => {
    const c = container('c1');
    const veth = hostVethOf(c.res);
    const r = add(c, BOTH);
    expect(r.status, r.stdout).toBe(0);
    const res = r.json as Res;
    expect(res.interfaces).toHaveLength(4);
    expect(res.interfaces.slice(0, 3)).toEqual(c.res.interfaces);
    const ifbIface = res.interfaces[3] as Iface;
    expect(ifbIface.name).toMatch(/^bwp[0-9a-f]{12}$/);
    expect(ifbIface.sandbox).toBeUndefined();

    const ifb = link(node, ifbIface.name) as IpLink & { ifalias?: string; txqlen?: number };
    expect(ifb.address).toBe(ifbIface.mac);
    expect(ifb.mtu).toBe(1400);
    expect(link(node, veth)?.mtu).toBe(1400);
    expect(ifb.flags).toContain('UP');
    expect(ifb.linkinfo?.info_kind).toBe('ifb');
    expect(ifb.ifalias).toBe(`tscni bandwidth net=${NET} id=c1 if=eth0 host=${veth}`);

    expect(rootQdisc(veth)).toMatchObject({ kind: 'tbf', handle: '1:', options: { rate: 100000, burst: 10000, lat: 25000 } });
    expect(qdiscs(veth).find((q) => q.kind === 'ingress')).toMatchObject({ handle: 'ffff:', parent: 'ffff:fff1' });
    expect(rootQdisc(ifbIface.name)).toMatchObject({ kind: 'tbf', handle: '1:', options: { rate: 200000, burst: 20000, lat: 25000 } });
    const rule = redirectRule(veth);
    expect(rule?.flowid).toBe('1:1');
    expect(rule?.actions).toEqual([
      { order: 1, kind: 'mirred', mirred_action: 'redirect', direction: 'egress', to_dev: ifbIface.name, control_action: { type: 'stolen' } },
      { order: 2, kind: 'mirred', mirred_action: 'redirect', direction: 'egress', to_dev: ifbIface.name, control_action: { type: 'pass' } },
    ]);

    const chk = runIn(node, 'bandwidth', cniEnv('CHECK', c.ns, c.cid), bwConf(res, BOTH));
    expect(chk.status, chk.stdout).toBe(0);
    // CHECK notices a changed shaper (the ifb's tbf replaced by one with another rate).
    sh(node, 'tc', ['qdisc', 'replace', 'dev', ifbIface.name, 'root', 'handle', '1:', 'tbf', 'rate', '3200kbit', 'burst', '20000', 'latency', '25ms']);
    const bad = runIn(node, 'bandwidth', cniEnv('CHECK', c.ns, c.cid), bwConf(res, BOTH));
    expect([bad.status, codeOf(bad), msgOf(bad)]).toEqual([1, 101, "Rate doesn't match"]);

    const del = runIn(node, 'bandwidth', cniEnv('DEL', c.ns, c.cid), bwConf(res, BOTH));
    expect(del.status, del.stdout).toBe(0);
    expect(link(node, ifbIface.name)).toBeUndefined();
    // Idempotent: again, without netns, without prevResult.
    expect(runIn(node, 'bandwidth', cniEnv('DEL', c.ns, c.cid), bwConf(res, BOTH)).status).toBe(0);
    expect(runIn(node, 'bandwidth', { ...cniEnv('DEL', c.ns, c.cid), CNI_NETNS: '' }, bwConf(undefined, BOTH)).status).toBe(0);
  });

  it('ingress only: a tbf on the host veth, no ifb; egress only: no root shaper on the veth', () => {
    const a = container('ci');
    const ra = add(a, { ingressRate: 800000, ingressBurst: 80000 });
    expect(ra.status, ra.stdout).toBe(0);
    expect((ra.json as Res).interfaces).toHaveLength(3);
    expect(ifbs()).toEqual([]);
    expect(rootQdisc(hostVethOf(a.res))).toMatchObject({ kind: 'tbf', options: { rate: 100000, burst: 10000 } });
    expect(qdiscs(hostVethOf(a.res)).some((q) => q.kind === 'ingress')).toBe(false);

    const b = container('ce');
    const rb = add(b, { egressRate: 1600000, egressBurst: 160000 });
    expect(rb.status, rb.stdout).toBe(0);
    expect((rb.json as Res).interfaces).toHaveLength(4);
    expect(rootQdisc(hostVethOf(b.res))?.kind).toBe('noqueue');
    expect(qdiscs(hostVethOf(b.res)).some((q) => q.kind === 'ingress')).toBe(true);
    expect(ifbs()).toHaveLength(1);
  });

  it('a zero config passes prevResult through and touches nothing; a 0.3.0 config works', () => {
    const c = container('cz', '0.3.0');
    const r = add(c, { ingressRate: 0, ingressBurst: 0 }, 'ours', '0.3.0');
    expect(r.status, r.stdout).toBe(0);
    expect(r.json).toEqual(c.res);
    expect(rootQdisc(hostVethOf(c.res))?.kind).toBe('noqueue');
    const r3 = add(c, BOTH, 'ours', '0.3.0');
    expect(r3.status, r3.stdout).toBe(0);
    expect((r3.json as Res).cniVersion).toBe('0.3.0');
    expect((r3.json as Res).interfaces).toHaveLength(4);
    expect(rootQdisc(hostVethOf(c.res))?.kind).toBe('tbf');
  });

  it('runtimeConfig.bandwidth is used when the config has no static keys; static keys win over it', () => {
    const a = container('cr');
    const ra = add(a, { runtimeConfig: { bandwidth: { ingressRate: 400000, ingressBurst: 40000 } } });
    expect(ra.status, ra.stdout).toBe(0);
    expect(rootQdisc(hostVethOf(a.res))?.options).toMatchObject({ rate: 50000, burst: 5000 });
    const b = container('cs');
    const rb = add(b, { ingressRate: 800000, ingressBurst: 80000, runtimeConfig: { bandwidth: { ingressRate: 400000, ingressBurst: 40000, egressRate: 8000, egressBurst: 800 } } });
    expect(rb.status, rb.stdout).toBe(0);
    expect(rootQdisc(hostVethOf(b.res))?.options).toMatchObject({ rate: 100000, burst: 10000 });
    expect(ifbs()).toEqual([]);
  });

  it('several host veths in prevResult: the peer of <if> is shaped, not the first one listed', () => {
    const a = container('ca');
    const b = container('cb');
    const vethA = hostVethOf(a.res);
    const vethB = hostVethOf(b.res);
    // prevResult of b with a's host veth listed before b's own.
    const prev: Res = { ...b.res, interfaces: [{ name: vethA, mac: 'aa:bb:cc:00:00:01' }, ...b.res.interfaces] };
    const r = runIn(node, 'bandwidth', cniEnv('ADD', b.ns, b.cid), bwConf(prev, { ingressRate: 800000, ingressBurst: 80000 }));
    expect(r.status, r.stdout).toBe(0);
    expect(rootQdisc(vethB)?.kind).toBe('tbf');
    expect(rootQdisc(vethA)?.kind).toBe('noqueue');
  });

  it('chained after ptp: the ptp host veth is shaped and CHECK passes', () => {
    const ns = createNetns('bw-c');
    const ptp = runIn(node, 'ptp', cniEnv('ADD', ns, 'cp'), { cniVersion: '1.0.0', name: NET, type: 'ptp', ipam: { type: 'host-local', subnet: '10.34.2.0/24', dataDir } });
    expect(ptp.status, ptp.stdout).toBe(0);
    const prev = ptp.json as Res;
    const r = runIn(node, 'bandwidth', cniEnv('ADD', ns, 'cp'), bwConf(prev, BOTH));
    expect(r.status, r.stdout).toBe(0);
    const veth = hostVethOf(prev);
    expect(rootQdisc(veth)).toMatchObject({ kind: 'tbf', options: { rate: 100000, burst: 10000 } });
    expect(link(node, ((r.json as Res).interfaces[2] as Iface).name)?.mtu).toBe(link(node, veth)?.mtu);
    const chk = runIn(node, 'bandwidth', cniEnv('CHECK', ns, 'cp'), bwConf(r.json, BOTH));
    expect(chk.status, chk.stdout).toBe(0);
    // CHECK with the shaper gone from the host veth fails (the reference would pass it).
    sh(node, 'tc', ['qdisc', 'del', 'dev', veth, 'root']);
    const bad = runIn(node, 'bandwidth', cniEnv('CHECK', ns, 'cp'), bwConf(r.json, BOTH));
    expect([bad.status, codeOf(bad)]).toEqual([1, 101]);
    expect(msgOf(bad)).toContain('Failed to find qdisc');
  });

  it('errors: no prevResult, no interfaces, peer not listed, <if> not a veth, bad pairs, exclusive subnets', () => {
    const c = container('cx');
    const cases: Array<[unknown, Record<string, unknown>, string, string]> = [
      [undefined, BOTH, 'eth0', 'must be called as chained plugin'],
      [{ ...c.res, interfaces: [] }, BOTH, 'eth0', 'no interfaces provided'],
      [{ ...c.res, interfaces: c.res.interfaces.filter((i) => i.sandbox) }, BOTH, 'eth0', 'no veth peer of container interface found in host ns'],
      [c.res, BOTH, 'lo', 'container interface lo has no veth peer: interface "lo" was not a veth interface'],
      [c.res, { ingressRate: 1000 }, 'eth0', 'if rate is set, burst must also be set'],
      [c.res, { egressBurst: 1000 }, 'eth0', 'if burst is set, rate must also be set'],
      [c.res, { egressRate: 1000, egressBurst: 8 * 2 ** 32 }, 'eth0', 'burst cannot be more than 4GB'],
      [c.res, { ...BOTH, unshapedSubnets: ['10.0.0.0/8'], shapedSubnets: ['10.1.0.0/16'] }, 'eth0', 'unshapedSubnets and shapedSubnets cannot be both specified, one of them should be discarded'],
      [c.res, { ...BOTH, shapedSubnets: ['10.1.0.0'] }, 'eth0', 'bad subnet "10.1.0.0" provided, details invalid CIDR address: 10.1.0.0'],
    ];
    for (const [prev, extra, ifName, msg] of cases) {
      const r = runIn(node, 'bandwidth', cniEnv('ADD', c.ns, c.cid, ifName), bwConf(prev, extra));
      expect([r.status, codeOf(r), msgOf(r)], JSON.stringify(extra)).toEqual([1, 7, msg]);
    }
    expect(ifbs()).toEqual([]);
    expect(rootQdisc(hostVethOf(c.res))?.kind).toBe('noqueue');
    // DEL after such a failed ADD succeeds, with the same refused config.
    expect(runIn(node, 'bandwidth', cniEnv('DEL', c.ns, c.cid), bwConf(c.res, { ingressRate: 1000 })).status).toBe(0);
  });

  it('a failed ADD removes the shaper and the ifb it created, and leaves what was there', () => {
    const c = container('cf');
    const veth = hostVethOf(c.res);
    sh(node, 'tc', ['qdisc', 'add', 'dev', veth, 'handle', 'ffff:', 'ingress']); // taken: the redirect cannot be set up
    const r = add(c, BOTH);
    expect(r.status).toBe(1);
    expect(codeOf(r)).toBe(100);
    expect(msgOf(r)).toContain('EEXIST');
    expect(ifbs()).toEqual([]);
    expect(rootQdisc(veth)?.kind).toBe('noqueue');
    expect(qdiscs(veth).some((q) => q.kind === 'ingress')).toBe(true);
    expect(runIn(node, 'bandwidth', cniEnv('DEL', c.ns, c.cid), bwConf(c.res, BOTH)).status).toBe(0);
  });

  it('unshapedSubnets: htb tree on the veth and the ifb (default 1:48, filters to 1:1); shapedSubnets: default 1:1; CHECK passes', () => {
    const a = container('cu');
    const veth = hostVethOf(a.res);
    const ra = add(a, { ...BOTH, unshapedSubnets: ['10.34.9.0/24', 'fd34::/48'] });
    expect(ra.status, ra.stdout).toBe(0);
    const ifb = ((ra.json as Res).interfaces[3] as Iface).name;
    for (const [dev, rate, ceil, burst, cburst] of [[veth, '800Kbit', '1600Kbit', '10000b', '20000b'], [ifb, '1600Kbit', '3200Kbit', '20000b', '40000b']] as const) {
      expect(rootQdisc(dev)).toMatchObject({ kind: 'htb', handle: '1:', options: { r2q: 10, default: '0x30' } });
      // `tc class show` has no JSON output: its text, rates in bit/s units as tc prints them. The same
      // cbuffer ticks at twice the rate print as twice the burst.
      const classes = sh(node, 'tc', ['class', 'show', 'dev', dev]);
      expect(classes).toContain(`class htb 1:30 root prio 0 rate ${rate} ceil ${ceil} burst ${burst} cburst ${cburst}`);
      expect(classes).toContain('class htb 1:1 root prio 0 rate 800Gbit ceil 800Gbit burst 0b cburst 0b');
      const text = sh(node, 'tc', ['filter', 'show', 'dev', dev, 'parent', '1:']);
      expect(text).toMatch(/protocol ip pref 16 u32 .*flowid 1:1[\s\S]*match 0a220900\/ffffff00 at 16/);
      expect(text).toMatch(/protocol ipv6 pref 15 u32 .*flowid 1:1[\s\S]*match fd340000\/ffffffff at 24\s+match 00000000\/ffff0000 at 28/);
    }
    expect(ifbs()[0]?.txqlen).toBe(1000);
    const chk = runIn(node, 'bandwidth', cniEnv('CHECK', a.ns, a.cid), bwConf(ra.json, { ...BOTH, unshapedSubnets: ['10.34.9.0/24', 'fd34::/48'] }));
    expect(chk.status, chk.stdout).toBe(0);

    const b = container('cv');
    const rb = add(b, { runtimeConfig: { bandwidth: { egressRate: 1600000, egressBurst: 160000, shapedSubnets: ['10.34.9.0/24'] } } });
    expect(rb.status, rb.stdout).toBe(0);
    const ifbB = ((rb.json as Res).interfaces[3] as Iface).name;
    expect(rootQdisc(ifbB)).toMatchObject({ kind: 'htb', options: { default: '0x1' } });
    expect(sh(node, 'tc', ['filter', 'show', 'dev', ifbB, 'parent', '1:'])).toMatch(/flowid 1:30[\s\S]*match 0a220900\/ffffff00 at 16/);
    expect(rootQdisc(hostVethOf(b.res))?.kind).toBe('noqueue');
  });

  it('GC removes the ifbs (and the veth redirect) of stale attachments of this network only; Go-made ifbs are left', () => {
    const keep = container('gk');
    const stale = container('gs');
    const goMade = container('gg');
    expect(add(keep, BOTH).status).toBe(0);
    expect(add(stale, BOTH).status).toBe(0);
    expect(add(goMade, BOTH, 'ref').status).toBe(0);
    // Another network's ifb (same alias scheme) on the same node.
    const other = container('go');
    expect(runIn(node, 'bandwidth', cniEnv('ADD', other.ns, other.cid), { ...bwConf(other.res, BOTH), name: 'othernet' }).status).toBe(0);
    expect(ifbs()).toHaveLength(4);
    const gc = runIn(node, 'bandwidth', { CNI_COMMAND: 'GC' }, {
      cniVersion: '1.1.0', name: NET, type: 'bandwidth', 'cni.dev/valid-attachments': [{ containerID: 'gk', ifname: 'eth0' }],
    });
    expect(gc.status, gc.stdout).toBe(0);
    const left = ifbs().map((l) => (l as IpLink & { ifalias?: string }).ifalias ?? 'none');
    expect(left.sort()).toEqual(['none', `tscni bandwidth net=${NET} id=gk if=eth0 host=${hostVethOf(keep.res)}`, `tscni bandwidth net=othernet id=go if=eth0 host=${hostVethOf(other.res)}`].sort());
    expect(qdiscs(hostVethOf(stale.res)).map((q) => q.kind)).toEqual(['noqueue']);
    expect(qdiscs(hostVethOf(keep.res)).map((q) => q.kind).sort()).toEqual(['ingress', 'tbf']);
    const st = runIn(node, 'bandwidth', { CNI_COMMAND: 'STATUS' }, { cniVersion: '1.1.0', name: NET, type: 'bandwidth' });
    expect(st.status, st.stdout).toBe(0);
  });
});

describe('side by side with the Go reference (Debian 1.1.1)', () => {
  it('same result and the same tc state apart from names; each DEL removes the other one\'s ifb', () => {
    const ours = container('so');
    const ref = container('sr');
    const ro = add(ours, BOTH, 'ours');
    const rr = add(ref, BOTH, 'ref');
    expect(ro.status, ro.stdout).toBe(0);
    expect(rr.status, rr.stdout).toBe(0);
    const ro1 = ro.json as Res;
    const rr1 = rr.json as Res;
    // Each result is its prevResult plus the ifb (name and MAC, no sandbox); Debian's 1.1.1 also
    // prints the empty dns object the latest library omits.
    const withIfb = (c: { res: Res }, r: Res) => ({ ...c.res, interfaces: [...c.res.interfaces, { name: r.interfaces[3]?.name, mac: r.interfaces[3]?.mac }] });
    expect(ro1).toEqual(withIfb(ours, ro1));
    expect({ ...rr1, dns: undefined }).toEqual({ ...withIfb(ref, rr1), dns: undefined });
    expect(rr1.interfaces[3]?.name).toMatch(/^bwp[0-9a-f]{12}$/);
    const ifbO = (ro1.interfaces[3] as Iface).name;
    const ifbR = (rr1.interfaces[3] as Iface).name;
    const vO = hostVethOf(ours.res);
    const vR = hostVethOf(ref.res);
    const shape = (dev: string) => qdiscs(dev).map(({ dev: _d, ...q }) => q);
    expect(shape(vO)).toEqual(shape(vR));
    expect(shape(ifbO)).toEqual(shape(ifbR));
    const rule = (dev: string, ifb: string) => JSON.parse(JSON.stringify(redirectRule(dev)).replaceAll(ifb, 'IFB').replace(/"fh":"[0-9a-f]+:/g, '"fh":"X:').replace(/"key_ht":"[0-9a-f]+"/g, '"key_ht":"X"'));
    expect(rule(vO, ifbO)).toEqual(rule(vR, ifbR));
    const linkOf = (name: string) => {
      const { ifindex: _i, ifname: _n, address: _a, ifalias: _al, ...rest } = link(node, name) as IpLink & { ifalias?: string; ifindex?: number };
      return rest;
    };
    expect(linkOf(ifbO)).toEqual(linkOf(ifbR));

    // Each implementation's CHECK accepts the other one's objects.
    const goCheck = runIn(node, 'bandwidth', cniEnv('CHECK', ours.ns, ours.cid), bwConf(ro1, BOTH), 'ref');
    expect(goCheck.status, goCheck.stdout).toBe(0);
    const ourCheck = runIn(node, 'bandwidth', cniEnv('CHECK', ref.ns, ref.cid), bwConf(rr1, BOTH), 'ours');
    expect(ourCheck.status, ourCheck.stdout).toBe(0);

    // Our ifb removed by Go's DEL, Go's by ours.
    expect(runIn(node, 'bandwidth', cniEnv('DEL', ours.ns, ours.cid), bwConf(ro1, BOTH), 'ref').status).toBe(0);
    expect(runIn(node, 'bandwidth', cniEnv('DEL', ref.ns, ref.cid), bwConf(rr1, BOTH), 'ours').status).toBe(0);
    expect(ifbs()).toEqual([]);
  });
});

describe('real traffic', () => {
  const SIZE = 100_000; // bytes
  const RATE = 400_000; // bit/s
  const BURST = 40_000; // bits

  /** Sends SIZE bytes from `from` to `to`:port over TCP; resolves with the seconds until the receiver had them all. */
  async function transfer(from: string, to: string, toIP: string, port: number, file: string): Promise<{ seconds: number; received: number }> {
    const rx = spawn('ip', ['netns', 'exec', to, 'socat', '-u', `TCP-LISTEN:${port},reuseaddr`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let received = 0;
      rx.stdout.on('data', (b: Buffer) => (received += b.length));
      const done = new Promise<void>((resolve) => rx.on('close', () => resolve()));
      // Wait for the listener.
      for (let i = 0; i < 50 && !sh(to, 'ss', ['-ltn']).includes(`:${port}`); i++) await new Promise((r) => setTimeout(r, 50));
      const start = process.hrtime.bigint();
      const tx = execInNetns(from, 'socat', ['-u', `FILE:${file}`, `TCP:${toIP}:${port}`]);
      expect(tx.status, tx.stderr).toBe(0);
      await done;
      return { seconds: Number(process.hrtime.bigint() - start) / 1e9, received };
    } finally {
      if (rx.exitCode === null) rx.kill();
    }
  }

  it('a shaped transfer takes at least what the rate implies, in both directions; an unshaped one goes through no shaper', async () => {
    const file = path.join(dataDir, 'payload');
    writeFileSync(file, Buffer.alloc(SIZE, 0x5a));
    const shaped = container('ts');
    const peer = container('tp');
    const ipOf = (res: Res): string => ((res.ips[0] as { address: string }).address.split('/')[0]) as string;
    const r = add(shaped, { ingressRate: RATE, ingressBurst: BURST, egressRate: RATE, egressBurst: BURST });
    expect(r.status, r.stdout).toBe(0);
    const ifb = ((r.json as Res).interfaces[3] as Iface).name;
    // The least time: everything past one burst at the rate.
    const minSeconds = ((SIZE * 8 - BURST) / RATE) * 0.9;

    const out = await transfer(shaped.ns, peer.ns, ipOf(peer.res), 5301, file); // egress of the shaped container
    expect(out.received).toBe(SIZE);
    expect(out.seconds).toBeGreaterThanOrEqual(minSeconds);
    expect(tcJson<TcQdisc[]>(['-s', 'qdisc', 'show', 'dev', ifb])[0]?.bytes ?? 0).toBeGreaterThanOrEqual(SIZE);

    const inward = await transfer(peer.ns, shaped.ns, ipOf(shaped.res), 5302, file); // ingress of the shaped container
    expect(inward.received).toBe(SIZE);
    expect(inward.seconds).toBeGreaterThanOrEqual(minSeconds);

    // The same transfer between two unshaped containers: completes, and no tbf is on its path.
    const other = container('tu');
    const free = await transfer(other.ns, peer.ns, ipOf(peer.res), 5303, file);
    expect(free.received).toBe(SIZE);
    expect([hostVethOf(other.res), hostVethOf(peer.res)].map((d) => rootQdisc(d)?.kind)).toEqual(['noqueue', 'noqueue']);
    console.log(`bandwidth traffic: shaped egress ${out.seconds.toFixed(2)} s, shaped ingress ${inward.seconds.toFixed(2)} s, unshaped ${free.seconds.toFixed(3)} s (lower bound ${minSeconds.toFixed(2)} s)`);
  });
});
