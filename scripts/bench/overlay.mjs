#!/usr/bin/env node
// Pod-to-pod TCP throughput across two nodes over the tscni overlay (VXLAN, `tscni overlay` + the
// flannel plugin) against two pods on one node's bridge, with iperf3; the ratio is the price of
// the encapsulation. Each "node" is a netns on an underlay bridge (its own netns, which also runs a
// one-member etcd on 127.0.0.1-free addresses of 10.157.0.0/24); all of it is removed at the end.
//
//   node scripts/bench/overlay.mjs [--seconds N] [--runs N]   (root; after `npm run build`)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 5);
const RUNS = arg('runs', 3);
const BIN = process.env.TSCNI_BIN_DIR ?? path.join(repo, 'dist/bin');
const tag = process.pid;
const UL = `tov-bench-ul-${tag}`;
const NODES = [`tov-bench-n1-${tag}`, `tov-bench-n2-${tag}`];
const PODS = [`tov-bench-a-${tag}`, `tov-bench-b-${tag}`, `tov-bench-c-${tag}`];
const ETCD = 'http://10.157.0.2:23820';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tov-bench-'));
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
const inNs = (ns, cmd, args, input) => {
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns}: ${r.stdout}${r.stderr}`);
  return r.stdout;
};
const spawnIn = (ns, cmd, args, log) => {
  const out = fs.openSync(path.join(tmp, log), 'a');
  const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  children.push(c);
  return c;
};

async function until(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function cni(node, command, pod, i) {
  const conf = JSON.stringify({
    cniVersion: '1.0.0', name: 'benchflannel', type: 'flannel',
    subnetFile: path.join(tmp, `${node}.env`), dataDir: path.join(tmp, `${node}-flannel`),
    delegate: { bridge: 'cni0', isDefaultGateway: true }, ipam: { dataDir: path.join(tmp, `${node}-ipam`) },
  });
  const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: `bench-${i}`, CNI_NETNS: `/run/netns/${pod}`, CNI_IFNAME: 'eth0', CNI_PATH: BIN };
  const r = spawnSync('ip', ['netns', 'exec', node, path.join(BIN, 'flannel')], { env, input: conf, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`flannel ${command}: ${r.stdout}${r.stderr}`);
  return command === 'ADD' ? JSON.parse(r.stdout).ips[0].address.split('/')[0] : undefined;
}

async function iperf(client, serverNs, serverIp) {
  const srv = spawnIn(serverNs, 'iperf3', ['-s', '-1', '-B', serverIp, '-p', '5201'], 'iperf-server.log');
  await sleep(300);
  try {
    const out = JSON.parse(inNs(client, 'iperf3', ['-c', serverIp, '-p', '5201', '-t', String(SECONDS), '-J']));
    return out.end.sum_received.bits_per_second / 1e9;
  } finally {
    srv.kill('SIGTERM');
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  ip('netns', 'add', UL);
  ip('-n', UL, 'link', 'set', 'lo', 'up');
  ip('-n', UL, 'link', 'add', 'tovb-br', 'type', 'bridge');
  ip('-n', UL, 'addr', 'add', '10.157.0.2/24', 'dev', 'tovb-br');
  ip('-n', UL, 'link', 'set', 'tovb-br', 'up');
  NODES.forEach((ns, i) => {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', UL, 'link', 'add', `tovb-p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', UL, 'link', 'set', `tovb-p${i}`, 'master', 'tovb-br', 'up');
    ip('-n', ns, 'addr', 'add', `10.157.0.2${i + 1}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    inNs(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  });
  for (const p of PODS) ip('netns', 'add', p);
  spawnIn(UL, 'etcd', ['--name', 'tovb', '--data-dir', path.join(tmp, 'etcd'), '--listen-client-urls', ETCD, '--advertise-client-urls', ETCD,
    '--listen-peer-urls', 'http://10.157.0.2:23821', '--initial-advertise-peer-urls', 'http://10.157.0.2:23821', '--initial-cluster', 'tovb=http://10.157.0.2:23821'], 'etcd.log');
  await until('etcd', () => spawnSync('ip', ['netns', 'exec', UL, 'etcdctl', `--endpoints=${ETCD}`, 'endpoint', 'health'], { stdio: 'ignore' }).status === 0);
  inNs(UL, 'etcdctl', [`--endpoints=${ETCD}`, 'put', '/coreos.com/network/config', '{"Network":"10.156.0.0/16","Backend":{"Type":"vxlan"}}']);
  for (const ns of NODES) spawnIn(ns, path.join(repo, 'dist/tscni'), ['overlay', `-etcd-endpoints=${ETCD}`, '-iface=eth0', `-subnet-file=${path.join(tmp, `${ns}.env`)}`, '-release-on-exit'], `${ns}.log`);
  await until('subnet.env on both nodes', () => NODES.every((ns) => fs.existsSync(path.join(tmp, `${ns}.env`))));
  // Pods a and c on node 1 (one bridge), b on node 2 (across VXLAN).
  cni(NODES[0], 'ADD', PODS[0], 0);
  const ipB = cni(NODES[1], 'ADD', PODS[1], 1);
  const ipC = cni(NODES[0], 'ADD', PODS[2], 2);
  await until('pod b reachable from pod a', () => spawnSync('ip', ['netns', 'exec', PODS[0], 'ping', '-c1', '-W1', ipB]).status === 0);
  const same = [];
  const cross = [];
  for (let r = 0; r < RUNS; r++) {
    same.push(await iperf(PODS[0], PODS[2], ipC));
    cross.push(await iperf(PODS[0], PODS[1], ipB));
  }
  cni(NODES[0], 'DEL', PODS[0], 0);
  cni(NODES[1], 'DEL', PODS[1], 1);
  cni(NODES[0], 'DEL', PODS[2], 2);
  const s = median(same);
  const c = median(cross);
  const mtu = fs.readFileSync(path.join(tmp, `${NODES[0]}.env`), 'utf8').match(/FLANNEL_MTU=(\d+)/)[1];
  process.stdout.write(
    `pod-to-pod TCP throughput, iperf3 ${SECONDS} s x ${RUNS} runs (median), pod MTU ${mtu}, underlay: veth + bridge in netns\n` +
      `  same node, one bridge        ${s.toFixed(2)} Gbit/s   (runs: ${same.map((x) => x.toFixed(2)).join(' ')})\n` +
      `  across nodes, VXLAN overlay  ${c.toFixed(2)} Gbit/s   (runs: ${cross.map((x) => x.toFixed(2)).join(' ')})\n` +
      `  ratio VXLAN / bridge         ${(c / s).toFixed(2)}   (load average at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)\n`,
  );
}

async function cleanup() {
  for (const c of children.reverse()) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          c.kill('SIGKILL');
          r();
        }, 3000);
        c.on('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  for (const ns of [...PODS, ...NODES, UL]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().then(
  () => cleanup(),
  async (err) => {
    process.stderr.write(`overlay bench failed: ${err.stack ?? err}\n`);
    await cleanup();
    process.exitCode = 1;
  },
);
