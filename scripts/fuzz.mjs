#!/usr/bin/env node
// `npm run fuzz [-- --count N] [-- --seed S] [-- --plugin a,b] [-- --verbose] [-- --only N]`
// Fuzzing (issue 12): every plugin binary, run as a runtime runs it inside a throwaway node netns,
// gets generated hostile input: configs with wrong types at every key, huge/negative/fractional
// numbers, NaN-like strings, unicode and NUL in names, duplicate keys, 1 MB documents, torn JSON;
// hostile CNI_* variables (CNI_IFNAME with '/', '..', 16+ bytes or empty; CNI_NETNS a regular
// file, a directory, a symlink loop, a mount namespace; CNI_CONTAINERID with path characters;
// missing or unknown CNI_COMMAND; CNI_PATH empty or a directory of fake IPAM plugins that print
// garbage, nothing, a lying result or exit non-zero); prevResults that lie (interface indexes out
// of range, addresses not on the link, versions that disagree).
// Every case: the call ends within 5 s (--time-limit; the test suite, which asserts no times, passes
// 0 and only a call hanging for a minute fails); stdout is exactly one spec error object with a code (not
// 999, no stack trace) and exit status 1, or a success (ADD: one result object; the rest: nothing
// on stdout) -- never both, never anything else; inputs that must be refused (bad CNI_IFNAME, bad
// CNI_CONTAINERID, unknown command, empty CNI_PATH, an ADD into a netns that is not one) are;
// a failed call leaves the node, the container and the state directories exactly as they were; a
// successful ADD is followed by DEL with the same input, after which everything is as before.
// Prints one summary line and every problem with its case (seed + index reproduce it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  addNetns, cniEnv, delNetns, diffSnapshots, DIST_BIN, firewallOf, filesUnder, flags, nsPath, parseJson, requireRootAndBuild, rng, runPlugin, sh, sleep,
  tempDir, uniqueName, addressesOf, routesOf, ipRulesOf, qdiscsOf,
} from './robust/rig.mjs';

// --time-limit MS: the longest a call may take (0: not judged; the test suite asserts no times).
const opt = flags(process.argv.slice(2), { only: undefined, count: 2000, seed: Date.now() % 1_000_000, plugin: '', verbose: false, 'time-limit': 5000 });
const limit = opt['time-limit'];
// A call still running after this is killed and reported as hanging.
const hangMs = Math.max(limit * 2, 60_000);
requireRootAndBuild();
const rand = rng(opt.seed);

const NET = 'trbfz';
// A mutated absolute path (a dataDir of "/tmp/trb-fuzx-…") makes a plugin create a directory beside
// ours: whatever appears in the temp directory under a similar name during the run is removed at the end.
const tmpBefore = new Set(fs.readdirSync(os.tmpdir()));
const dir = tempDir('trb-fuzz-');
const dataDir = path.join(dir, 'ipam');
const stateDir = path.join(dir, 'state');
const tuningDir = path.join(dir, 'tuning');
const fakeDir = path.join(dir, 'fake-bin');
// The plugins' working directory: a mutated path that turns relative ("¡tmp/...") lands here, where
// the snapshots see it, and never in the caller's directory.
const workDir = path.join(dir, 'cwd');
fs.mkdirSync(workDir);
// flannel: the subnet.env it reads (test-owned) and the directory where it saves each container's
// delegate config (dataDir/<CNI_CONTAINERID>), watched by the snapshots like the others.
const flannelDir = path.join(dir, 'flannel');
const subnetEnv = path.join(dir, 'subnet.env');
fs.writeFileSync(subnetEnv, 'FLANNEL_NETWORK=10.160.0.0/16\nFLANNEL_SUBNET=10.160.1.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n');
const dirs = [dataDir, stateDir, tuningDir, workDir, flannelDir];
// Host-local's default dataDir (a case that deletes ipam.dataDir) and flannel's: what the run adds
// there is removed at the end (entries that existed before the run are never touched).
const SYSTEM_NETWORKS = '/var/lib/cni/networks';
const SYSTEM_FLANNEL = '/var/lib/cni/flannel';
const listDir = (d) => (fs.existsSync(d) ? fs.readdirSync(d) : null);
const systemBefore = {
  networks: listDir(SYSTEM_NETWORKS),
  index: listDir(path.join(SYSTEM_NETWORKS, '.tscni-host-local')),
  flannel: listDir(SYSTEM_FLANNEL),
};
const node = addNetns(uniqueName('trb-fz'));
// cluster-ipam's etcd: one real member inside the node netns (so its ports collide with nothing on
// the machine), data in the temp dir; started only when cluster-ipam is fuzzed, killed by PID.
const ETCD_URL = 'http://127.0.0.1:23830';
const UNREACHABLE_ETCD = { endpoints: ['http://127.0.0.1:1'], dialTimeoutMs: 200, timeoutMs: 500 };
let etcd;
const ctr = addNetns(uniqueName('trb-fzc'));
const ipn = (ns, ...args) => sh('ip', ['-n', ns, ...args]);

