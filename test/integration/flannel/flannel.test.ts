// The flannel plugin as a runtime calls it, inside a test-owned node netns: the delegate it saves and
// runs (our bridge or the Go reference bridge, by exec through CNI_PATH), DEL replaying
// the saved config, CHECK, GC, STATUS and its errors. Kernel state read with iproute2.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createNetns, ipJson, netnsPath, removeAllNetns } from '../../helpers/netns.js';
import { normalize, removeDir, tempDir } from '../../helpers/node-rig.js';
import { type CniEnv, DIST_BIN, REF_BIN, runPluginInNetns } from '../../helpers/plugin.js';

type Json = Record<string, any>;
let dir = '';
let node = '';
const SUBNET_ENV = 'FLANNEL_NETWORK=10.156.0.0/16\nFLANNEL_SUBNET=10.156.40.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n';

beforeAll(() => {
  dir = tempDir('tov-flannel-');
  node = createNetns('tov-fn');
  fs.writeFileSync(path.join(dir, 'subnet.env'), SUBNET_ENV);
});

afterAll(() => {
  removeAllNetns();
  removeDir(dir);
});

function conf(extra: Json = {}, version = '1.0.0'): Json {
  return {
    cniVersion: version, name: 'tov-flannel', type: 'flannel',
    subnetFile: path.join(dir, 'subnet.env'), dataDir: path.join(dir, 'data'),
    delegate: { bridge: 'tovfl0', hairpinMode: true, isDefaultGateway: true },
    ipam: { dataDir: path.join(dir, 'ipam') },
    ...extra,
  };
}

function run(command: string, c: Json, opts: { id?: string; netns?: string; cniPath?: string } = {}): { status: number; json: Json | undefined; stderr: string; stdout: string } {
  const env: CniEnv = { CNI_COMMAND: command, CNI_PATH: opts.cniPath ?? DIST_BIN };
  if (command !== 'GC' && command !== 'STATUS') {
    env['CNI_CONTAINERID'] = opts.id ?? 'tov-ctr';
    env['CNI_IFNAME'] = 'eth0';
    if (opts.netns !== undefined) env['CNI_NETNS'] = opts.netns;
  }
  const r = runPluginInNetns(node, path.join(DIST_BIN, 'flannel'), env, c);
  return { status: r.status ?? -1, json: r.json as Json | undefined, stderr: r.stderr, stdout: r.stdout };
}

const saved = (id = 'tov-ctr'): string | undefined => {
  const f = path.join(dir, 'data', id);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined;
};
const add0 = (r: Json): string => String(r['ips'][0]['address']);
const leases = (): string[] => {
  const d = path.join(dir, 'ipam', 'tov-flannel');
  return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => /^\d/.test(f)) : [];
};

