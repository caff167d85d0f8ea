// portmap outside the happy path: no mappings (no firewall tool runs at all, checked with strace),
// prevResult rules, DEL from the state record alone, GC of this network's stale attachments only
// (records, and chains the reference left), STATUS with a backend that cannot be used.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsPath } from '../../helpers/netns.js';
import { cniEnv, runIn } from '../../helpers/node-rig.js';
import { DIST_BIN } from '../../helpers/plugin.js';
import { type Container, NET, PortmapNode } from './rig.js';

const MAPPINGS = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];

/** execve calls of one portmap run in the node, traced with strace -f. */
function execves(node: PortmapNode, c: Container, command: string, conf: unknown): { status: number; execs: string[]; stdout: string } {
  const dir = fs.mkdtempSync('/tmp/pm-strace-');
  const trace = path.join(dir, 'trace');
  try {
    const env = { PATH: process.env.PATH, ...cniEnv(command, c.ns, c.id, 'eth0', { TSCNI_STATE_DIR: node.stateDir, CNI_PATH: DIST_BIN }) };
    const res = spawnSync('ip', ['netns', 'exec', node.ns, 'strace', '-f', '-qq', '-e', 'trace=execve', '-o', trace, path.join(DIST_BIN, 'portmap')], {
      env: env as NodeJS.ProcessEnv, input: JSON.stringify(conf), encoding: 'utf8',
    });
    const execs = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('execve('));
    return { status: res.status ?? -1, execs, stdout: res.stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs our portmap in the node with `hidden` tools replaced by an unusable file (private mount ns). */
function withoutTools(node: PortmapNode, hidden: string[], c: Container | undefined, command: string, conf: unknown) {
  const env = c ? cniEnv(command, c.ns, c.id, 'eth0', { TSCNI_STATE_DIR: node.stateDir, CNI_PATH: DIST_BIN }) : { CNI_COMMAND: command, CNI_PATH: DIST_BIN };
  const script = 'for t in $HIDE; do mount --bind /dev/null "$t" || exit 99; done; exec "$@"';
  const res = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', 'ip', 'netns', 'exec', node.ns, path.join(DIST_BIN, 'portmap')], {
    env: { PATH: process.env.PATH, HIDE: hidden.join(' '), ...env } as NodeJS.ProcessEnv, input: JSON.stringify(conf), encoding: 'utf8',
  });
  return { status: res.status ?? -1, json: res.stdout.trim() ? (JSON.parse(res.stdout) as { code: number; msg: string; details?: string }) : undefined };
}

