#!/usr/bin/env node
// The README demo: two containers on podman's default network shape (bridge + host-local, then the
// chained portmap, firewall and tuning), wired by the built plugins exactly as a runtime calls them
// (CNI_* environment, config on stdin, each chained plugin given the previous result). Everything
// happens inside a throwaway "node" network namespace, so the machine's own links, sysctls and
// firewall are untouched; all of it is removed at the end, also on failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'dist/bin');
const tag = process.pid.toString(36);
const node = `tscni-demo-node-${tag}`;
const containers = [`tscni-demo-c1-${tag}`, `tscni-demo-c2-${tag}`];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-demo-'));
const webRoot = path.join(dataDir, 'www');
const HOST_PORT = 8080;

const network = {
  cniVersion: '1.1.0',
  name: 'demo-net',
  type: 'bridge',
  bridge: 'cni-demo0',
  isGateway: true,
  ipMasq: true,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.66.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir },
};
/** The chained plugins of the list, in order (a runtime runs ADD forwards and DEL backwards). */
const chained = [
  { cniVersion: '1.1.0', name: 'demo-net', type: 'portmap', capabilities: { portMappings: true } },
  { cniVersion: '1.1.0', name: 'demo-net', type: 'firewall', backend: 'iptables' },
  { cniVersion: '1.1.0', name: 'demo-net', type: 'tuning', sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' } },
];
/** The runtimeConfig a runtime derives from the capabilities: container 1 publishes port 80. */
const runtimeConfigOf = (c, conf) =>
  conf.type === 'portmap' && c === containers[0] ? { portMappings: [{ hostPort: HOST_PORT, containerPort: 80, protocol: 'tcp' }] } : undefined;
const withRuntime = (c, conf) => {
  const { capabilities: _caps, ...rest } = conf;
  const rc = runtimeConfigOf(c, conf);
  return rc ? { ...rest, runtimeConfig: rc } : rest;
};

const say = (msg) => process.stdout.write(`\n== ${msg}\n`);
const show = (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8' });

/** One plugin call the way libcni makes it, run inside the node namespace. */
function cni(command, container, config) {
  const res = spawnSync('ip', ['netns', 'exec', node, path.join(bin, config.type)], {
    input: JSON.stringify(config),
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_CONTAINERID: `demo-${container}`,
      CNI_NETNS: `/run/netns/${container}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: bin,
      // portmap's and firewall's per-attachment records, kept with the demo's other files.
      TSCNI_STATE_DIR: path.join(dataDir, 'state'),
    },
  });
  if (res.status !== 0) throw new Error(`${config.type} ${command} failed (exit ${res.status}): ${res.stdout}${res.stderr}`);
  return res.stdout;
}

/** GET `url` from inside the node, retrying while the server starts (busybox wget, no shell). */
function fetchFromNode(url) {
  for (let i = 0; i < 20; i++) {
    const r = spawnSync('ip', ['netns', 'exec', node, 'busybox', 'wget', '-q', '-O', '-', url], { encoding: 'utf8', timeout: 5000 });
    if (r.status === 0) return r.stdout;
    execFileSync('sleep', ['0.1']);
  }
  throw new Error(`no answer from ${url}`);
}

function ping(fromNs, address) {
  show(execFileSync('ip', ['netns', 'exec', fromNs, 'ping', '-c', '2', '-i', '0.2', '-W', '2', address], { encoding: 'utf8' }));
}

const results = {};
let web;
try {
  say(`network namespaces: ${node} plays the node, ${containers.join(' and ')} the containers`);
  for (const ns of [node, ...containers]) ip('netns', 'add', ns);
  // A real node has loopback up: the page is fetched through 127.0.0.1 below.
  ip('-n', node, 'link', 'set', 'lo', 'up');

  for (const c of containers) {
    say(`ADD for ${c}: bridge, then portmap, firewall and tuning, each given the previous result`);
    let result = JSON.parse(cni('ADD', c, network));
    for (const conf of chained) result = JSON.parse(cni('ADD', c, { ...withRuntime(c, conf), prevResult: result }));
    show(JSON.stringify(result, null, 2));
    results[c] = result;
  }

  say('inside the node: the bridge and its ports');
  show(ip('-n', node, '-br', 'addr', 'show', 'cni-demo0'));
  show(ip('-n', node, '-br', 'link', 'show', 'master', 'cni-demo0'));
  say('inside the node: the masquerade rules (ipMasq, iptables backend, one iptables-restore per ADD)');
  const nat = spawnSync('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
  show(nat.stdout.split('\n').filter((l) => l.includes('CNI-')).join('\n'));
  say('inside the node: port 8080 published by portmap, and the firewall plugin\'s forward rules');
  show(nat.stdout.split('\n').filter((l) => l.includes('HOSTPORT') || l.includes('CNI-DN-')).join('\n'));
  const filter = spawnSync('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'filter'], { encoding: 'utf8' });
  show(filter.stdout.split('\n').filter((l) => l.includes('CNI-FORWARD') || l.includes('CNI-ADMIN')).join('\n'));
  say(`inside ${containers[0]}: its interface and routes`);
  show(ip('-n', containers[0], '-br', 'addr', 'show', 'eth0'));
  show(ip('-n', containers[0], 'route'));

  const gateway = results[containers[0]].ips[0].gateway;
  const peer = results[containers[1]].ips[0].address.split('/')[0];
  say(`connectivity: ${containers[0]} -> gateway ${gateway}`);
  ping(containers[0], gateway);
  say(`connectivity: ${containers[0]} -> ${containers[1]} (${peer}) across the bridge`);
  ping(containers[0], peer);

  say(`the node fetches a page from ${containers[0]} through 127.0.0.1:${HOST_PORT} (portmap's DNAT)`);
  fs.mkdirSync(webRoot);
  fs.writeFileSync(path.join(webRoot, 'index.html'), `hello from ${containers[0]}\n`);
  web = spawn('ip', ['netns', 'exec', containers[0], 'busybox', 'httpd', '-f', '-p', '80', '-h', webRoot], { stdio: 'ignore' });
  show(fetchFromNode(`http://127.0.0.1:${HOST_PORT}/`));

  say('CHECK every plugin with the final result, then DEL the list backwards, then DEL again (idempotent)');
  const list = [network, ...chained];
  for (const c of containers) {
    for (const conf of list) cni('CHECK', c, { ...withRuntime(c, conf), prevResult: results[c] });
    for (const conf of [...list].reverse()) cni('DEL', c, { ...withRuntime(c, conf), prevResult: results[c] });
    for (const conf of [...list].reverse()) cni('DEL', c, withRuntime(c, conf));
  }
  show(`host-local leases left in ${dataDir}/demo-net: ${fs.readdirSync(path.join(dataDir, 'demo-net')).filter((f) => /^[0-9]/.test(f)).length}`);
  const natAfter = spawnSync('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' }).stdout;
  // The shared CNI-HOSTPORT-* chains and their jumps stay for the next container, as in the reference.
  const perContainer = natAfter.split('\n').filter((l) => /10\.66\.0\.|CNI-DN-|demo-tscni/.test(l) || (l.startsWith('-A CNI-') && !l.startsWith('-A CNI-HOSTPORT')));
  show(`masquerade and port-mapping rules left for the containers: ${perContainer.length}`);
  const filterAfter = spawnSync('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'filter'], { encoding: 'utf8' }).stdout;
  show(`firewall rules left for the containers: ${filterAfter.split('\n').filter((l) => /10\.66\.0\./.test(l)).length}`);
  show(`links left in ${containers[0]}: ${ip('-n', containers[0], '-br', 'link').trim().split('\n').map((l) => l.split(/\s+/)[0]).join(', ')}`);
  say('demo finished: removing the namespaces');
} finally {
  web?.kill();
  for (const ns of [...containers, node]) spawnSync('ip', ['netns', 'del', ns]);
  fs.rmSync(dataDir, { recursive: true, force: true });
}