// The node: a master for macvlan/ipvlan/vlan, a device for host-device; a container with eth0
// (its host end trbhv0) carrying the address the chained plugins' prevResult names.
ipn(node, 'link', 'add', 'trbm0', 'type', 'veth', 'peer', 'name', 'trbm1');
ipn(node, 'link', 'set', 'trbm0', 'up');
ipn(node, 'link', 'add', 'trbdev0', 'type', 'veth', 'peer', 'name', 'trbdev1');
ipn(node, 'link', 'add', 'trbhv0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ctr);
ipn(node, 'link', 'set', 'trbhv0', 'up');
ipn(ctr, 'link', 'set', 'eth0', 'up');
ipn(ctr, 'addr', 'add', '10.153.131.2/24', 'dev', 'eth0');

// Hostile CNI_NETNS targets and fake IPAM plugins.
fs.mkdirSync(fakeDir);
const regularFile = path.join(dir, 'not-a-netns');
fs.writeFileSync(regularFile, 'x');
const loop = path.join(dir, 'loop');
fs.symlinkSync(`${loop}2`, loop);
fs.symlinkSync(loop, `${loop}2`);
const FAKES = {
  'trb-garbage': 'echo "{{{ not json"',
  'trb-nothing': 'exit 0',
  'trb-fail': 'echo "something broke" >&2; exit 3',
  'trb-error': 'echo \'{"code": 11, "msg": "try later"}\'; exit 1',
  'trb-lies': 'test "$CNI_COMMAND" = ADD && echo \'{"cniVersion":"1.0.0","ips":[{"address":"999.1.1.1/24","interface":7}]}\'; exit 0',
  'trb-ok': 'test "$CNI_COMMAND" = ADD && echo \'{"cniVersion":"1.0.0","ips":[{"address":"10.153.140.5/24","gateway":"10.153.140.1"}]}\'; exit 0',
  'trb-huge': 'head -c 2000000 /dev/zero | tr "\\0" x; exit 0',
  'trb-array': 'echo "[1,2,3]"; exit 0',
};
for (const [name, body] of Object.entries(FAKES)) fs.writeFileSync(path.join(fakeDir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });

// ---- the plugins and a valid config for each ------------------------------------------------------
const hl = (subnet) => ({ type: 'host-local', subnet, dataDir });
const prev = (version = '1.0.0') => ({
  cniVersion: version,
  interfaces: [{ name: 'trbhv0', mac: '02:53:00:00:00:01' }, { name: 'eth0', mac: '02:53:00:00:00:02', sandbox: nsPath(ctr) }],
  ips: [{ address: '10.153.131.2/24', gateway: '10.153.131.1', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.153.131.1' }],
});
const base = (type, extra) => ({ cniVersion: '1.0.0', name: NET, type, ...extra });
const PLUGINS = {
  bridge: { conf: () => base('bridge', { bridge: 'trbfz0', isGateway: true, ipMasq: true, ipam: hl('10.153.128.0/24') }), ifName: 'net1', netns: true },
  ptp: { conf: () => base('ptp', { ipMasq: true, ipam: hl('10.153.129.0/24') }), ifName: 'net1', netns: true },
  macvlan: { conf: () => base('macvlan', { master: 'trbm0', ipam: hl('10.153.130.0/24') }), ifName: 'net1', netns: true },
  ipvlan: { conf: () => base('ipvlan', { master: 'trbm0', ipam: hl('10.153.132.0/24') }), ifName: 'net1', netns: true },
  vlan: { conf: () => base('vlan', { master: 'trbm0', vlanId: 53, ipam: hl('10.153.133.0/24') }), ifName: 'net1', netns: true },
  'host-device': { conf: () => base('host-device', { device: 'trbdev0', ipam: hl('10.153.134.0/24') }), ifName: 'net1', netns: true },
  tap: { conf: () => base('tap', { ipam: hl('10.153.135.0/24') }), ifName: 'net1', netns: true },
  dummy: { conf: () => base('dummy', { ipam: hl('10.153.136.0/24') }), ifName: 'net1', netns: true },
  loopback: { conf: () => base('loopback', {}), ifName: 'lo', netns: true },
  'host-local': { conf: () => base('host-local', { ipam: hl('10.153.137.0/24') }), ifName: 'net1', netns: false },
  static: { conf: () => base('static', { ipam: { type: 'static', addresses: [{ address: '10.153.138.2/24', gateway: '10.153.138.1' }] } }), ifName: 'net1', netns: false },
  dhcp: { conf: () => base('dhcp', { ipam: { type: 'dhcp', daemonSocketPath: path.join(dir, 'no-daemon.sock') } }), ifName: 'net1', netns: false },
  portmap: {
    conf: () => base('portmap', { capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 18153, containerPort: 80, protocol: 'tcp' }] }, prevResult: prev() }),
    ifName: 'eth0', netns: false,
  },
  // firewall writes node rules only and never opens CNI_NETNS (as the reference).
  firewall: { conf: () => base('firewall', { backend: 'iptables', prevResult: prev() }), ifName: 'eth0', netns: false },
  tuning: { conf: () => base('tuning', { mac: '02:53:00:00:00:77', mtu: 1400, sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' }, dataDir: tuningDir, prevResult: prev() }), ifName: 'eth0', netns: true },
  bandwidth: { conf: () => base('bandwidth', { ingressRate: 1_000_000, ingressBurst: 100_000, egressRate: 1_000_000, egressBurst: 100_000, prevResult: prev() }), ifName: 'eth0', netns: true },
  sbr: { conf: () => base('sbr', { prevResult: prev() }), ifName: 'eth0', netns: true },
  vrf: { conf: () => base('vrf', { vrfname: 'trbvrf0', prevResult: prev() }), ifName: 'eth0', netns: true },
  // flannel delegates to bridge (in-process) and host-local: a bridge of its own, leases in the temp dir.
  flannel: {
    conf: () => base('flannel', { subnetFile: subnetEnv, dataDir: flannelDir, delegate: { bridge: 'trbfl0', hairpinMode: true }, ipam: { dataDir, routes: [{ dst: '10.160.200.0/24' }] } }),
    ifName: 'net1', netns: true,
  },
  'cluster-ipam': {
    conf: () => base('cluster-ipam', {
      ipam: { type: 'cluster-ipam', range: '10.160.2.0/24', rangeStart: '10.160.2.10', rangeEnd: '10.160.2.40', exclude: ['10.160.2.20/30'], gateway: '10.160.2.1',
        routes: [{ dst: '0.0.0.0/0' }], nodeName: 'trbfz-node', etcd: { endpoints: [ETCD_URL], prefix: '/trbfz/ipam', dialTimeoutMs: 500, timeoutMs: 3000 } },
    }),
    ifName: 'net1', netns: false,
  },
};
const names = opt.plugin ? String(opt.plugin).split(',') : Object.keys(PLUGINS);
for (const n of names) if (!PLUGINS[n]) throw new Error(`--plugin: unknown plugin ${n}`);

/** Waits until etcdctl (an independent client) sees the member healthy. */
async function startEtcd() {
  const data = path.join(dir, 'etcd');
  const log = fs.openSync(path.join(dir, 'etcd.log'), 'w');
  etcd = spawn('ip', ['netns', 'exec', node, '/usr/bin/etcd', '--name', 'trbfz', '--data-dir', data,
    '--listen-client-urls', ETCD_URL, '--advertise-client-urls', ETCD_URL,
    '--listen-peer-urls', 'http://127.0.0.1:23831', '--initial-advertise-peer-urls', 'http://127.0.0.1:23831',
    '--initial-cluster', 'trbfz=http://127.0.0.1:23831', '--initial-cluster-state', 'new'], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  for (let i = 0; i < 300; i++) {
    if (etcdctl(['endpoint', 'health'], true).status === 0) return;
    if (etcd.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`etcd did not become healthy: ${fs.readFileSync(path.join(dir, 'etcd.log'), 'utf8').slice(-1500)}`);
}
const etcdctl = (args, allowFail = false) => sh('ip', ['netns', 'exec', node, '/usr/bin/etcdctl', '--endpoints', ETCD_URL, '--command-timeout=5s', ...args], { allowFail, env: { ...process.env, ETCDCTL_API: '3' } });
/** Every key in the test's etcd but the range cursors (which stay on purpose, as host-local's last_reserved_ip). */
const etcdKeys = () => (etcd ? etcdctl(['get', '', '--from-key', '--keys-only']).stdout.split('\n').filter((k) => k !== '' && !/\/_cursor\//.test(k)).sort() : []);

// ---- generators -----------------------------------------------------------------------------------
const LONG = 'x'.repeat(300);
const HOSTILE_VALUES = [
  null, true, false, 0, -1, 1.5, -2147483649, 4294967296, 1e308, -1e308, 9007199254740993, '', ' ', 'NaN', 'Infinity', '-0', '1e999', '0x10',
  '../../etc/passwd', '/', 'a/b', '..', 'eth0\u0000', '\u0000', 'ünï\u202ecode', '💥'.repeat(20), LONG, 'trbfz0', 'lo', 'eth0', [], [null], [{}], {}, { a: 1 },
  [1, 2, 3], ['x'], { type: 'host-local' },
];
const KNOWN_KEYS = [
  'type', 'name', 'cniVersion', 'mtu', 'bridge', 'isGateway', 'isDefaultGateway', 'ipMasq', 'ipMasqBackend', 'hairpinMode', 'promiscMode', 'vlan', 'vlanTrunk',
  'master', 'mode', 'vlanId', 'linkInContainer', 'device', 'hwaddr', 'kernelpath', 'pciBusID', 'mac', 'multiQueue', 'owner', 'group', 'bcqueuelen',
  'ipam', 'ipam.type', 'ipam.subnet', 'ipam.ranges', 'ipam.ranges.0', 'ipam.ranges.0.0.subnet', 'ipam.rangeStart', 'ipam.gateway', 'ipam.routes', 'ipam.dataDir',
  'ipam.addresses', 'ipam.addresses.0.address', 'ipam.daemonSocketPath', 'dns', 'dns.nameservers', 'runtimeConfig', 'runtimeConfig.portMappings',
  'runtimeConfig.portMappings.0.hostPort', 'runtimeConfig.portMappings.0.protocol', 'runtimeConfig.bandwidth', 'runtimeConfig.ips', 'runtimeConfig.mac',
  'capabilities', 'args', 'args.cni', 'args.cni.ips', 'sysctl', 'promisc', 'allmulti', 'txQLen', 'dataDir', 'snat', 'masqAll', 'markMasqBit', 'backend',
  'conditionsV4', 'ingressRate', 'ingressBurst', 'egressRate', 'egressBurst', 'unshapedSubnets', 'vrfname', 'table', 'gateways', 'iptablesAdminChainName',
  'ingressPolicy', 'subnetFile', 'delegate', 'delegate.type', 'delegate.bridge', 'delegate.isGateway', 'delegate.ipMasq', 'ipam.range', 'ipam.rangeEnd',
  'ipam.exclude', 'ipam.exclude.0', 'ipam.nodeName', 'ipam.etcd', 'ipam.etcd.endpoints', 'ipam.etcd.endpoints.0', 'ipam.etcd.prefix', 'ipam.etcd.timeoutMs',
  'ipam.etcd.dialTimeoutMs', 'ipam.etcd.username', 'ipam.etcd.certFile', 'ipam.ranges.0.0.rangeEnd', 'prevResult', 'prevResult.cniVersion', 'prevResult.interfaces', 'prevResult.interfaces.0.name', 'prevResult.ips',
  'prevResult.ips.0.address', 'prevResult.ips.0.interface', 'prevResult.routes', 'cni.dev/valid-attachments',
];

const ETCD_UNREACHABLE_LABEL = 'ipam.etcd unreachable';
const SUBNET_ENVS = [
  ['missing', null],
  ['empty', ''],
  ['no-mtu', 'FLANNEL_NETWORK=10.160.0.0/16\nFLANNEL_SUBNET=10.160.1.1/24\nFLANNEL_IPMASQ=true\n'],
  ['bad-cidr', 'FLANNEL_NETWORK=10.160.0.0/99\nFLANNEL_SUBNET=10.160.1.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n'],
  ['bad-mtu', 'FLANNEL_NETWORK=10.160.0.0/16\nFLANNEL_SUBNET=10.160.1.1/24\nFLANNEL_MTU=-5\nFLANNEL_IPMASQ=true\n'],
  ['huge-mtu', 'FLANNEL_NETWORK=10.160.0.0/16\nFLANNEL_SUBNET=10.160.1.1/24\nFLANNEL_MTU=99999999999\nFLANNEL_IPMASQ=true\n'],
  ['subnet-outside', 'FLANNEL_NETWORK=10.160.0.0/16\nFLANNEL_SUBNET=10.161.9.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n'],
  ['v6-only', 'FLANNEL_IPV6_NETWORK=fd60::/48\nFLANNEL_IPV6_SUBNET=fd60:0:1::1/64\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n'],
  ['dual', 'FLANNEL_NETWORK=10.160.0.0/16,10.160.0.0/16\nFLANNEL_SUBNET=10.160.1.1/24\nFLANNEL_IPV6_NETWORK=fd60::/48\nFLANNEL_IPV6_SUBNET=fd60:0:1::1/64\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n'],
  ['garbage', '\u0000\u0001=\n=x\nFLANNEL_NETWORK\n'.repeat(50)],
  ['binary-mtu', 'FLANNEL_NETWORK=10.160.0.0/16\nFLANNEL_SUBNET=10.160.1.1/24\nFLANNEL_MTU=14\u000000\nFLANNEL_IPMASQ=true\n'],
  ['a-directory', null],
];
function subnetEnvFile(label) {
  const f = path.join(dir, `subnet-${label}.env`);
  const text = SUBNET_ENVS.find(([l]) => l === label)[1];
  if (label === 'a-directory') fs.mkdirSync(f, { recursive: true });
  else if (text !== null && !fs.existsSync(f)) fs.writeFileSync(f, text);
  return f;
}
const clone = (v) => structuredClone(v);
function setPath(obj, dotted, value) {
  const keys = dotted.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = /^\d+$/.test(k) ? [] : {};
    o = o[k];
  }
  const last = keys.at(-1);
  if (value === undefined) delete o[last];
  else o[last] = value;
}
function pathsOf(v, prefix = '') {
  if (v === null || typeof v !== 'object') return [];
  const out = [];
  for (const [k, x] of Object.entries(v)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p, ...pathsOf(x, p));
  }
  return out;
}
const hostileValue = () => clone(rand.pick(HOSTILE_VALUES));

/** Mutations of the config object; each returns a label. */
const CONF_MUTATIONS = [
  (c) => {
    const p = rand.pick([...pathsOf(c), ...KNOWN_KEYS]);
    const v = hostileValue();
    setPath(c, p, v);
    return `${p}=${JSON.stringify(v)?.slice(0, 40)}`;
  },
  (c) => {
    const p = rand.pick(pathsOf(c));
    setPath(c, p, undefined);
    return `delete ${p}`;
  },
  (c) => {
    c.prevResult = prev(rand.pick(['0.4.0', '1.1.0', '0.2.0', '9.9.9', '']));
    return `prevResult version ${c.prevResult.cniVersion} vs config ${c.cniVersion}`;
  },
  (c) => {
    c.prevResult = { ...prev(), ips: [{ address: '10.153.131.2/24', interface: rand.pick([99, -1, 2 ** 31, 0.5]) }] };
    return `prevResult interface index ${c.prevResult.ips[0].interface}`;
  },
  (c) => {
    c.prevResult = { ...prev(), ips: [{ address: rand.pick(['10.153.199.9/24', '203.0.113.7/32', 'fd53::9/64']), interface: 1 }] };
    return `prevResult address ${c.prevResult.ips[0].address} not on the link`;
  },
  (c) => {
    c.prevResult = { ...prev(), interfaces: [{ name: rand.pick(['lo', 'trbm0', 'trbdev0', 'nope0', LONG]), sandbox: rand.pick([nsPath(ctr), '', '/proc/self/ns/net']) }] };
    c.prevResult.ips = [{ address: '10.153.131.2/24', interface: 0 }];
    return `prevResult interface ${c.prevResult.interfaces[0].name.slice(0, 20)}`;
  },
  (c) => {
    c.ipam = { ...(c.ipam ?? {}), type: rand.pick(Object.keys(FAKES)) };
    return `ipam.type ${c.ipam.type}`;
  },
  // cluster-ipam (and any plugin that delegates to it) against an etcd nobody listens on: every call
  // that reaches etcd must end quickly with code 11 (STATUS: 50).
  (c) => {
    // A copy each time: later mutations of this case write into the object they are given.
    if (c.ipam?.type === 'cluster-ipam') c.ipam.etcd = { ...c.ipam.etcd, ...clone(UNREACHABLE_ETCD) };
    else c.ipam = { type: 'cluster-ipam', range: '10.160.3.0/24', etcd: clone(UNREACHABLE_ETCD) };
    return ETCD_UNREACHABLE_LABEL;
  },
  // flannel: a subnet.env that is missing, empty, torn or lies.
  (c) => {
    const [label] = rand.pick(SUBNET_ENVS);
    c.subnetFile = subnetEnvFile(label);
    return `subnet.env ${label}`;
  },
  (c) => {
    c.trbPad = 'y'.repeat(1 << 20);
    return '1 MB string';
  },
  (c) => {
    c.trbArr = Array.from({ length: 100_000 }, (_, i) => i);
    return '100,000-element array';
  },
];

/** Mutations of the JSON text. */
const TEXT_MUTATIONS = [
  (t) => [t.slice(0, rand.int(t.length)), 'truncated'],
  (t) => [`{"type":"trb-dup","name":"x/y",${t.slice(1)}`, 'duplicate keys (first type, name)'],
  (t) => [`${t.slice(0, -1)},"type":${JSON.stringify(rand.pick(['', 'x', 5]))},"name":"trbfz"}`, 'duplicate type, last wins'],
  (t) => [`${t.slice(0, -1)},"NAME":"other","Type":"bridge"}`, 'case-variant keys'],
  (t) => [`\ufeff${t}`, 'BOM'],
  (t) => [`${t} trailing`, 'trailing garbage'],
  (t) => {
    const i = rand.int(t.length);
    return [t.slice(0, i) + String.fromCharCode(rand.int(256)) + t.slice(i + 1), 'one byte changed'];
  },
  (t) => [t.replace(/"[^"]*"/, '"\\ud800"'), 'lone surrogate'],
  (t) => [`${'['.repeat(20000)}${']'.repeat(20000)}`, 'nested 20,000 deep'],
];

/** Env mutations; `must` = the call has to fail (spec / skel rules) for `commands`. */
const ENV_MUTATIONS = [
  { label: 'CNI_IFNAME with /', set: { CNI_IFNAME: 'a/b' }, must: ['ADD', 'DEL', 'CHECK'] },
  { label: 'CNI_IFNAME ..', set: { CNI_IFNAME: '..' }, must: ['ADD', 'DEL', 'CHECK'] },
  { label: 'CNI_IFNAME 16 bytes', set: { CNI_IFNAME: 'eth0123456789abc' }, must: ['ADD', 'DEL', 'CHECK'] },
  { label: 'CNI_IFNAME empty', set: { CNI_IFNAME: '' }, must: ['ADD', 'DEL', 'CHECK'] },
  { label: 'CNI_IFNAME unicode', set: { CNI_IFNAME: 'ü0' }, must: [] },
  { label: 'CNI_NETNS a regular file', set: { CNI_NETNS: regularFile }, must: ['ADD-netns'] },
  { label: 'CNI_NETNS a directory', set: { CNI_NETNS: dir }, must: ['ADD-netns'] },
  { label: 'CNI_NETNS a symlink loop', set: { CNI_NETNS: loop }, must: ['ADD-netns'] },
  { label: 'CNI_NETNS a mount namespace', set: { CNI_NETNS: '/proc/self/ns/mnt' }, must: ['ADD-netns'] },
  { label: 'CNI_NETNS missing', set: { CNI_NETNS: path.join(dir, 'gone') }, must: ['ADD-netns'] },
  { label: "CNI_NETNS the plugin's own netns", set: { CNI_NETNS: '/proc/self/ns/net' }, must: ['ADD', 'DEL'] },
  { label: 'CNI_CONTAINERID with ../', set: { CNI_CONTAINERID: '../../etc' }, must: ['ADD', 'DEL', 'CHECK'] },
  { label: 'CNI_CONTAINERID with NUL-like', set: { CNI_CONTAINERID: 'a\u0001b' }, must: ['ADD', 'DEL', 'CHECK'] },
  { label: 'CNI_CONTAINERID 1000 chars', set: { CNI_CONTAINERID: 'c'.repeat(1000) }, must: [] },
  { label: 'CNI_COMMAND unknown', set: { CNI_COMMAND: 'ADDX' }, must: ['*'] },
  { label: 'CNI_COMMAND missing', set: { CNI_COMMAND: undefined }, must: [] },
  { label: 'CNI_PATH empty', set: { CNI_PATH: '' }, must: ['*'] },
  { label: 'CNI_PATH fake plugins only', set: { CNI_PATH: fakeDir }, must: [] },
  { label: 'CNI_PATH fake plugins first', set: { CNI_PATH: `${fakeDir}:${DIST_BIN}` }, must: [] },
  { label: 'CNI_ARGS garbage', set: { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=a/b;IP=999.1.1.1;MAC=zz' }, must: [] },
];

// Network names the run used (the base one, mutated ones, those the text mutations write): the only
// entries of the system's default dataDirs the final clean-up may remove.
const usedNames = new Set([NET, 'x/y', 'other', 'trb-dup']);
function makeCase(index) {
  const plugin = rand.pick(names);
  const spec = PLUGINS[plugin];
  const command = rand.pick(['ADD', 'ADD', 'ADD', 'ADD', 'DEL', 'DEL', 'CHECK', 'GC', 'STATUS']);
  const conf = spec.conf();
  if (command === 'GC' || command === 'STATUS') conf.cniVersion = '1.1.0';
  const labels = [];
  const env = {
    CNI_COMMAND: command, CNI_CONTAINERID: `trbfz${index}`, CNI_NETNS: nsPath(ctr), CNI_IFNAME: spec.ifName, CNI_PATH: DIST_BIN,
    TSCNI_STATE_DIR: stateDir,
  };
  let must = false;
  const kind = rand();
  if (kind < 0.45) {
    for (let i = 0, n = 1 + rand.int(3); i < n; i++) labels.push(rand.pick(CONF_MUTATIONS)(conf));
  }
  let text = JSON.stringify(conf);
  if (kind >= 0.45 && kind < 0.65) {
    const [t, label] = rand.pick(TEXT_MUTATIONS)(text);
    text = t;
    labels.push(label);
  }
  if (kind >= 0.65) {
    const m = rand.pick(ENV_MUTATIONS);
    Object.assign(env, m.set);
    labels.push(m.label);
    if (m.set.CNI_COMMAND === undefined && 'CNI_COMMAND' in m.set) delete env.CNI_COMMAND;
    must = m.must.includes('*') || m.must.includes(command) || (command === 'ADD' && spec.netns && m.must.includes('ADD-netns'));
    // Now and then a hostile config too, so env and config problems meet.
    if (rand() < 0.3) {
      labels.push(rand.pick(CONF_MUTATIONS)(conf));
      text = JSON.stringify(conf);
    }
  }
  if (typeof conf.name === 'string') usedNames.add(conf.name);
  return { index, plugin, command: env.CNI_COMMAND, env, text, labels, must };
}

// ---- judging --------------------------------------------------------------------------------------
function linksWithAttrs(ns) {
  const r = sh('ip', ['-d', '-n', ns, '-j', 'link', 'show'], { allowFail: true });
  if (r.status !== 0) return [];
  // Carrier flags follow the ports asynchronously: not a change any call made.
  const flagsOf = (l) => (l.flags ?? []).filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER').join(',');
  return JSON.parse(r.stdout).map((l) => `${l.ifname} ${l.address ?? ''} mtu ${l.mtu} ${flagsOf(l)} ${l.linkinfo?.info_kind ?? ''}`).sort();
}
function sysctlsOf() {
  const r = sh('ip', ['netns', 'exec', ctr, 'cat', '/proc/sys/net/ipv4/conf/eth0/arp_notify'], { allowFail: true });
  return [`arp_notify ${r.stdout.trim()}`];
}
// Bridges (and their gateway addresses) stay on the node on purpose, also after a failed ADD and
// after DEL, as the reference's: a case that names another bridge leaves one, which is not counted.
const bridgesOf = (ns) => linksWithAttrs(ns).filter((l) => l.endsWith(' bridge')).map((l) => l.split(' ')[0]);
const snap = () => ({
  nodeLinks: linksWithAttrs(node).filter((l) => !l.endsWith(' bridge')),
  ctrLinks: linksWithAttrs(ctr),
  ctrAddrs: addressesOf(ctr),
  ctrRoutes: routesOf(ctr),
  ctrRules: ipRulesOf(ctr),
  nodeAddrs: ((bridges) => addressesOf(node).filter((a) => !bridges.includes(a.split(' ')[0])))(bridgesOf(node)),
  qdiscs: qdiscsOf(node),
  firewall: firewallOf(node),
  sysctls: sysctlsOf(),
  etcd: etcdKeys(),
  files: dirs.flatMap((d) => filesUnder(d).map((f) => `${path.basename(d)}/${f}`)).filter((f) => !/\/(lock|last_reserved_ip\.\d+)$|\.tscni-host-local\/[^/]+\/(state|owners\/.*)$/.test(f)),
});

function outputProblems(r, c) {
  const out = [];
  if (r.timedOut) return [`did not finish within ${hangMs / 1000} s`];
  // cluster-ipam bounds a command against etcd by etcd.timeoutMs, 10 s unless set (a case that
  // deletes it while etcd is unreachable waits that long, retrying): its own bound is the limit then.
  const max = limit > 0 && c.text.includes('cluster-ipam') ? Math.max(limit, 11_000) : limit;
  if (max > 0 && r.ms > max) out.push(`took ${(r.ms / 1000).toFixed(1)} s, over the ${max / 1000} s limit`);
  if (r.signal) return [...out, `killed by ${r.signal}`];
  if (/\n\s+at .+:\d+:\d+/.test(r.stdout)) out.push('stack trace on stdout');
  if (r.status === 0) {
    if (c.must) out.push(`succeeded, but ${c.labels.join('; ')} must be refused`);
    if (c.command === 'ADD') {
      const j = parseJson(r.stdout);
      if (!j || typeof j !== 'object' || Array.isArray(j) || typeof j.cniVersion !== 'string') out.push(`ADD succeeded without a result object: ${JSON.stringify(r.stdout.slice(0, 200))}`);
      else if ('code' in j) out.push(`exit 0 with an error object: ${r.stdout.slice(0, 200)}`);
    } else if (r.stdout !== '') {
      out.push(`${c.command ?? '(no command)'} succeeded with output ${JSON.stringify(r.stdout.slice(0, 200))}`);
    }
    return out;
  }
  if (r.status !== 1) out.push(`exit status ${r.status}, want 1`);
  const e = parseJson(r.stdout);
  if (!e || typeof e !== 'object' || Array.isArray(e)) return [...out, `stdout is not one JSON object: ${JSON.stringify(r.stdout.slice(0, 300))}`];
  const extra = Object.keys(e).filter((k) => !['code', 'msg', 'details', 'cniVersion'].includes(k));
  if (extra.length) out.push(`error object has keys ${extra.join(',')}`);
  if (typeof e.code !== 'number' || !Number.isInteger(e.code)) out.push(`code ${JSON.stringify(e.code)} is not a number: ${r.stdout.slice(0, 300)}`);
  else if (e.code === 999) out.push(`code 999 (a bug): ${e.msg} | stderr: ${r.stderr.slice(0, 400)}`);
  if (typeof e.msg !== 'string' || e.msg === '') out.push('msg is not a non-empty string');
  return out;
}

/** Puts back what the container had, when a successful DEL/GC or sbr legitimately changed it. */
function resetContainer() {
  sh('ip', ['-n', ctr, 'link', 'set', 'lo', 'up'], { allowFail: true });
  sh('ip', ['-n', ctr, 'addr', 'replace', '10.153.131.2/24', 'dev', 'eth0'], { allowFail: true });
  sh('ip', ['-n', ctr, 'route', 'replace', '10.153.131.0/24', 'dev', 'eth0', 'proto', 'kernel', 'scope', 'link', 'src', '10.153.131.2'], { allowFail: true });
}

/**
 * One valid ADD+DEL per plugin (and per firewall backend, and with a dual-stack prevResult) before
 * the fuzzing: what stays on purpose (the bridge, the nat table, portmap's and firewall's top-level
 * chains) is then part of the baseline, and only what a single case leaves counts.
 */
async function warmUp() {
  const dual = { ...prev(), ips: [...prev().ips, { address: 'fd53::2/64', interface: 1 }] };
  const variants = [];
  for (const name of names) variants.push([name, PLUGINS[name].conf()]);
  if (names.includes('portmap')) {
    for (const backend of ['iptables', 'nftables']) variants.push(['portmap', { ...PLUGINS.portmap.conf(), backend, prevResult: dual }]);
  }
  if (names.includes('firewall')) {
    for (const backend of ['iptables', 'nftables']) variants.push(['firewall', { ...PLUGINS.firewall.conf(), backend, prevResult: dual }]);
  }
  // flannel's delegate bridge masquerades v6 too when subnet.env has a v6 lease: the ip6 nat table stays.
  if (names.includes('flannel')) variants.push(['flannel', { ...PLUGINS.flannel.conf(), subnetFile: subnetEnvFile('dual') }]);
  for (const name of ['bridge', 'ptp']) if (names.includes(name)) variants.push([name, { ...PLUGINS[name].conf(), ipMasqBackend: 'nftables' }]);
  for (const [name, conf] of variants) {
    const env = { CNI_CONTAINERID: 'trbwarm', CNI_NETNS: nsPath(ctr), CNI_IFNAME: PLUGINS[name].ifName, CNI_PATH: DIST_BIN, TSCNI_STATE_DIR: stateDir };
    const add = await runPlugin(node, name, cniEnv({ ...env, CNI_COMMAND: 'ADD' }), conf);
    // The snapshots must see what these two leave, or their checks could not fail.
    if (name === 'cluster-ipam' && (add.status !== 0 || !etcdKeys().some((k) => k.startsWith('/trbfz/ipam/trbfz/')))) {
      throw new Error(`warm-up: cluster-ipam ADD left no claim the snapshot sees: ${add.stdout} ${etcdKeys().join(' ')}`);
    }
    if (name === 'flannel' && (add.status !== 0 || !filesUnder(flannelDir).includes('trbwarm'))) {
      throw new Error(`warm-up: flannel ADD saved no delegate config the snapshot sees: ${add.stdout}`);
    }
    await runPlugin(node, name, cniEnv({ ...env, CNI_COMMAND: 'DEL' }), conf);
  }
  resetContainer();
}

/** Removes what the run created in the system's default dataDirs; reports leases left there. */
function removeSystemLeftovers() {
  const removeNew = (d, before, keep, checkLeases = true) => {
    for (const name of listDir(d) ?? []) {
      if ((before ?? []).includes(name) || !keep(name)) continue;
      const p = path.join(d, name);
      const leases = checkLeases && fs.statSync(p).isDirectory() ? filesUnder(p).filter((f) => !/^(lock|last_reserved_ip\.\d+)$/.test(f)) : [];
      if (leases.length) problems.push(`${p} holds leases after the run: ${leases.join(' ')}`);
      fs.rmSync(p, { recursive: true, force: true });
    }
    if (before === null && listDir(d)?.length === 0) fs.rmdirSync(d);
  };
  removeNew(path.join(SYSTEM_NETWORKS, '.tscni-host-local'), systemBefore.index, (n) => usedNames.has(n), false);
  removeNew(SYSTEM_NETWORKS, systemBefore.networks, (n) => usedNames.has(n));
  // flannel's saved configs are named by CNI_CONTAINERID (trbfz<case>, trbwarm and the env mutations').
  removeNew(SYSTEM_FLANNEL, systemBefore.flannel, (n) => /^(trbfz\d+|trbwarm|c{1000})$/.test(n));
}

const problems = [];
const stats = { flannelDelAfterFailedAdd: 0, flannelKept: 0, cases: 0, ok: 0, refused: 0, byPlugin: {}, codes: {}, slowest: { ms: 0, what: '' } };
const t0 = performance.now();
try {
  if (names.includes('cluster-ipam')) await startEtcd();
  await warmUp();
  let before = snap();
  for (let i = 0; i < opt.count; i++) {
    const c = makeCase(i);
    // --only N replays case N of the seed (the cases before it are generated, not run).
    if (opt.only !== undefined && i !== Number(opt.only)) continue;
    stats.cases++;
    const r = await runPlugin(node, c.plugin, cniEnv(c.env), c.text, { timeoutMs: hangMs, cwd: workDir });
    if (r.ms > stats.slowest.ms) stats.slowest = { ms: r.ms, what: `case ${i} ${c.plugin} ${c.command ?? '-'}` };
    const local = outputProblems(r, c);
    const succeeded = r.status === 0;
    stats.byPlugin[c.plugin] = (stats.byPlugin[c.plugin] ?? 0) + 1;
    if (succeeded) stats.ok++;
    else {
      stats.refused++;
      const code = parseJson(r.stdout)?.code;
      stats.codes[code] = (stats.codes[code] ?? 0) + 1;
    }
    // etcd unreachable and nothing else wrong: every command reaches etcd and must say so (code 11;
    // STATUS: 50), quickly.
    if (c.plugin === 'cluster-ipam' && c.labels.length === 1 && c.labels[0] === ETCD_UNREACHABLE_LABEL && c.command) {
      const want = c.command === 'STATUS' ? 50 : 11;
      const code = parseJson(r.stdout)?.code;
      if (code !== want) local.push(`etcd unreachable: want code ${want}, got ${succeeded ? 'success' : `code ${code}`}`);
    }
    if (!succeeded && c.plugin === 'flannel' && c.command === 'ADD' && /^failed to delegate add/.test(parseJson(r.stdout)?.msg ?? '')) {
      // flannel keeps the saved delegate config after a failed delegate ADD (as the reference) so
      // that the runtime's DEL can undo a half-done ADD: do what a runtime does, then compare.
      const d = await runPlugin(node, c.plugin, cniEnv({ ...c.env, CNI_COMMAND: 'DEL' }), c.text, { timeoutMs: hangMs, cwd: workDir });
      stats.flannelDelAfterFailedAdd++;
      if (d.status !== 0) {
        // The same hostile input often breaks the delegate's DEL too (its IPAM plugin is a fake one
        // or not in CNI_PATH, CNI_NETNS is no netns): then flannel keeps the file for a later DEL, as
        // the reference. The DEL must still fail properly; the file is the only thing it may leave.
        local.push(...outputProblems(d, { ...c, command: 'DEL', must: false }).map((x) => `DEL after the failed delegate ADD: ${x}`));
        fs.rmSync(path.join(flannelDir, c.env.CNI_CONTAINERID), { force: true });
        stats.flannelKept++;
      }
    }
    if (succeeded && c.command === 'ADD') {
      // What a runtime does with the attachment later: DEL with the same input; then all is as before.
      const d = await runPlugin(node, c.plugin, cniEnv({ ...c.env, CNI_COMMAND: 'DEL' }), c.text, { timeoutMs: hangMs, cwd: workDir });
      if (d.status !== 0) local.push(`DEL after the successful ADD failed: ${d.stdout.slice(0, 300)}`);
    }
    // A successful DEL, GC, CHECK or STATUS may change things (loopback's DEL takes lo down): only
    // failed calls and ADD+DEL pairs are compared. After an ADD+DEL, what DEL leaves by design as
    // the reference does is not counted: tuning's sysctls, the main-table routes sbr moved, loopback's lo (DEL takes it down).
    if (succeeded && c.command !== 'ADD') {
      resetContainer();
    } else {
      const after = snap();
      const ignore = succeeded ? ['sysctls', ...(c.plugin === 'sbr' ? ['ctrRoutes'] : []), ...(c.plugin === 'loopback' ? ['ctrLinks', 'ctrAddrs'] : [])] : [];
      const diff = diffSnapshots(before, after, ignore);
      if (diff.length) local.push(...diff.map((x) => (succeeded ? `after ADD+DEL: ${x}` : `failed call changed: ${x}`)));
      if (succeeded) resetContainer();
    }
    before = snap();
    if (local.length) problems.push(`case ${i} (${c.plugin} ${c.command ?? '-'}: ${c.labels.join('; ')}): ${local.join('; ')}`);
    if (opt.verbose) {
      process.stderr.write(`fuzz ${i} ${c.plugin} ${c.command ?? '-'} [${c.labels.join('; ')}] -> ${r.status} ${r.stdout.replace(/\s+/g, ' ').slice(0, 160)}\n`);
    }
    if (local.length && !opt.verbose) process.stderr.write(`fuzz: ${problems.at(-1).slice(0, 1000)}\n`);
  }
} catch (e) {
  problems.push(`aborted: ${e.stack ?? e.message}`);
} finally {
  if (etcd && etcd.exitCode === null) {
    const gone = new Promise((r) => etcd.once('exit', r));
    etcd.kill('SIGKILL');
    await gone;
  }
  removeSystemLeftovers();
  delNetns(ctr);
  delNetns(node);
  if (!opt.keep) fs.rmSync(dir, { recursive: true, force: true });
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!tmpBefore.has(name) && /^trb-f/.test(name)) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(
  `fuzz: seed ${opt.seed}, ${stats.cases} cases over ${Object.keys(stats.byPlugin).length} plugins: ${stats.ok} succeeded, ${stats.refused} refused ` +
    `(codes ${Object.entries(stats.codes).map(([k, v]) => `${k}:${v}`).join(' ')}), ${problems.length} problems, ${seconds.toFixed(1)} s; ` +
    `slowest call ${(stats.slowest.ms / 1000).toFixed(2)} s (${stats.slowest.what})` +
    `${stats.flannelDelAfterFailedAdd ? `; ${stats.flannelDelAfterFailedAdd} flannel DELs after a failed delegate ADD (${stats.flannelKept} failed too, saved file kept)` : ''}\n`,
);
if (problems.length) {
  for (const p of problems.slice(0, 50)) process.stdout.write(`  ${p.slice(0, 1500)}\n`);
  process.exit(1);
}
