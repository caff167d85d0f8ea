// shared/etcd over TLS with client certificates, and the cluster helper's netns mode (the overlay
// tests run etcd inside an "underlay" netns): one-member clusters, so both stay quick.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { EtcdClient, EtcdUnavailableError } from '../../../shared/etcd/index.js';
import { EtcdCluster, etcdMissing } from '../../helpers/etcd-cluster.js';
import { makeEtcdPki } from '../../helpers/etcd-tls.js';
import { createNetns, removeAllNetns } from '../../helpers/netns.js';
import { removeDir, tempDir } from '../../helpers/node-rig.js';
import { DIST_BIN, runPlugin } from '../../helpers/plugin.js';

const missing = etcdMissing();
const dirs: string[] = [];
const clusters: EtcdCluster[] = [];

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
  removeAllNetns();
  dirs.forEach(removeDir);
});

describe.skipIf(missing !== undefined)('etcd over TLS and inside a netns', () => {
  it('TLS with client certificate auth: works with cert/key/CA, refused without a client certificate', async () => {
    const dir = tempDir('tce-pki-');
    dirs.push(dir);
    const pki = makeEtcdPki(dir, ['127.0.0.1']);
    const cluster = await EtcdCluster.start({
      name: 'tcet',
      members: 1,
      clientPorts: [23799],
      peerPorts: [23809],
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, trustedCAFile: pki.caFile, clientCertAuth: true, clientCertFile: pki.clientCertFile, clientKeyFile: pki.clientKeyFile },
    });
    clusters.push(cluster);
    expect(cluster.endpoints).toEqual(['https://127.0.0.1:23799']);
    const client = new EtcdClient({ endpoints: cluster.endpoints, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile, trustedCAFile: pki.caFile });
    await client.put('/tce/tls', 'secret');
    client.close();
    expect(cluster.keys('/tce/tls').get('/tce/tls')).toBe('secret');
    // Without the client certificate the handshake fails: the member is unusable for us, so "unavailable".
    const noCert = new EtcdClient({ endpoints: cluster.endpoints, trustedCAFile: pki.caFile, dialTimeoutMs: 1000 });
    const err = await noCert.get('/tce/tls').catch((e: unknown) => e);
    noCert.close();
    expect(err).toBeInstanceOf(EtcdUnavailableError);
    // Without the CA our client does not trust the member.
    const noCa = new EtcdClient({ endpoints: cluster.endpoints, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile });
    const err2 = await noCa.get('/tce/tls').catch((e: unknown) => e);
    noCa.close();
    expect(err2).toBeInstanceOf(EtcdUnavailableError);
    expect((err2 as Error).message).toMatch(/certificate|SELF_SIGNED|UNABLE/i);

    // cluster-ipam with the same files in its config: claims over TLS; an unreadable file is code 7.
    const conf = (etcd: Record<string, unknown>) => ({
      cniVersion: '1.0.0',
      name: 'tce-tls',
      type: 'cluster-ipam',
      ipam: { type: 'cluster-ipam', range: '10.154.3.0/24', nodeName: 'tls-node', etcd: { endpoints: cluster.endpoints, prefix: '/tce/tls-ipam', ...etcd } },
    });
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'tls1', CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/tce-none', CNI_PATH: DIST_BIN };
    const ok = runPlugin('cluster-ipam', env, conf({ certFile: pki.clientCertFile, keyFile: pki.clientKeyFile, trustedCAFile: pki.caFile }));
    expect(ok.status, ok.stdout).toBe(0);
    expect(ok.json).toMatchObject({ ips: [{ address: '10.154.3.2/24' }] });
    expect(JSON.parse(cluster.keys('/tce/tls-ipam/').get('/tce/tls-ipam/tce-tls/10.154.3.2') ?? '{}')).toMatchObject({ containerID: 'tls1', node: 'tls-node' });
    const missingFile = runPlugin('cluster-ipam', { ...env, CNI_CONTAINERID: 'tls2' }, conf({ certFile: `${dir}/nope.pem`, keyFile: pki.clientKeyFile, trustedCAFile: pki.caFile }));
    expect(missingFile.json).toMatchObject({ code: 7, msg: `ipam.etcd.certFile: cannot read "${dir}/nope.pem"` });
    expect(runPlugin('cluster-ipam', { ...env, CNI_COMMAND: 'DEL' }, conf({ certFile: pki.clientCertFile, keyFile: pki.clientKeyFile, trustedCAFile: pki.caFile })).status).toBe(0);
    expect(cluster.keys('/tce/tls-ipam/tce-tls/1').size).toBe(0);
  });

  it('members inside a netns listen on the given address; etcdctl inside that netns reads them', async () => {
    const ns = createNetns('tce-ul');
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // A veth pair inside the netns stands for the underlay link (this kernel may lack dummy).
    execFileSync('ip', ['-n', ns, 'link', 'add', 'tce-ul0', 'type', 'veth', 'peer', 'name', 'tce-ul1']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', '10.154.250.1/24', 'dev', 'tce-ul0']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'tce-ul0', 'up']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'tce-ul1', 'up']);
    const cluster = await EtcdCluster.start({ name: 'tceu', members: 1, netns: ns, hosts: '10.154.250.1', clientPorts: [23798], peerPorts: [23808] });
    clusters.push(cluster);
    expect(cluster.endpoints).toEqual(['http://10.154.250.1:23798']);
    expect(cluster.etcdctl(['put', '/tce/ns', 'here']).status).toBe(0);
    expect(cluster.keys('/tce/').get('/tce/ns')).toBe('here');
    // The member's process runs in that netns: its listening socket is there, not in ours.
    const ss = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', 'sport = :23798'], { encoding: 'utf8' });
    expect(ss).toContain('10.154.250.1:23798');
    await cluster.kill(0);
    expect(cluster.members[0]!.pid).toBeUndefined();
    await cluster.restart(0);
    expect(cluster.keys('/tce/').get('/tce/ns')).toBe('here');
  });
});
