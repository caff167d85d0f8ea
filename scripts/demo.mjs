#!/usr/bin/env node
// The README demo: two containers on a bridge network with host-local IPAM, wired by the built
// plugins exactly as a runtime calls them (CNI_* environment, config on stdin). Everything happens
// inside a throwaway "node" network namespace, so the machine's own links, sysctls and firewall are
// untouched; all of it is removed at the end, also on failure.
import { execFileSync, spawnSync } from 'node:child_process';
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

const network = {
  cniVersion: '1.1.0',
  name: 'demo-net',
  type: 'bridge',
  bridge: 'cni-demo0',
  isGateway: true,
  ipMasq: true,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.66.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir },
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
    },
  });
  if (res.status !== 0) throw new Error(`${config.type} ${command} failed (exit ${res.status}): ${res.stdout}${res.stderr}`);
  return res.stdout;
}

function ping(fromNs, address) {
  show(execFileSync('ip', ['netns', 'exec', fromNs, 'ping', '-c', '2', '-i', '0.2', '-W', '2', address], { encoding: 'utf8' }));
}

const results = {};
try {
  say(`network namespaces: ${node} plays the node, ${containers.join(' and ')} the containers`);
  for (const ns of [node, ...containers]) ip('netns', 'add', ns);

  for (const c of containers) {
    say(`bridge ADD for ${c}: the CNI result printed by dist/bin/bridge`);
    const out = cni('ADD', c, network);
    show(out);
    results[c] = JSON.parse(out);
  }

  say('inside the node: the bridge and its ports');
  show(ip('-n', node, '-br', 'addr', 'show', 'cni-demo0'));
  show(ip('-n', node, '-br', 'link', 'show', 'master', 'cni-demo0'));
  say('inside the node: the masquerade rules (ipMasq, iptables backend, one iptables-restore per ADD)');
  const nat = spawnSync('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
  show(nat.stdout.split('\n').filter((l) => l.includes('CNI-')).join('\n'));
  say(`inside ${containers[0]}: its interface and routes`);
  show(ip('-n', containers[0], '-br', 'addr', 'show', 'eth0'));
  show(ip('-n', containers[0], 'route'));

  const gateway = results[containers[0]].ips[0].gateway;
  const peer = results[containers[1]].ips[0].address.split('/')[0];
  say(`connectivity: ${containers[0]} -> gateway ${gateway}`);
  ping(containers[0], gateway);
  say(`connectivity: ${containers[0]} -> ${containers[1]} (${peer}) across the bridge`);
  ping(containers[0], peer);

  say('CHECK with the ADD result as prevResult, then DEL, then DEL again (idempotent)');
  for (const c of containers) {
    cni('CHECK', c, { ...network, prevResult: results[c] });
    cni('DEL', c, { ...network, prevResult: results[c] });
    cni('DEL', c, network);
  }
  show(`host-local leases left in ${dataDir}/demo-net: ${fs.readdirSync(path.join(dataDir, 'demo-net')).filter((f) => /^[0-9]/.test(f)).length}`);
  const natAfter = spawnSync('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' }).stdout;
  show(`masquerade rules left: ${natAfter.split('\n').filter((l) => l.includes('CNI-')).length}`);
  show(`links left in ${containers[0]}: ${ip('-n', containers[0], '-br', 'link').trim().split('\n').map((l) => l.split(/\s+/)[0]).join(', ')}`);
  say('demo finished: removing the namespaces');
} finally {
  for (const ns of [...containers, node]) spawnSync('ip', ['netns', 'del', ns]);
  fs.rmSync(dataDir, { recursive: true, force: true });
}
