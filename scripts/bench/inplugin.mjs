// In-plugin time per path: what our code spends from "<plugin>: <COMMAND> start" to "... done" in
// the TSCNI_TRACE=1 output (after Node's start, before its exit), next to the Go reference's WHOLE
// process (wall time of the same `nsenter` + exec), interleaved in one loop. The question it answers:
// once the runtime has started, is our work at or below everything Go does for the same call?
// A DEL that deletes a link (bridge, ptp, macvlan: the container veth/macvlan; bandwidth: the ifb)
// also prints the kernel's own delete ("link found" -> "link deleted", ~20 ms of RCU grace periods);
// it is reported apart, since neither implementation can make the kernel faster.
//
// Paths: bridge+host-local, ptp, macvlan, loopback, host-local alone (main plugins, in a container
// netns of their own), and the chained ones on a prepared veth (the prevResult a runtime would pass):
// portmap (3 mappings, iptables), firewall (iptables), tuning (a sysctl and promisc), bandwidth
// (ingress and egress), sbr.
//
//   node scripts/bench/inplugin.mjs [--rounds N]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REF_DIR, median, runIfMain } from './harness.mjs';

/** ms of "<who>: <t> ms <COMMAND> start" (first) to "... <COMMAND> done" (last), and bridge's veth delete. */
export function parseTrace(stderr, who, command) {
  let start;
  let done;
  let found;
  let deleted;
  for (const line of stderr.split('\n')) {
    const m = /^(\S+): ([\d.]+) ms (.*)$/.exec(line);
    if (!m || m[1] !== who) continue;
    const t = Number(m[2]);
    if (m[3] === `${command} start` && start === undefined) start = t;
    else if (m[3] === `${command} done`) done = t;
    else if (m[3] === 'link found') found = t;
    else if (m[3] === 'link deleted') deleted = t;
  }
  if (start === undefined || done === undefined) throw new Error(`no "${who}: ${command} start/done" in the trace:\n${stderr}`);
  return { inPlugin: done - start, kernel: found !== undefined && deleted !== undefined ? deleted - found : undefined };
}

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function benchInPlugin(distBin, rounds) {
  const tag = `${process.pid}`;
  const node = `tscni-bench-ip-h-${tag}`;
  const impls = ['ours', 'ref'];
  const ns = (kind, impl) => `tscni-bench-ip-${kind}${impl === 'ours' ? 'o' : 'r'}-${tag}`;
  const all = [node, ...impls.flatMap((i) => [ns('m', i), ns('c', i)])];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-bench-ip-'));
  for (const n of all) ip('netns', 'add', n);
  try {
    ip('-n', node, 'link', 'set', 'lo', 'up');
    // macvlan's master.
    ip('-n', node, 'link', 'add', 'ipm0', 'type', 'veth', 'peer', 'name', 'ipm0p');
    ip('-n', node, 'link', 'set', 'ipm0', 'up');
    // The chained plugins' container: eth0 in its netns, the host end in the node, addresses on both.
    const net = { ours: 20, ref: 21 };
    const hostVeth = (impl) => `ipv${impl === 'ours' ? 'o' : 'r'}`;
    for (const impl of impls) {
      ip('-n', node, 'link', 'add', hostVeth(impl), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns('c', impl));
      ip('-n', node, 'addr', 'add', `10.79.${net[impl]}.1/24`, 'dev', hostVeth(impl));
      ip('-n', node, 'link', 'set', hostVeth(impl), 'up');
      ip('-n', ns('c', impl), 'link', 'set', 'lo', 'up');
      ip('-n', ns('c', impl), 'addr', 'add', `10.79.${net[impl]}.2/24`, 'dev', 'eth0');
      ip('-n', ns('c', impl), 'link', 'set', 'eth0', 'up');
    }
    const prevResult = (impl) => ({
      cniVersion: '1.0.0',
      interfaces: [{ name: hostVeth(impl) }, { name: 'eth0', sandbox: `/run/netns/${ns('c', impl)}` }],
      ips: [{ address: `10.79.${net[impl]}.2/24`, gateway: `10.79.${net[impl]}.1`, interface: 1 }],
    });
    const ipam = (impl, third) => ({ type: 'host-local', dataDir: path.join(tmp, impl), ranges: [[{ subnet: `10.79.${third + (impl === 'ours' ? 0 : 1)}.0/24` }]] });
    const base = (name, type) => ({ cniVersion: '1.0.0', name, type });
    const ports = (impl) => [80, 443, 8080].map((c, i) => ({ hostPort: (impl === 'ours' ? 18000 : 19000) + i, containerPort: c, protocol: 'tcp' }));
    // [label, plugin type, container netns kind, config, before each ADD (unmeasured)]
    const cases = [
      ['bridge+host-local', 'bridge', 'm', (impl) => ({ ...base('ipbr', 'bridge'), bridge: `ipbr${impl === 'ours' ? 'o' : 'r'}`, isGateway: true, ipam: ipam(impl, 10) })],
      ['ptp+host-local', 'ptp', 'm', (impl) => ({ ...base('ipptp', 'ptp'), ipam: ipam(impl, 12) })],
      ['macvlan+host-local', 'macvlan', 'm', (impl) => ({ ...base('ipmv', 'macvlan'), master: 'ipm0', ipam: ipam(impl, 14) })],
      ['loopback', 'loopback', 'm', () => base('iplo', 'loopback')],
      ['host-local alone', 'host-local', 'm', (impl) => ({ cniVersion: '1.0.0', name: 'iphl', type: 'host-local', ipam: ipam(impl, 16) })],
      ['portmap (3 mappings, iptables)', 'portmap', 'c', (impl) => ({ ...base('ippm', 'portmap'), capabilities: { portMappings: true }, runtimeConfig: { portMappings: ports(impl) }, prevResult: prevResult(impl) })],
      ['firewall (iptables)', 'firewall', 'c', (impl) => ({ ...base('ipfw', 'firewall'), backend: 'iptables', prevResult: prevResult(impl) })],
      ['tuning (sysctl + promisc)', 'tuning', 'c', (impl) => ({ ...base('iptu', 'tuning'), sysctl: { 'net.ipv4.conf.eth0.log_martians': '1' }, promisc: true, prevResult: prevResult(impl) })],
      // DEL removes the ifb; the host veth's qdisc goes with the veth (in both implementations), so
      // it is removed before each ADD here, where the veth stays.
      ['bandwidth (ingress + egress)', 'bandwidth', 'c', (impl) => ({ ...base('ipbw', 'bandwidth'), capabilities: { bandwidth: true }, runtimeConfig: { bandwidth: { ingressRate: 8000000, ingressBurst: 80000, egressRate: 8000000, egressBurst: 80000 } }, prevResult: prevResult(impl) }), (impl) => {
        for (const parent of ['root', 'ingress']) spawnSync('ip', ['netns', 'exec', node, 'tc', 'qdisc', 'del', 'dev', hostVeth(impl), parent]);
      }],
      // sbr moves eth0's routes into table 100; the address is put back before each ADD so every
      // round starts from the same container.
      ['sbr', 'sbr', 'c', (impl) => ({ ...base('ipsbr', 'sbr'), prevResult: prevResult(impl) }), (impl) => {
        spawnSync('ip', ['-n', ns('c', impl), 'addr', 'flush', 'dev', 'eth0']);
        ip('-n', ns('c', impl), 'addr', 'add', `10.79.${net[impl]}.2/24`, 'dev', 'eth0');
      }],
    ];
    const rows = [];
    for (const [label, type, kind, conf, before] of cases) {
      const call = (impl, command) => {
        const bin = path.join(impl === 'ours' ? distBin : REF_DIR, type);
        const env = {
          PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: `bench-ip-${impl}`, CNI_NETNS: `/run/netns/${ns(kind, impl)}`,
          CNI_IFNAME: 'eth0', CNI_PATH: impl === 'ours' ? distBin : REF_DIR, ...(impl === 'ours' ? { TSCNI_TRACE: '1' } : {}),
        };
        const t0 = process.hrtime.bigint();
        const res = spawnSync('nsenter', [`--net=/run/netns/${node}`, bin], { env, input: JSON.stringify(conf(impl)), encoding: 'utf8' });
        const wall = Number(process.hrtime.bigint() - t0) / 1e6;
        if (res.status !== 0) throw new Error(`${label}: ${impl} ${type} ${command} failed: ${`${res.stdout}${res.stderr}`.replace(/\s+/g, ' ')}`);
        return { wall, ...(impl === 'ours' ? parseTrace(res.stderr, type, command) : {}) };
      };
      const once = (impl) => {
        before?.(impl);
        return { add: call(impl, 'ADD'), del: call(impl, 'DEL') };
      };
      for (const impl of impls) once(impl); // warm-up: bridge creation, chains, page cache
      const t = { ours: [], ref: [] };
      for (let i = 0; i < rounds; i++) for (const impl of i % 2 ? ['ref', 'ours'] : ['ours', 'ref']) t[impl].push(once(impl));
      for (const command of ['add', 'del']) {
        const kernel = t.ours.map((x) => x[command].kernel).filter((k) => k !== undefined);
        rows.push({
          label: `${label} ${command.toUpperCase()}`,
          rounds,
          inPlugin: median(t.ours.map((x) => x[command].inPlugin)),
          ...(kernel.length ? { kernel: median(kernel), inPluginNoKernel: median(t.ours.map((x) => x[command].inPlugin - x[command].kernel)) } : {}),
          oursWall: median(t.ours.map((x) => x[command].wall)),
          // The chart's ratio: our in-plugin time against Go's whole process.
          ours: median(t.ours.map((x) => x[command].inPlugin)),
          ref: median(t.ref.map((x) => x[command].wall)),
        });
      }
    }
    process.stdout.write(`\nin-plugin time (TSCNI_TRACE) against the Go reference's whole process\n${inPluginTable(rows)}\n`);
    return rows;
  } finally {
    for (const n of all) spawnSync('ip', ['netns', 'del', n]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function inPluginTable(rows) {
  const out = [
    '| path | runs | tscni in-plugin ms | tscni whole process ms | Go whole process ms | in-plugin / Go |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const ours = r.kernel === undefined ? r.inPlugin.toFixed(2) : `${r.inPlugin.toFixed(2)} (${r.inPluginNoKernel.toFixed(2)} + kernel link delete ${r.kernel.toFixed(2)})`;
    out.push(`| ${r.label} | ${r.rounds} | ${ours} | ${r.oursWall.toFixed(2)} | ${r.ref.toFixed(2)} | ${(r.inPlugin / r.ref).toFixed(2)}x |`);
  }
  return out.join('\n');
}

runIfMain(import.meta.url, benchInPlugin);