describe('portmap lifecycle', () => {
  let node: PortmapNode;
  let a: Container;
  beforeAll(() => {
    node = new PortmapNode('1.1.0');
    a = node.addContainer('pm-life-a');
  });
  afterAll(() => node?.destroy());

  it('no mappings: ADD passes prevResult through, DEL does nothing, and no tool runs (one execve each)', () => {
    for (const conf of [node.portmapConf(a.result, []), { ...node.portmapConf(a.result, []), runtimeConfig: undefined }]) {
      const add = execves(node, a, 'ADD', conf);
      expect(add.status, add.stdout).toBe(0);
      expect(JSON.parse(add.stdout)).toEqual(a.result);
      expect(add.execs).toHaveLength(1);
      const del = execves(node, a, 'DEL', conf);
      expect(del.status).toBe(0);
      expect(del.execs).toHaveLength(1);
    }
    // With mappings the firewall tools do run (the trace is not blind), and UDP conntrack cleanup is
    // in-process: one iptables-save and at most one iptables-restore per family, no conntrack program.
    const udp = node.portmapConf(a.result, [{ hostPort: 5300, containerPort: 53, protocol: 'udp' }], { backend: 'iptables' });
    for (const command of ['ADD', 'DEL']) {
      const run = execves(node, a, command, udp);
      expect(run.status, run.stdout).toBe(0);
      const tools = run.execs.slice(1).map((l) => /execve\("([^"]+)"/.exec(l)?.[1]?.split('/').pop());
      expect(tools.sort(), command).toEqual(['ip6tables-restore', 'ip6tables-save', 'iptables-restore', 'iptables-save']);
    }
  });

  it('nftables backend: ADD, CHECK and DEL start no process (one execve each), and work without the nft program', () => {
    const conf = node.portmapConf(a.result, [...MAPPINGS, { hostPort: 5301, containerPort: 53, protocol: 'udp' }], { backend: 'nftables' });
    for (const command of ['ADD', 'CHECK', 'DEL']) {
      const run = execves(node, a, command, conf);
      expect(run.status, run.stdout).toBe(0);
      expect(run.execs, command).toHaveLength(1);
      expect(JSON.stringify(node.nftRuleset()).includes(a.id), command).toBe(command !== 'DEL');
    }
    // nft hidden (bind-mounted /dev/null over it): the same ADD and DEL still work.
    const add = withoutTools(node, ['/usr/sbin/nft'], a, 'ADD', conf);
    expect(add.status, JSON.stringify(add.json)).toBe(0);
    const rules = JSON.stringify(node.nftRuleset());
    expect(rules).toContain('"right":8080}},{"dnat"');
    expect(rules).toContain('"right":5301}},{"dnat"');
    expect(withoutTools(node, ['/usr/sbin/nft'], a, 'DEL', conf).status).toBe(0);
    expect(JSON.stringify(node.nftRuleset())).not.toContain(a.id);
  });

  it('requires prevResult on ADD and CHECK, with the reference messages', () => {
    const add = node.portmap('ADD', a, node.portmapConf(undefined, MAPPINGS));
    expect(add.json).toMatchObject({ code: 7, msg: 'must be called as chained plugin' });
    const check = node.portmap('CHECK', a, node.portmapConf(undefined, MAPPINGS));
    expect(check.json).toMatchObject({ code: 7, msg: 'Required prevResult missing' });
    const bad = node.portmap('ADD', a, node.portmapConf(a.result, [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }]));
    expect(bad.json).toMatchObject({ code: 7, msg: 'Invalid host port number: 0', details: 'runtimeConfig.portMappings[0].hostPort: 0' });
  });

  it.each(['iptables', 'nftables'] as const)('DEL without runtimeConfig tears down from the record (%s)', (backend) => {
    expect(node.portmap('ADD', a, node.portmapConf(a.result, MAPPINGS, { backend })).status).toBe(0);
    expect(JSON.stringify([node.natRules(4), node.nftRuleset()])).toContain(a.id);
    const del = node.portmap('DEL', a, { cniVersion: '1.1.0', name: NET, type: 'portmap' });
    expect(del.status, del.stdout).toBe(0);
    expect(JSON.stringify([node.natRules(4), node.natRules(6), node.nftRuleset()])).not.toContain(a.id);
    expect(fs.existsSync(path.join(node.stateDir, 'portmap', NET, `${a.id}_eth0.json`))).toBe(false);
  });

  it('a failed ADD leaves nothing behind', () => {
    // An nft condition the kernel refuses: the transaction fails, no rule and no record stay.
    const conf = node.portmapConf(a.result, MAPPINGS, { backend: 'nftables', conditionsV4: ['meta', 'nosuchkey', 'x'] });
    const run = node.portmap('ADD', a, conf);
    expect(run.json).toMatchObject({ code: 5, msg: 'unable to set up nftables rules for port mappings' });
    expect(JSON.stringify(node.nftRuleset())).not.toContain(a.id);
    expect(fs.readdirSync(path.join(node.stateDir, 'portmap', NET))).toEqual([]);
  });

  it('STATUS: ready with a usable backend, code 50 when the configured backend cannot be used', () => {
    const conf = (backend?: string) => ({ cniVersion: '1.1.0', name: NET, type: 'portmap', ...(backend ? { backend } : {}) });
    expect(node.portmap('STATUS', a, conf('nftables')).status).toBe(0);
    expect(node.portmap('STATUS', a, conf()).status).toBe(0);
    // The nftables backend speaks netlink: without the nft program it is still usable.
    expect(withoutTools(node, ['/usr/sbin/nft'], undefined, 'STATUS', conf('nftables')).status).toBe(0);
    const noIpt = withoutTools(node, ['/usr/sbin/xtables-nft-multi'], undefined, 'STATUS', conf('iptables'));
    expect(noIpt.json).toMatchObject({ code: 50, msg: 'portmap backend iptables is not usable' });
    // Unset backend: usable while either works, 50 when neither does.
    expect(withoutTools(node, ['/usr/sbin/xtables-nft-multi'], undefined, 'STATUS', conf()).status).toBe(0);
    expect(withoutTools(node, ['/usr/sbin/nft', '/usr/sbin/xtables-nft-multi'], undefined, 'STATUS', conf()).status).toBe(0);
    // Neither usable: no CAP_NET_ADMIN, so the kernel refuses both.
    for (const backend of [undefined, 'nftables']) {
      const r = spawnSync('ip', ['netns', 'exec', node.ns, 'setpriv', '--bounding-set', '-net_admin', '--inh-caps', '-net_admin', path.join(DIST_BIN, 'portmap')], {
        env: { PATH: process.env.PATH, CNI_COMMAND: 'STATUS', CNI_PATH: DIST_BIN }, input: JSON.stringify(conf(backend)), encoding: 'utf8',
      });
      expect(JSON.parse(r.stdout), backend).toMatchObject({ code: 50 });
    }
  });

  it('CHECK on a node whose ip6tables cannot be used checks IPv4 only (1.1.1 fails there)', () => {
    const conf = node.portmapConf(a.result, MAPPINGS, { backend: 'iptables' });
    expect(node.portmap('ADD', a, conf).status).toBe(0);
    // A private copy of /etc/alternatives without the ip6tables links, mounted over the real one.
    const alt = fs.mkdtempSync('/tmp/pm-alt-');
    try {
      for (const name of fs.readdirSync('/etc/alternatives')) {
        const from = path.join('/etc/alternatives', name);
        if (!name.startsWith('ip6tables') && fs.lstatSync(from).isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), path.join(alt, name));
      }
      const env = { PATH: process.env.PATH, ALT: alt, ...cniEnv('CHECK', a.ns, a.id, 'eth0', { TSCNI_STATE_DIR: node.stateDir, CNI_PATH: DIST_BIN }) };
      const script = 'mount --bind "$ALT" /etc/alternatives || exit 99; ip6tables-save >/dev/null 2>&1 && exit 98; exec "$@"';
      const res = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', 'ip', 'netns', 'exec', node.ns, path.join(DIST_BIN, 'portmap')], {
        env: env as NodeJS.ProcessEnv, input: JSON.stringify(conf), encoding: 'utf8',
      });
      expect(res.status, res.stdout + res.stderr).toBe(0);
      // And it still finds a missing IPv4 rule there.
      const broken = node.portmapConf(a.result, [...MAPPINGS, { hostPort: 8099, containerPort: 80, protocol: 'tcp' }], { backend: 'iptables' });
      const bad = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', 'ip', 'netns', 'exec', node.ns, path.join(DIST_BIN, 'portmap')], {
        env: env as NodeJS.ProcessEnv, input: JSON.stringify(broken), encoding: 'utf8',
      });
      expect(bad.status).toBe(1);
      expect(JSON.parse(bad.stdout)).toMatchObject({ code: 101 });
    } finally {
      fs.rmSync(alt, { recursive: true, force: true });
      node.portmap('DEL', a, conf);
    }
  });

  it('DEL of an nftables attachment succeeds on a node without nft (nothing it could remove)', () => {
    const conf = node.portmapConf(a.result, MAPPINGS, { backend: 'nftables' });
    expect(node.portmap('ADD', a, conf).status).toBe(0);
    const run = withoutTools(node, ['/usr/sbin/nft'], a, 'DEL', conf);
    expect(run.status, JSON.stringify(run.json)).toBe(0);
    expect(node.portmap('DEL', a, conf).status).toBe(0);
  });

  it('DEL without any record or mappings needs no tool even when none is installed', () => {
    const run = withoutTools(node, ['/usr/sbin/nft', '/usr/sbin/xtables-nft-multi'], a, 'DEL', { cniVersion: '1.1.0', name: NET, type: 'portmap' });
    expect(run.status).toBe(0);
  });
});