describe('flannel: ADD saves the delegate config and runs it; DEL replays it', () => {
  for (const [label, cniPath] of [['our bridge', DIST_BIN], ['the Go reference bridge (exec via CNI_PATH)', REF_BIN]] as const) {
    it(`with ${label}`, () => {
      const pod = createNetns('tov-fp');
      onTestFinished(() => void run('DEL', conf(), { netns: netnsPath(pod), cniPath }));
      const add = run('ADD', conf(), { netns: netnsPath(pod), cniPath });
      expect(add.status, add.stdout).toBe(0);
      expect(add.json).toMatchObject({
        cniVersion: '1.0.0',
        ips: [{ address: expect.stringMatching(/^10\.156\.40\.\d+\/24$/), gateway: '10.156.40.1', interface: 2 }],
        routes: [{ dst: '10.156.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.156.40.1' }],
      });
      expect(saved()).toBe(
        `{"bridge":"tovfl0","cniVersion":"1.0.0","hairpinMode":true,"ipMasq":true,"ipam":{"dataDir":"${path.join(dir, 'ipam')}",` +
          '"ranges":[[{"subnet":"10.156.40.0/24"}]],"routes":[{"dst":"10.156.0.0/16"}],"type":"host-local"},' +
          '"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"tov-flannel","type":"bridge"}',
      );
      expect(fs.statSync(path.join(dir, 'data', 'tov-ctr')).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.join(dir, 'data')).mode & 0o777).toBe(0o700);
      const eth0 = ipJson<Json[]>(['addr', 'show', 'eth0'], pod)[0]!;
      expect(eth0['mtu']).toBe(1450);
      expect(ipJson<Json[]>(['route', 'show', '10.156.0.0/16'], pod)).toEqual([expect.objectContaining({ gateway: '10.156.40.1' })]);

      // CHECK replays the saved config with prevResult through the delegate. (Debian's Go bridge 1.1.1
      // fails its own CHECK on a route without a gateway, so only ours is checked here.)
      if (cniPath === DIST_BIN) {
        const check = run('CHECK', conf({ prevResult: add.json }), { netns: netnsPath(pod), cniPath });
        expect(check.status, check.stdout).toBe(0);
      }

      // DEL uses the saved config even when subnet.env is gone.
      fs.rmSync(path.join(dir, 'subnet.env'));
      try {
        const del = run('DEL', conf(), { netns: netnsPath(pod), cniPath });
        expect(del.status, del.stdout).toBe(0);
      } finally {
        fs.writeFileSync(path.join(dir, 'subnet.env'), SUBNET_ENV);
      }
      expect(saved()).toBeUndefined();
      expect(leases()).toEqual([]);
      expect(ipJson<Json[]>(['link', 'show'], node).filter((l) => String(l['ifname']).startsWith('veth'))).toEqual([]);
      // DEL again, and DEL without a netns: nothing saved, success.
      expect(run('DEL', conf(), { netns: netnsPath(pod), cniPath }).status).toBe(0);
      expect(run('DEL', conf(), { cniPath }).status).toBe(0);
    });
  }

  it('a config without cniVersion (0.1.0, as old 10-flannel.conf files are) ADDs with an ip4 result and DELs', () => {
    const pod = createNetns('tov-fp');
    const c = conf();
    delete c['cniVersion'];
    onTestFinished(() => void run('DEL', c, { id: 'tov-old', netns: netnsPath(pod) }));
    const add = run('ADD', c, { id: 'tov-old', netns: netnsPath(pod) });
    expect(add.status, add.stdout).toBe(0);
    expect(add.json).toMatchObject({ cniVersion: '0.1.0', ip4: { ip: expect.stringMatching(/^10\.156\.40\.\d+\/24$/), gateway: '10.156.40.1' } });
    expect(ipJson<Json[]>(['addr', 'show', 'eth0'], pod)[0]!['addr_info']).toEqual(
      expect.arrayContaining([expect.objectContaining({ local: (add.json!['ip4']['ip'] as string).split('/')[0] })]),
    );
    expect(run('DEL', c, { id: 'tov-old', netns: netnsPath(pod) }).status).toBe(0);
    expect(saved('tov-old')).toBeUndefined();
    expect(leases()).toEqual([]);
  });

  it('a failed ADD (the node subnet is full) leaves no saved config, and the other container keeps its address', () => {
    const small = path.join(dir, 'small.env');
    fs.writeFileSync(small, 'FLANNEL_NETWORK=10.156.0.0/16\nFLANNEL_SUBNET=10.156.44.1/30\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');
    const c = conf({ subnetFile: small, name: 'tov-full', dataDir: path.join(dir, 'data-full'), delegate: { bridge: 'tovfl1' } });
    const first = createNetns('tov-fp');
    const second = createNetns('tov-fp');
    onTestFinished(() => {
      run('DEL', c, { id: 'tov-full1', netns: netnsPath(first) });
      run('DEL', c, { id: 'tov-full2', netns: netnsPath(second) });
    });
    const ok = run('ADD', c, { id: 'tov-full1', netns: netnsPath(first) });
    expect(ok.status, ok.stdout).toBe(0);
    const full = run('ADD', c, { id: 'tov-full2', netns: netnsPath(second) });
    expect(full.json, full.stdout).toMatchObject({ code: 11 });
    expect(fs.existsSync(path.join(dir, 'data-full', 'tov-full2'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'data-full', 'tov-full1'))).toBe(true);
    expect(ipJson<Json[]>(['link', 'show'], second).map((l) => l['ifname'])).toEqual(['lo']);
    expect(ipJson<Json[]>(['addr', 'show', 'eth0'], first)[0]!['addr_info']).toEqual(
      expect.arrayContaining([expect.objectContaining({ local: (add0(ok.json!)).split('/')[0] })]),
    );
  });

  it('results agree between our bridge and the Go bridge as the delegate, in 0.3.1 and 1.0.0', () => {
    for (const version of ['0.3.1', '1.0.0']) {
      const out: unknown[] = [];
      for (const cniPath of [DIST_BIN, REF_BIN]) {
        const pod = createNetns('tov-fp');
        // A fresh host-local store for each, so both hand out the first address.
        const c = conf({ ipam: { dataDir: path.join(dir, `ipam-${version}-${out.length}`) } }, version);
        onTestFinished(() => void run('DEL', c, { netns: netnsPath(pod), cniPath }));
        const add = run('ADD', c, { netns: netnsPath(pod), cniPath });
        expect(add.status, add.stdout).toBe(0);
        const r = normalize(add.json) as Json;
        r['interfaces'][2]['sandbox'] = 'NETNS';
        delete r['dns']; // an empty dns object: printed by Debian's 1.1.1 libcni, omitted by libcni >= 1.2 (and us)
        out.push(r);
        expect(run('DEL', c, { netns: netnsPath(pod), cniPath }).status).toBe(0);
      }
      expect(out[0]).toEqual(out[1]);
    }
  });
});

