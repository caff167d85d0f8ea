// scripts/exec-plugins.sh and scripts/priv-net-run.sh, run as a user would (bash, inside a test netns
// that plays the node) against dist/bin: a bridge+host-local .conf (eth0) and a .conflist with
// bridge, portmap, firewall and tuning (eth1). The kernel is checked with ip -j and iptables-save,
// the leases with the host-local data directory: after del or exit nothing may be left.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, ipJson, netnsPath, removeAllNetns, removeNetns } from '../../helpers/netns.js';
import { DIST_BIN, ROOT } from '../../helpers/plugin.js';

const EXEC_PLUGINS = path.join(ROOT, 'scripts/exec-plugins.sh');
const PRIV_NET_RUN = path.join(ROOT, 'scripts/priv-net-run.sh');
const PREFIX = `in-pr${randomBytes(2).toString('hex')}`;
const HOST_PORT = 18339;

let node = '';
let tmp = '';
let env: NodeJS.ProcessEnv = {};

interface Link {
  ifname: string;
  mtu: number;
  link_type?: string;
  linkinfo?: { info_kind?: string };
}
interface AddrInfo {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

beforeAll(() => {
  node = createNetns('in-node');
  execInNetns(node, 'ip', ['link', 'set', 'lo', 'up']);
  tmp = fs.mkdtempSync('/tmp/in-scripts-');
  const confDir = path.join(tmp, 'net.d');
  fs.mkdirSync(confDir);
  const ipam = (subnet: string): unknown => ({ type: 'host-local', dataDir: path.join(tmp, 'ipam'), ranges: [[{ subnet }]] });
  fs.writeFileSync(
    path.join(confDir, '10-bridge.conf'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'in-net0', type: 'bridge', bridge: 'in-br0', isGateway: true, ipMasq: true, ipam: ipam('10.39.1.0/24') }),
  );
  fs.writeFileSync(
    path.join(confDir, '20-chain.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'in-net1',
      plugins: [
        { type: 'bridge', bridge: 'in-br1', isGateway: true, ipam: ipam('10.39.2.0/24') },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'firewall', backend: 'iptables' },
        { type: 'tuning', mtu: 1400, dataDir: path.join(tmp, 'tuning') },
      ],
    }),
  );
  fs.writeFileSync(path.join(confDir, 'README.txt'), 'not a configuration: ignored');
  env = {
    PATH: process.env.PATH,
    NETCONFPATH: confDir,
    CNI_PATH: DIST_BIN,
    EXEC_PLUGINS_STATE_DIR: path.join(tmp, 'results'),
    TSCNI_STATE_DIR: path.join(tmp, 'state'),
    PRIV_NET_RUN_PREFIX: PREFIX,
    CAP_ARGS: JSON.stringify({ portMappings: [{ hostPort: HOST_PORT, containerPort: 80, protocol: 'tcp' }] }),
  };
});