describe('portmap GC', () => {
  let node: PortmapNode;
  beforeAll(() => {
    node = new PortmapNode('1.1.0');
  });
  afterAll(() => node?.destroy());

  it("removes only this network's attachments that are not valid (records, and chains the reference left)", () => {
    const viaIpt = node.addContainer('pm-gc-ipt');
    const viaNft = node.addContainer('pm-gc-nft');
    const other = node.addContainer('pm-gc-other');
    const byGo = node.addContainer('pm-gc-go');
    expect(node.portmap('ADD', viaIpt, node.portmapConf(viaIpt.result, MAPPINGS, { backend: 'iptables' })).status).toBe(0);
    expect(node.portmap('ADD', viaNft, node.portmapConf(viaNft.result, [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }], { backend: 'nftables' })).status).toBe(0);
    // Another network sharing the node's cni_hostport tables.
    const otherConf = { ...node.portmapConf(other.result, [{ hostPort: 8082, containerPort: 80, protocol: 'tcp' }], { backend: 'nftables' }), name: 'pmother' };
    expect(node.portmap('ADD', other, otherConf).status).toBe(0);
    // The reference's ADD keeps no record: its chain is found by the dnat comment.
    const goConf = { ...node.portmapConf({ ...byGo.result, cniVersion: '1.0.0' }, [{ hostPort: 8083, containerPort: 80, protocol: 'tcp' }]), cniVersion: '1.0.0' };
    const go = node.portmap('ADD', byGo, goConf, 'ref');
    expect(go.status, go.stdout).toBe(0);

    const gc = (valid: Container[], name = NET) =>
      node.portmap('GC', viaIpt, {
        cniVersion: '1.1.0', name, type: 'portmap',
        'cni.dev/valid-attachments': valid.map((c) => ({ containerID: c.id, ifname: 'eth0' })),
      });
    const state = () => JSON.stringify([node.natRules(4), node.natRules(6), node.nftRuleset()]);

    const run = gc([viaNft]);
    expect(run.status, run.stdout).toBe(0);
    expect(state()).not.toContain(viaIpt.id);
    expect(state()).not.toContain(byGo.id);
    expect(state()).toContain(viaNft.id);
    expect(state()).toContain(other.id);
    expect(fs.readdirSync(path.join(node.stateDir, 'portmap', NET))).toEqual([`${viaNft.id}_eth0.json`]);

    expect(gc([]).status).toBe(0);
    expect(state()).not.toContain(viaNft.id);
    expect(state()).toContain(other.id);

    expect(gc([], 'pmother').status).toBe(0);
    expect(state()).not.toContain(other.id);
    expect(netnsPath(node.ns)).toContain('pm-node');
  });

  it('a container in two networks (nftables): GC of one network keeps the other network\'s rules', () => {
    const c = node.addContainer('pm-gc-two');
    const second = {
      cniVersion: '1.1.0', interfaces: [{ name: 'net1', sandbox: netnsPath(c.ns) }], ips: [{ interface: 0, address: '10.31.2.5/24' }],
    };
    const env = (command: string, ifName: string) => cniEnv(command, c.ns, c.id, ifName, { TSCNI_STATE_DIR: node.stateDir });
    const first = node.portmapConf(c.result, MAPPINGS, { backend: 'nftables' });
    expect(runIn(node.ns, 'portmap', env('ADD', 'eth0'), first).status).toBe(0);
    const otherNet = { ...node.portmapConf(second, [{ hostPort: 8090, containerPort: 80, protocol: 'tcp' }], { backend: 'nftables' }), name: 'pmother' };
    expect(runIn(node.ns, 'portmap', env('ADD', 'net1'), otherNet).status).toBe(0);
    const gcRun = runIn(node.ns, 'portmap', { CNI_COMMAND: 'GC', TSCNI_STATE_DIR: node.stateDir }, {
      cniVersion: '1.1.0', name: NET, type: 'portmap', 'cni.dev/valid-attachments': [],
    });
    expect(gcRun.status, gcRun.stdout).toBe(0);
    const rules = JSON.stringify(node.nftRuleset());
    expect(rules).not.toContain(`"${c.ip4}"`);
    expect(rules).toContain('"10.31.2.5"');
    expect(runIn(node.ns, 'portmap', env('DEL', 'net1'), otherNet).status).toBe(0);
    expect(JSON.stringify(node.nftRuleset())).not.toContain(c.id);
  });
});

