#!/usr/bin/env node
// The README demo: runs the built plugins against a fresh network namespace as a container runtime
// would, shows the CNI result and connectivity, then cleans up (also on failure).
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'dist/bin');
const ns = `tscni-demo-${process.pid}`;
const netnsPath = `/run/netns/${ns}`;

const say = (msg) => process.stdout.write(`\n== ${msg}\n`);
const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8' });

/** Runs one plugin command the way libcni does: CNI_* environment and the config on stdin. */
function cni(command, plugin, config, extraEnv = {}) {
  const res = spawnSync(path.join(bin, plugin), [], {
    input: JSON.stringify(config),
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'demo-container',
      CNI_NETNS: netnsPath,
      CNI_IFNAME: 'eth0',
      CNI_PATH: bin,
      ...extraEnv,
    },
  });
  if (res.status !== 0) throw new Error(`${plugin} ${command} failed (exit ${res.status}): ${res.stdout}${res.stderr}`);
  return res.stdout;
}

const loopbackConf = { cniVersion: '1.1.0', name: 'demo-lo', type: 'loopback' };

try {
  say(`creating network namespace ${ns} (plays the container)`);
  ip('netns', 'add', ns);
  process.stdout.write(ip('-n', ns, '-br', 'addr'));

  say('loopback ADD: result printed by dist/bin/loopback');
  process.stdout.write(cni('ADD', 'loopback', loopbackConf));
  process.stdout.write(ip('-n', ns, '-br', 'addr'));

  say('connectivity inside the container: ping 127.0.0.1 and ::1');
  process.stdout.write(execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', '127.0.0.1'], { encoding: 'utf8' }));
  process.stdout.write(execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', '::1'], { encoding: 'utf8' }));

  say('loopback CHECK, DEL, and DEL again (idempotent)');
  cni('CHECK', 'loopback', { ...loopbackConf, prevResult: JSON.parse(cni('ADD', 'loopback', loopbackConf)) });
  cni('DEL', 'loopback', loopbackConf);
  cni('DEL', 'loopback', loopbackConf);
  process.stdout.write(ip('-n', ns, '-br', 'link'));
  say('demo finished');
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
}
