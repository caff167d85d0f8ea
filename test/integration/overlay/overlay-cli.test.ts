// `tscni overlay` as an operator meets it: usage errors, and one node against a TLS-only etcd
// (client certificates required) given by -etcd-certfile/-etcd-keyfile/-etcd-cafile, started
// before its config exists (it waits), stopped with -release-on-exit.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EtcdCluster, etcdMissing } from '../../helpers/etcd-cluster.js';
import { makeEtcdPki } from '../../helpers/etcd-tls.js';
import { createNetns, ipJson, removeAllNetns, sh } from '../../helpers/netns.js';
import { removeDir, tempDir } from '../../helpers/node-rig.js';
import { ROOT } from '../../helpers/plugin.js';

const TSCNI = path.join(ROOT, 'dist/tscni');
const missing = etcdMissing();
const dirs: string[] = [];
let cluster: EtcdCluster | undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  await cluster?.stop();
  removeAllNetns();
  dirs.forEach(removeDir);
});

describe('tscni overlay: command line', () => {
  it('an unknown flag is a usage error (exit 2) in Go flag wording; -h prints the flags (exit 0); nothing on stdout', () => {
    const bad = spawnSync(TSCNI, ['overlay', '-no-such-flag'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^flag provided but not defined: -no-such-flag\nUsage: tscni overlay \[flags\]/);
    const help = spawnSync(TSCNI, ['overlay', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toBe('');
    for (const f of ['-etcd-endpoints', '-etcd-prefix', '-etcd-certfile', '-etcd-keyfile', '-etcd-cafile', '-iface', '-public-ip', '-subnet-file', '-ip-masq', '-release-on-exit']) {
      expect(help.stderr).toContain(`  ${f}`);
    }
  });
});

describe.skipIf(missing !== undefined)('tscni overlay: etcd over TLS with client certificates', () => {
  it('waits for the config, leases a subnet over TLS, and releases it on SIGTERM', async () => {
    const dir = tempDir('tov-tls-');
    dirs.push(dir);
    const ns = createNetns('tov-tls');
    sh(ns, 'ip', ['link', 'set', 'lo', 'up']);
    // The node's underlay: one end of a veth pair with the public IP (this kernel may lack dummy).
    sh(ns, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    sh(ns, 'ip', ['addr', 'add', '10.157.0.31/24', 'dev', 'eth0']);
    sh(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    sh(ns, 'ip', ['link', 'set', 'eth0p', 'up']);
    const pki = makeEtcdPki(dir, ['10.157.0.31']);
    cluster = await EtcdCluster.start({
      name: 'tovtls', members: 1, netns: ns, hosts: '10.157.0.31', clientPorts: [23816], peerPorts: [23817],
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, trustedCAFile: pki.caFile, clientCertAuth: true, clientCertFile: pki.clientCertFile, clientKeyFile: pki.clientKeyFile },
    });
    const subnetFile = path.join(dir, 'subnet.env');
    const logFile = path.join(dir, 'agent.log');
    const log = fs.openSync(logFile, 'a');
    const agent = spawn('ip', ['netns', 'exec', ns, TSCNI, 'overlay', '--etcd-endpoints', cluster.endpoints.join(','), '-etcd-prefix=/tov/net',
      `-etcd-certfile=${pki.clientCertFile}`, `-etcd-keyfile=${pki.clientKeyFile}`, `-etcd-cafile=${pki.caFile}`, '-iface=10.157.0.31',
      `-subnet-file=${subnetFile}`, '-release-on-exit'], { stdio: ['ignore', 'ignore', log] });
    fs.closeSync(log);
    const exited = new Promise<number | null>((r) => agent.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 10_000;
      while (!/flannel config not found in etcd store/.test(fs.readFileSync(logFile, 'utf8'))) {
        if (Date.now() > deadline) throw new Error(`no wait message: ${fs.readFileSync(logFile, 'utf8')}`);
        await sleep(100);
      }
      expect(fs.existsSync(subnetFile)).toBe(false);
      expect(cluster.etcdctl(['put', '/tov/net/config', '{"Network":"10.156.0.0/16","SubnetLen":26,"Backend":{"Type":"vxlan","VNI":3}}']).status).toBe(0);
      while (!fs.existsSync(subnetFile)) {
        if (Date.now() > deadline + 10_000) throw new Error(`no subnet.env: ${fs.readFileSync(logFile, 'utf8')}`);
        await sleep(100);
      }
      expect(fs.readFileSync(subnetFile, 'utf8')).toMatch(/^FLANNEL_NETWORK=10\.156\.0\.0\/16\nFLANNEL_SUBNET=10\.156\.\d+\.\d+\/26\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n$/);
      const keys = [...cluster.keys('/tov/net/subnets/').keys()];
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/^\/tov\/net\/subnets\/10\.156\.\d+\.\d+-26$/);
      const dev = ipJson<Array<Record<string, any>>>(['-d', 'link', 'show', 'flannel.3'], ns)[0]!;
      expect(dev['linkinfo']['info_data']).toMatchObject({ id: 3, local: '10.157.0.31', link: 'eth0' });
    } finally {
      agent.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(cluster.keys('/tov/net/subnets/').size).toBe(0);
    expect(ipJson<Array<Record<string, any>>>(['link', 'show'], ns).map((l) => l['ifname']).sort()).toEqual(['eth0', 'eth0p', 'lo']);
    expect(fs.existsSync(subnetFile)).toBe(false);
  }, 60_000);
});
