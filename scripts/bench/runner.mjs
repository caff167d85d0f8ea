// The podman default list (conf-examples/bridge-podman.conflist: bridge + host-local + ipMasq,
// portmap, firewall, tuning) through the runner, `dist/tscni add|del <network> <netns>`, inside a
// throwaway node netns: ours (the list as shipped, plugins from dist/bin) next to the same runner
// with CNI_PATH=/usr/lib/cni and the list at cniVersion 1.0.0 (the newest the Go 1.1.1 plugins know).
// Both lists are adapted to bench-owned names: bridge, subnet (10.41.x), host-local dataDir, the
// runner's cache dir (TSCNI_CACHE_DIR) and the state records (TSCNI_STATE_DIR). No port mappings
// (CAP_ARGS unset), as `podman run` without -p. Twice: as shipped (iptables), and with every firewall
// of our list on nftables (the reference stays on iptables: 1.1.1 has no nftables backend).
//
//   node scripts/bench/runner.mjs [--rounds N]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REF_DIR, median, runIfMain } from './harness.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function benchRunner(distBin, rounds) {
  const tscni = path.join(path.dirname(distBin), 'tscni');
  const tag = `${process.pid}`;
  const node = `tscni-bench-run-h-${tag}`;
  const cont = `tscni-bench-run-c-${tag}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tscni-bench-run-'));
  for (const ns of [node, cont]) execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
    const shipped = JSON.parse(fs.readFileSync(path.join(repo, 'conf-examples/bridge-podman.conflist'), 'utf8'));
    /** One list variant: its rows. */
    function runList(backend) {
    const setup = {};
    for (const [impl, third] of [['ours', 40], ['ref', 41]]) {
      const list = structuredClone(shipped);
      list.name = `benchpodman${impl}${backend === 'nftables' ? 'n' : ''}`;
      if (impl === 'ref') list.cniVersion = '1.0.0';
      const bridge = list.plugins.find((p) => p.type === 'bridge');
      bridge.bridge = `bpod${impl === 'ours' ? 'o' : 'r'}${backend === 'nftables' ? 'n' : ''}`;
      bridge.ipam.dataDir = path.join(tmp, backend, impl, 'bridge');
      const subnet = third + (backend === 'nftables' ? 2 : 0);
      bridge.ipam.ranges = [[{ subnet: `10.41.${subnet}.0/24`, gateway: `10.41.${subnet}.1` }]];
      if (impl === 'ours' && backend === 'nftables') {
        bridge.ipMasqBackend = 'nftables';
        for (const p of list.plugins) if (p.type === 'portmap' || p.type === 'firewall') p.backend = 'nftables';
      }
      const confDir = path.join(tmp, backend, impl, 'net.d');
      fs.mkdirSync(confDir, { recursive: true });
      fs.writeFileSync(path.join(confDir, 'podman.conflist'), JSON.stringify(list, null, 2));
      setup[impl] = {
        name: list.name,
        env: {
          NETCONFPATH: confDir,
          CNI_PATH: impl === 'ours' ? distBin : REF_DIR,
          TSCNI_CACHE_DIR: path.join(tmp, backend, impl, 'cache'),
          TSCNI_STATE_DIR: path.join(tmp, backend, impl, 'state'),
        },
      };
    }
    const run = (impl, verb) => {
      const t0 = process.hrtime.bigint();
      const res = spawnSync('nsenter', [`--net=/run/netns/${node}`, tscni, verb, setup[impl].name, `/run/netns/${cont}`], {
        env: { PATH: process.env.PATH, ...setup[impl].env },
        encoding: 'utf8',
      });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (res.status !== 0) throw new Error(`tscni ${verb} ${setup[impl].name} (${impl}) failed: ${`${res.stdout}${res.stderr}`.replace(/\s+/g, ' ')}`);
      return ms;
    };
    for (const impl of ['ours', 'ref']) {
      run(impl, 'add');
      run(impl, 'del');
    }
    const t = { ours: { add: [], del: [] }, ref: { add: [], del: [] } };
    for (let i = 0; i < rounds; i++) {
      for (const impl of i % 2 ? ['ref', 'ours'] : ['ours', 'ref']) {
        t[impl].add.push(run(impl, 'add'));
        t[impl].del.push(run(impl, 'del'));
      }
    }
    const which = backend === 'iptables' ? 'iptables' : 'nftables (ref: iptables)';
    const rows = [
      { label: `podman default list, ${which}, via \`tscni add\` (ref: CNI_PATH=/usr/lib/cni, 1.0.0)`, rounds, ours: median(t.ours.add), ref: median(t.ref.add) },
      { label: `podman default list, ${which}, via \`tscni del\` (ref: CNI_PATH=/usr/lib/cni, 1.0.0)`, rounds, ours: median(t.ours.del), ref: median(t.ref.del) },
      { label: `podman default list, ${which}, add+del`, rounds, ours: median(t.ours.add.map((a, i) => a + t.ours.del[i])), ref: median(t.ref.add.map((a, i) => a + t.ref.del[i])) },
    ];
    const out = [`\nthe podman default list (bridge+ipMasq, portmap, firewall, tuning) through the runner, ${which}, in a node netns`, '| case | runs | tscni median ms | Go reference median ms | tscni / reference |', '|---|---|---|---|---|'];
    for (const r of rows) out.push(`| ${r.label} | ${r.rounds} | ${r.ours.toFixed(2)} | ${r.ref.toFixed(2)} | ${(r.ours / r.ref).toFixed(2)}x |`);
    process.stdout.write(`${out.join('\n')}\n`);
    return rows;
  }
    const all = [];
    // As shipped (iptables, the reference's default), then with every firewall of the list on
    // nftables (ipMasqBackend, portmap's and firewall's backend) for ours; the reference keeps
    // iptables (1.1.1 has no nftables backend).
    for (const backend of ['iptables', 'nftables']) all.push(...runList(backend));
    return all;
  } finally {
    for (const ns of [node, cont]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, benchRunner);
