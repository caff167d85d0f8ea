#!/usr/bin/env node
// `npm run bench`: tscni against the Go reference plugins (Debian's containernetworking-plugins in
// /usr/lib/cni), measured side by side in one run. Run as root after `npm run build`.
//   npm run bench [-- --rounds N] [-- --only loopback,ipam]
//   groups: loopback, bridge, ptp-macvlan, meta (bridge + portmap / firewall chains), firewall (firewall
//   alone, per backend), ipam, dhcp
//   TSCNI_BIN_DIR=<dir> measures another directory as "ours" (default dist/bin).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REF_DIR } from './bench/harness.mjs';
import { benchLoopback } from './bench/loopback.mjs';
import { benchBridge } from './bench/bridge.mjs';
import { benchPtpMacvlan } from './bench/ptp-macvlan.mjs';
import { benchMeta } from './bench/meta.mjs';
import { benchFirewall } from './bench/firewall.mjs';
import { benchPortmap } from './bench/portmap.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distBin = process.env.TSCNI_BIN_DIR ?? path.join(root, 'dist/bin');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const rounds = Number(opt('rounds', '30'));
const only = opt('only', '')?.split(',').filter(Boolean);

if (!fs.existsSync(path.join(distBin, 'loopback'))) throw new Error('dist/bin is empty: run `npm run build` first');
if (!fs.existsSync(path.join(REF_DIR, 'loopback'))) throw new Error(`no Go reference in ${REF_DIR}: apt-get install containernetworking-plugins`);

/** A bench that is its own script (prints its own table). */
const script = (file, args) => () => {
  const res = spawnSync(process.execPath, [path.join(root, 'scripts/bench', file), ...args], { stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`bench ${file} failed`);
};

const sections = {
  loopback: () => benchLoopback(distBin, rounds),
  bridge: () => benchBridge(distBin, rounds),
  'ptp-macvlan': () => benchPtpMacvlan(distBin, rounds),
  meta: () => benchMeta(distBin, rounds),
  firewall: () => benchFirewall(distBin, rounds),
  portmap: () => benchPortmap(distBin, rounds),
  ipam: script('ipam.mjs', ['--runs', String(Math.max(5, Math.round(rounds / 2)))]),
  dhcp: script('dhcp.mjs', ['--runs', String(Math.max(5, Math.round(rounds / 4)))]),
};
process.stdout.write(`tscni bench: ${rounds} rounds per case, ours and reference interleaved; medians in ms\n`);
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  await run();
}