describe.each(['iptables', 'nftables'] as const)('portmap parallel calls (%s)', (backend) => {
  let node: PortmapNode;
  beforeAll(() => {
    node = new PortmapNode('1.1.0');
  });
  afterAll(() => node?.destroy());

  it('concurrent ADDs on a fresh node all keep their rules, concurrent DELs leave nothing', async () => {
    const ctrs = Array.from({ length: 6 }, (_, i) => node.addContainer(`pm-par-${i}`));
    const confs = ctrs.map((c, i) => node.portmapConf(c.result, [{ hostPort: 9100 + i, containerPort: 80, protocol: 'tcp' }], { backend }));
    const adds = await Promise.all(ctrs.map((c, i) => node.portmapAsync('ADD', c, confs[i]!)));
    for (const r of adds) expect(r.status, r.stdout).toBe(0);
    for (const [i, c] of ctrs.entries()) expect(node.portmap('CHECK', c, confs[i]!).status, c.id).toBe(0);
    if (backend === 'iptables') {
      // One copy of every shared rule, one entry rule per container.
      const v4 = node.natRules(4);
      expect(v4.filter((l) => l.includes('-j CNI-HOSTPORT-DNAT'))).toHaveLength(2);
      expect(v4.filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT'))).toHaveLength(6);
    }
    const dels = await Promise.all(ctrs.map((c, i) => node.portmapAsync('DEL', c, confs[i]!)));
    for (const r of dels) expect(r.status, r.stdout).toBe(0);
    const state = JSON.stringify([node.natRules(4), node.natRules(6), node.nftRuleset()]);
    for (const c of ctrs) expect(state).not.toContain(c.id);
    expect(state).not.toContain('CNI-DN-');
  });
});
