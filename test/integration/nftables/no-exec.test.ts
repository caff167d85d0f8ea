// The nftables backend runs no program: a masquerading bridge (ipMasqBackend nftables, with
// macspoofchk), a masquerading ptp and the firewall plugin (backend nftables) are run under
// `strace -f -e trace=execve`
// and each ADD, CHECK and DEL shows exactly one execve, the plugin's own. `nft` reads the result back.
// Also: a refused batch changes nothing and names the change; a refusal reaches the runtime as code 100;
// the iptables form skips the iptables-save an ADD or DEL can do without.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, netnsPath, removeAllNetns } from '../../helpers/netns.js';
import { DIST_BIN } from '../../helpers/plugin.js';

const skip =
  process.getuid?.() !== 0 ? 'needs root' : ['strace', 'nft'].find((t) => spawnSync('which', [t]).status !== 0);

interface Traced { status: number; stdout: string; execs: string[] }

/** Runs dist/bin/<plugin> in `node` under strace; the execve lines of the whole process tree. */
function traced(node: string, plugin: string, env: Record<string, string>, conf: unknown): Traced {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tnf-strace-'));
  const trace = path.join(dir, 'trace');
  try {
    const r = spawnSync('ip', ['netns', 'exec', node, 'strace', '-f', '-qq', '-e', 'trace=execve', '-o', trace, path.join(DIST_BIN, plugin)], {
      env: { PATH: process.env.PATH, CNI_PATH: DIST_BIN, ...env }, input: JSON.stringify(conf), encoding: 'utf8',
    });
    const execs = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('execve('));
    return { status: r.status ?? -1, stdout: r.stdout, execs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ruleset = (ns: string): string => execInNetns(ns, 'nft', ['-j', 'list', 'ruleset']).stdout;
const repo = path.join(path.dirname(new URL(import.meta.url).pathname), '../../..');

describe.skipIf(skip)(`nftables backend: no process per call${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let node = '';
  let ctr = '';
  let dataDir = '';
  beforeAll(() => {
    node = createNetns('tnf-node');
    ctr = createNetns('tnf-ctr');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tnf-ipam-'));
  });
  afterAll(() => {
    removeAllNetns();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const env = (command: string, id: string) => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netnsPath(ctr), CNI_IFNAME: 'eth0', TSCNI_STATE_DIR: dataDir });

  it('bridge with ipMasq (nftables) and macspoofchk: ADD, CHECK, DEL are one execve each', () => {
    const conf = {
      cniVersion: '1.1.0', name: 'tnf-net', type: 'bridge', bridge: 'tnfbr0', isGateway: true, ipMasq: true, ipMasqBackend: 'nftables', macspoofchk: true,
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.151.10.0/24' }], [{ subnet: 'fd51:10::/64' }]] },
    };
    const add = traced(node, 'bridge', env('ADD', 'tnf-b1'), conf);
    expect(add.status, add.stdout).toBe(0);
    expect(add.execs, add.execs.join('\n')).toHaveLength(1);
    const rules = ruleset(node);
    expect(rules).toContain('"masq_checks"');
    expect(rules).toContain('macspoofchk-tnf-b1-eth0');
    expect(rules).toContain('10.151.10.2');
    const check = traced(node, 'bridge', env('CHECK', 'tnf-b1'), { ...conf, prevResult: JSON.parse(add.stdout) });
    expect(check.status, check.stdout).toBe(0);
    expect(check.execs).toHaveLength(1);
    const del = traced(node, 'bridge', env('DEL', 'tnf-b1'), conf);
    expect(del.status, del.stdout).toBe(0);
    expect(del.execs, del.execs.join('\n')).toHaveLength(1);
    const after = ruleset(node);
    expect(after).not.toContain('tnf-b1');
    expect(after).not.toContain('10.151.10.2');
  });

  it('ptp with ipMasq (nftables): ADD and DEL are one execve each', () => {
    const conf = {
      cniVersion: '1.1.0', name: 'tnf-ptp', type: 'ptp', ipMasq: true, ipMasqBackend: 'nftables',
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.151.13.0/24' }], [{ subnet: 'fd51:13::/64' }]] },
    };
    const add = traced(node, 'ptp', { ...env('ADD', 'tnf-p1'), CNI_IFNAME: 'eth1' }, conf);
    expect(add.status, add.stdout).toBe(0);
    expect(add.execs, add.execs.join('\n')).toHaveLength(1);
    expect(ruleset(node)).toContain('if: eth1, id: tnf-p1');
    const del = traced(node, 'ptp', { ...env('DEL', 'tnf-p1'), CNI_IFNAME: 'eth1' }, conf);
    expect(del.status, del.stdout).toBe(0);
    expect(del.execs, del.execs.join('\n')).toHaveLength(1);
    expect(ruleset(node)).not.toContain('tnf-p1');
  });

  it('bridge with ipMasq (iptables): a first ADD runs only one iptables-restore per family (no save: its chain cannot exist yet)', () => {
    const conf = {
      cniVersion: '1.1.0', name: 'tnf-ipt', type: 'bridge', bridge: 'tnfbr2', isGateway: true, ipMasq: true, ipMasqBackend: 'iptables',
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.151.14.0/24' }], [{ subnet: 'fd51:14::/64' }]] },
    };
    const tools = (t: Traced) => t.execs.slice(1).map((l) => /execve\("([^"]+)"/.exec(l)?.[1]?.split('/').pop()).sort();
    const add = traced(node, 'bridge', env('ADD', 'tnf-i1'), conf);
    expect(add.status, add.stdout).toBe(0);
    expect(tools(add)).toEqual(['ip6tables-restore', 'iptables-restore']);
    expect(execInNetns(node, 'iptables-save', ['-t', 'nat']).stdout).toMatch(/-A POSTROUTING -s 10\.151\.14\.2\/32 .*-j CNI-/);
    expect(execInNetns(node, 'ip6tables-save', ['-t', 'nat']).stdout).toMatch(/-A POSTROUTING -s fd51:14::2\/128 .*-j CNI-/);
    // DEL must read the rules (the jumps to delete): one save and one restore per family.
    const del = traced(node, 'bridge', env('DEL', 'tnf-i1'), conf);
    expect(del.status, del.stdout).toBe(0);
    expect(tools(del)).toEqual(['ip6tables-restore', 'ip6tables-save', 'iptables-restore', 'iptables-save']);
    expect(execInNetns(node, 'iptables-save', ['-t', 'nat']).stdout).not.toContain('tnf-i1');
    // A second DEL finds no chain in either family: no program at all.
    expect(traced(node, 'bridge', env('DEL', 'tnf-i1'), conf).execs).toHaveLength(1);
  });

  it('firewall plugin (nftables backend): ADD, CHECK, DEL are one execve each', () => {
    const prevResult = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'tnfbr1' }, { name: 'tnfveth1' }, { name: 'eth0', sandbox: netnsPath(ctr) }],
      ips: [{ address: '10.151.11.2/24', interface: 2 }, { address: 'fd51:11::2/64', interface: 2 }],
    };
    const conf = { cniVersion: '1.1.0', name: 'tnf-fw', type: 'firewall', backend: 'nftables', prevResult };
    const fwEnv = (command: string) => ({ ...env(command, 'tnf-f1'), DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dataDir}/no-bus` });
    for (const command of ['ADD', 'CHECK', 'DEL']) {
      const r = traced(node, 'firewall', fwEnv(command), conf);
      expect(r.status, `${command}: ${r.stdout}`).toBe(0);
      expect(r.execs, `${command}: ${r.execs.join('\n')}`).toHaveLength(1);
      expect(ruleset(node).includes('id: tnf-f1'), command).toBe(command !== 'DEL');
    }
  });

  it('a refused batch applies nothing and names the refused change; the plugin reports a refusal as code 100', () => {
    const scratch = createNetns('tnf-atomic');
    const r = spawnSync('ip', ['netns', 'exec', scratch, path.join(repo, 'node_modules/.bin/node'), '--import', path.join(repo, 'test/integration/firewall/ts-resolve.mjs'),
      path.join(repo, 'test/integration/nftables/driver.ts'), 'netlink', JSON.stringify({ kind: 'failing-batch' })], { encoding: 'utf8' });
    expect(r.stdout).toBe('error: NetlinkError: nftables: add rule inet tnf_t c (comment "bad"): ENOENT (No such file or directory)');
    expect(execInNetns(scratch, 'nft', ['list', 'ruleset']).stdout).toBe('');
    // Without CAP_NET_ADMIN the kernel refuses even the read: code 100, and the failed ADD leaves nothing.
    const conf = {
      cniVersion: '1.1.0', name: 'tnf-fw2', type: 'firewall', backend: 'nftables',
      prevResult: { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: netnsPath(ctr) }], ips: [{ address: '10.151.12.2/24', interface: 0 }] },
    };
    const add = spawnSync('ip', ['netns', 'exec', scratch, 'setpriv', '--bounding-set', '-net_admin', '--inh-caps', '-net_admin', path.join(DIST_BIN, 'firewall')], {
      env: { PATH: process.env.PATH, CNI_PATH: DIST_BIN, ...env('ADD', 'tnf-f2'), DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dataDir}/no-bus` }, input: JSON.stringify(conf), encoding: 'utf8',
    });
    expect(JSON.parse(add.stdout)).toMatchObject({ code: 100, msg: 'failed to add firewall rules (nftables)', details: expect.stringContaining('EPERM') });
    expect(fs.existsSync(path.join(dataDir, 'firewall', 'tnf-fw2', 'tnf-f2_eth0.json'))).toBe(false);
  });
});