afterAll(() => {
  for (const ns of fs.readdirSync('/run/netns').filter((n) => n.startsWith(PREFIX))) removeNetns(ns);
  removeAllNetns();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a script inside the node netns, as root on that node would. */
function inNode(script: string, args: string[], input = ''): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', node, 'bash', script, ...args], { env, input, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const iptablesSave = (): string => execInNetns(node, 'iptables-save', []).stdout;
const nodeVeths = (): Link[] => ipJson<Link[]>(['-d', 'link', 'show', 'type', 'veth'], node);
/** host-local allocations: files named like an IP in <dataDir>/<network>/. */
function leases(): string[] {
  const root = path.join(tmp, 'ipam');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).flatMap((net) => fs.readdirSync(path.join(root, net)).filter((f) => /^[0-9a-f.:]+$/.test(f) && f.includes('.')));
}

/** Everything priv-net-run / exec-plugins del must have removed. */
function expectNothingLeft(): void {
  expect(fs.readdirSync('/run/netns').filter((n) => n.startsWith(PREFIX))).toEqual([]);
  expect(nodeVeths()).toEqual([]);
  expect(leases()).toEqual([]);
  const rules = iptablesSave();
  expect(rules).not.toContain('10.39.');
  expect(rules).not.toContain(String(HOST_PORT));
  expect(fs.readdirSync(path.join(tmp, 'results'))).toEqual([]);
  expect(fs.existsSync(path.join(tmp, 'tuning')) ? fs.readdirSync(path.join(tmp, 'tuning')) : []).toEqual([]);
}

describe('exec-plugins.sh', () => {
  it('add wires eth0 (.conf) and eth1 (.conflist chain), check passes, del unwires everything', () => {
    const ctr = createNetns('in-c');
    try {
      const add = inNode(EXEC_PLUGINS, ['add', 'in-ctr1', netnsPath(ctr)]);
      expect(add.status, add.stderr).toBe(0);
      const results = add.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ips: { address: string }[] });
      expect(results.map((r) => r.ips[0]!.address)).toEqual(['10.39.1.2/24', '10.39.2.2/24']);

      const addrs = ipJson<AddrInfo[]>(['addr', 'show'], ctr);
      const v4 = (ifname: string): string[] =>
        addrs.find((a) => a.ifname === ifname)?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`) ?? [];
      expect(v4('eth0')).toEqual(['10.39.1.2/24']);
      expect(v4('eth1')).toEqual(['10.39.2.2/24']);
      // tuning ran on eth1 only (the list's own interface), after bridge gave it the result.
      const links = ipJson<Link[]>(['link', 'show'], ctr);
      expect(links.find((l) => l.ifname === 'eth1')!.mtu).toBe(1400);
      expect(links.find((l) => l.ifname === 'eth0')!.mtu).toBe(1500);
      expect(nodeVeths()).toHaveLength(2);
      expect(leases().sort()).toEqual(['10.39.1.2', '10.39.2.2']);
      const rules = iptablesSave();
      expect(rules).toContain(`--dport ${HOST_PORT}`); // portmap got CAP_ARGS as runtimeConfig
      expect(rules).toContain('10.39.2.2'); // firewall admitted the container
      expect(fs.readdirSync(path.join(tmp, 'results', 'in-ctr1')).sort()).toEqual(['in-net0-eth0.json', 'in-net1-eth1.json']);

      const check = inNode(EXEC_PLUGINS, ['check', 'in-ctr1', netnsPath(ctr)]);
      expect(check.status, check.stderr).toBe(0);

      const del = inNode(EXEC_PLUGINS, ['del', 'in-ctr1', netnsPath(ctr)]);
      expect(del.status, del.stderr).toBe(0);
      expect(ipJson<Link[]>(['link', 'show'], ctr).map((l) => l.ifname)).toEqual(['lo']);
      expect(nodeVeths()).toEqual([]);
      expect(leases()).toEqual([]);
      expect(iptablesSave()).not.toContain('10.39.');
      expect(iptablesSave()).not.toContain(String(HOST_PORT));
      expect(fs.readdirSync(path.join(tmp, 'results'))).toEqual([]);
      // DEL again: idempotent.
      expect(inNode(EXEC_PLUGINS, ['del', 'in-ctr1', netnsPath(ctr)]).status).toBe(0);
    } finally {
      removeNetns(ctr);
    }
  });

  it('runs .json configs, skips a disabled list (no eth<n> taken) and ignores other files', () => {
    const confDir = path.join(tmp, 'net2.d');
    fs.mkdirSync(confDir);
    fs.writeFileSync(
      path.join(confDir, '00-off.conflist'),
      JSON.stringify({ cniVersion: '1.0.0', name: 'in-off', disabled: true, plugins: [{ type: 'in-no-such-plugin' }] }),
    );
    const ipam = { type: 'host-local', dataDir: path.join(tmp, 'ipam'), ranges: [[{ subnet: '10.39.3.0/24' }]] };
    fs.writeFileSync(path.join(confDir, '10-ptp.json'), JSON.stringify({ cniVersion: '0.3.1', name: 'in-net3', type: 'ptp', ipam }));
    fs.writeFileSync(path.join(confDir, '20-bad.conf.bak'), '{');
    const ctr = createNetns('in-c');
    const saved = env;
    env = { ...env, NETCONFPATH: confDir };
    try {
      const add = inNode(EXEC_PLUGINS, ['add', 'in-ctr3', netnsPath(ctr)]);
      expect(add.status, add.stderr).toBe(0);
      const eth0 = ipJson<Link[]>(['-d', 'link', 'show', 'eth0'], ctr);
      expect(eth0[0]!.linkinfo?.info_kind).toBe('veth');
      expect(leases()).toEqual(['10.39.3.2']);
      // 0.3.1: DEL without prevResult, as libcni does for versions before 0.4.0.
      const del = inNode(EXEC_PLUGINS, ['del', 'in-ctr3', netnsPath(ctr)]);
      expect(del.status, del.stderr).toBe(0);
      expect(ipJson<Link[]>(['link', 'show'], ctr).map((l) => l.ifname)).toEqual(['lo']);
      expect(leases()).toEqual([]);
    } finally {
      env = saved;
      removeNetns(ctr);
    }
  });

  it('names the file, network and plugin that failed, and refuses bad arguments', () => {
    const bad = inNode(EXEC_PLUGINS, ['add', '../x', '/run/netns/none']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('invalid container ID');
    const usage = inNode(EXEC_PLUGINS, ['frob', 'c', '/run/netns/none']);
    expect(usage.status).toBe(2);
    // The netns does not exist: the first plugin (bridge of 10-bridge.conf) fails with its own error.
    const fail = inNode(EXEC_PLUGINS, ['add', 'in-ctr2', '/run/netns/in-none']);
    expect(fail.status).toBe(1);
    expect(fail.stderr).toMatch(/10-bridge\.conf \(network in-net0, eth0\): plugin bridge failed: error code \d+/);
    expect(inNode(EXEC_PLUGINS, ['del', 'in-ctr2', '/run/netns/in-none']).status).toBe(0);
  });
});

describe('priv-net-run.sh', () => {
  it('runs a command that reaches the gateway in a wired netns, with the script\'s stdin, and leaves nothing', () => {
    const r = inNode(PRIV_NET_RUN, ['sh', '-c', 'ping -c 1 -W 2 10.39.1.1 && cat'], 'line from stdin\n');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 received');
    expect(r.stdout).toContain('line from stdin');
    expectNothingLeft();
  });

  it('cleans up after a failed add (a plugin missing from CNI_PATH), exit status 1', () => {
    const confDir = path.join(tmp, 'net-missing.d');
    fs.mkdirSync(confDir);
    fs.copyFileSync(path.join(env.NETCONFPATH!, '10-bridge.conf'), path.join(confDir, '10-bridge.conf'));
    fs.writeFileSync(path.join(confDir, '20-missing.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'in-miss', type: 'in-no-such-plugin' }));
    const saved = env;
    env = { ...env, NETCONFPATH: confDir };
    try {
      const r = inNode(PRIV_NET_RUN, ['true']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('plugin "in-no-such-plugin" not found in CNI_PATH');
      expectNothingLeft(); // eth0 of 10-bridge.conf was added, and removed again
    } finally {
      env = saved;
    }
  });

  it('passes a failing command’s exit status through, and leaves nothing', () => {
    const r = inNode(PRIV_NET_RUN, ['sh', '-c', 'ip -j addr show eth1 >&2; exit 7']);
    expect(r.status).toBe(7);
    expect(r.stderr).toContain('10.39.2.'); // it did run inside the wired netns
    expectNothingLeft();
  });

  // A long-running command, interrupted: as Ctrl-C does (SIGINT to the process group) and as a
  // supervisor may (SIGTERM to the script alone). Cleanup must run and the command must be gone.
  for (const [signal, target, code] of [
    ['SIGINT', 'group', 130],
    ['SIGTERM', 'script', 143],
  ] as const) {
    it(`cleans up after ${signal} to the ${target}`, async () => {
      const pidFile = path.join(tmp, `cmd-${signal}.pid`);
      const child = spawn('ip', ['netns', 'exec', node, 'bash', PRIV_NET_RUN, 'sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`], {
        env,
        stdio: 'ignore',
        detached: true, // its own process group, as a terminal job
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      try {
        const deadline = Date.now() + 20_000;
        while (!fs.existsSync(pidFile) || fs.readFileSync(pidFile, 'utf8').trim() === '') {
          if (Date.now() > deadline) throw new Error('the command did not start');
          await new Promise((r) => setTimeout(r, 50));
        }
        const cmdPid = Number(fs.readFileSync(pidFile, 'utf8'));
        expect(nodeVeths()).toHaveLength(2); // wired while it runs
        process.kill(target === 'group' ? -child.pid! : child.pid!, signal);
        expect(await exited).toBe(code);
        expect(() => process.kill(cmdPid, 0)).toThrow(); // the command is gone too
        expectNothingLeft();
      } finally {
        if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      }
    });
  }
});