describe('flannel: errors, STATUS and GC', () => {
  it('a missing subnet.env is code 11 (try again: the agent has no lease yet) naming the file', () => {
    const r = run('ADD', conf({ subnetFile: path.join(dir, 'none.env') }), { netns: netnsPath(createNetns('tov-fp')) });
    expect(r.json).toMatchObject({
      code: 11,
      msg: `failed to load flannel 'subnet.env' file: open ${path.join(dir, 'none.env')}: no such file or directory. Check the flannel pod log for this node.`,
    });
    expect(saved()).toBeUndefined();
  });

  it('a subnet.env missing variables is code 5 naming them', () => {
    const f = path.join(dir, 'partial.env');
    fs.writeFileSync(f, 'FLANNEL_NETWORK=10.156.0.0/16\nFLANNEL_SUBNET=10.156.40.1/24\n');
    const r = run('ADD', conf({ subnetFile: f }), { netns: netnsPath(createNetns('tov-fp')) });
    expect(r.json).toMatchObject({ code: 5, msg: `failed to load flannel 'subnet.env' file: ${f} is missing FLANNEL_MTU, FLANNEL_IPMASQ. Check the flannel pod log for this node.` });
  });

  it("delegate.name / delegate.ipam / a non-string delegate.type are code 7 with the reference's words", () => {
    const ns = netnsPath(createNetns('tov-fp'));
    expect(run('ADD', conf({ delegate: { name: 'x' } }), { netns: ns }).json).toMatchObject({ code: 7, msg: "'delegate' dictionary must not have 'name' field, it'll be set by flannel" });
    expect(run('ADD', conf({ delegate: { ipam: {} } }), { netns: ns }).json).toMatchObject({ code: 7, msg: "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel" });
    expect(run('ADD', conf({ delegate: { type: 1 } }), { netns: ns }).json).toMatchObject({ code: 7, msg: "'delegate' dictionary, if present, must have (string) 'type' field" });
  });

  it('a failed delegate ADD is undone by its DEL and leaves no saved config; if that DEL fails too, the config stays for the runtime\'s DEL', () => {
    const ns = netnsPath(createNetns('tov-fp'));
    const r = run('ADD', conf({ delegate: { type: 'bridge', bridge: 'tovfl1', mtu: 99999 } }), { netns: ns, id: 'tov-bad' });
    expect(r.status).not.toBe(0);
    expect(r.json!['msg']).toMatch(/^failed to delegate add: /);
    expect(saved('tov-bad')).toBeUndefined();
    expect(leases()).toEqual([]);

    // No delegate binary to run: neither ADD nor its undo can run, so the saved config is kept ...
    const empty = path.join(dir, 'empty-cni-path');
    fs.mkdirSync(empty, { recursive: true });
    const stuck = run('ADD', conf(), { netns: ns, id: 'tov-bad', cniPath: empty });
    expect(stuck.status).not.toBe(0);
    expect(stuck.stderr).toContain('kept for the runtime');
    expect(saved('tov-bad')).toBeDefined();
    // ... and the runtime's DEL, with the plugins back, replays it and removes it.
    expect(run('DEL', conf(), { netns: ns, id: 'tov-bad' }).status).toBe(0);
    expect(saved('tov-bad')).toBeUndefined();
  });

  it('STATUS: ready with subnet.env, code 50 without', () => {
    expect(run('STATUS', conf({}, '1.1.0')).status).toBe(0);
    expect(run('STATUS', conf({ subnetFile: path.join(dir, 'none.env') }, '1.1.0')).json).toMatchObject({ code: 50 });
  });

  it('GC removes the saved configs (and addresses) of attachments that are not valid, of this network only', () => {
    const a = createNetns('tov-fp');
    const b = createNetns('tov-fp');
    expect(run('ADD', conf({}, '1.1.0'), { netns: netnsPath(a), id: 'tov-a' }).status).toBe(0);
    expect(run('ADD', conf({}, '1.1.0'), { netns: netnsPath(b), id: 'tov-b' }).status).toBe(0);
    fs.writeFileSync(path.join(dir, 'data', 'other-net'), JSON.stringify({ type: 'bridge', name: 'someone-else' }));
    expect(leases()).toHaveLength(2);
    const gc = run('GC', conf({ 'cni.dev/valid-attachments': [{ containerID: 'tov-a', ifname: 'eth0' }] }, '1.1.0'));
    expect(gc.status, gc.stdout).toBe(0);
    expect(saved('tov-a')).toBeDefined();
    expect(saved('tov-b')).toBeUndefined();
    expect(saved('other-net')).toBeDefined();
    expect(leases()).toHaveLength(1);
    expect(run('DEL', conf({}, '1.1.0'), { netns: netnsPath(a), id: 'tov-a' }).status).toBe(0);
    fs.rmSync(path.join(dir, 'data', 'other-net'));
  });
});
