// macvlan through the built binary against real namespaces. The node is a test netns holding a
// veth pair whose one end is the macvlan master (this kernel has no dummy devices); containers are
// further test netns. Side-by-side runs use the Go reference in /usr/lib/cni.
import { existsSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson, ping, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, normalize, removeDir, runIn, tempDir, VERSIONS, type Impl } from '../../helpers/node-rig.js';
import { interfaceSysctls, linkAttrs, type IpAddr, type IpLink, type IpRoute } from '../../helpers/ip.js';
import { LATEST_ONLY_SYSCTLS, latestLinkAttrs } from '../../helpers/reference.js';

let host: string;
let dataDir: string;
const extraDirs: string[] = [];

function makeMaster(ns: string, name = 'mvm0', mtu = 1500): void {
  sh(ns, 'ip', ['link', 'add', name, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', `${name}p`]);
  sh(ns, 'ip', ['link', 'set', name, 'up']);
  sh(ns, 'ip', ['link', 'set', `${name}p`, 'up']);
}

function conf(extra: Record<string, unknown> = {}, version = '1.0.0', subnet = '10.78.10.0/24'): Record<string, unknown> {
  return {
    cniVersion: version,
    name: 'mvnet',
    type: 'macvlan',
    master: 'mvm0',
    ipam: { type: 'host-local', subnet, dataDir },
    ...extra,
  };
}

const link = (ns: string, name = 'eth0'): IpLink => ipJson<IpLink[]>(['-d', 'link', 'show', name], ns)[0] as IpLink;
const v4addrs = (ns: string, name = 'eth0'): string[] =>
  (ipJson<IpAddr[]>(['-4', 'addr', 'show', name], ns)[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
const hasLink = (ns: string, name = 'eth0'): boolean => ipJson<IpLink[]>(['link'], ns).some((l) => l.ifname === name);

beforeEach(() => {
  host = createNetns('tscni-mv-h');
  makeMaster(host);
  dataDir = tempDir('tscni-mv-');
});

afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
  for (const d of extraDirs.splice(0)) removeDir(d);
});

describe('macvlan ADD/CHECK/DEL', () => {
  it('bridge mode: two containers on one master reach each other', () => {
    const c1 = createNetns('tscni-mv-c');
    const c2 = createNetns('tscni-mv-c');
    const r1 = runIn(host, 'macvlan', cniEnv('ADD', c1, 'c1'), conf({ mode: 'bridge' }));
    const r2 = runIn(host, 'macvlan', cniEnv('ADD', c2, 'c2'), conf({ mode: 'bridge' }));
    expect(r1.status, r1.stdout).toBe(0);
    expect(r2.status, r2.stdout).toBe(0);
    const ip2 = ((r2.json as { ips: { address: string }[] }).ips[0]?.address ?? '').split('/')[0] ?? '';
    expect(link(c1).linkinfo?.info_data?.mode).toBe('bridge');
    expect(ping(c1, ip2, 3)).toBe(true);
  });

  it('private mode isolates macvlans of the same master', () => {
    const c1 = createNetns('tscni-mv-c');
    const c2 = createNetns('tscni-mv-c');
    expect(runIn(host, 'macvlan', cniEnv('ADD', c1, 'c1'), conf({ mode: 'private' })).status).toBe(0);
    const r2 = runIn(host, 'macvlan', cniEnv('ADD', c2, 'c2'), conf({ mode: 'private' }));
    expect(r2.status, r2.stdout).toBe(0);
    expect(link(c1).linkinfo?.info_data?.mode).toBe('private');
    const ip2 = ((r2.json as { ips: { address: string }[] }).ips[0]?.address ?? '').split('/')[0] ?? '';
    expect(ping(c1, ip2, 1)).toBe(false);
  });

  it.each(['vepa', 'passthru'])('mode %s creates a macvlan in that mode', (mode) => {
    const c = createNetns('tscni-mv-c');
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ mode, ipam: {} }));
    expect(r.status, r.stdout).toBe(0);
    expect(link(c).linkinfo?.info_data?.mode).toBe(mode);
  });

  it('rejects an unknown mode', () => {
    const c = createNetns('tscni-mv-c');
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ mode: 'weird' }));
    expect(r.status).toBe(1);
    expect((r.json as { msg: string }).msg).toBe('unknown macvlan mode: "weird"');
    expect(hasLink(c)).toBe(false);
  });

  it.each(VERSIONS)('cniVersion %s: ADD, CHECK, DEL, DEL again', (version) => {
    const c = createNetns('tscni-mv-c');
    const cfg = conf({}, version);
    const add = runIn(host, 'macvlan', cniEnv('ADD', c), cfg);
    expect(add.status, add.stdout).toBe(0);
    const res = add.json as Record<string, unknown>;
    expect(res['cniVersion']).toBe(version);
    const l = link(c);
    expect(l.linkinfo?.info_kind).toBe('macvlan');
    expect(v4addrs(c)).toEqual(['10.78.10.2/24']);
    if (version === '0.1.0' || version === '0.2.0') {
      expect(res['ip4']).toMatchObject({ ip: '10.78.10.2/24', gateway: '10.78.10.1' });
      expect(res['interfaces']).toBeUndefined();
    } else {
      expect(res['interfaces']).toEqual([{ name: 'eth0', mac: l.address, sandbox: `/run/netns/${c}` }]);
      const ips = res['ips'] as Record<string, unknown>[];
      expect(ips).toHaveLength(1);
      expect(ips[0]).toMatchObject({ interface: 0, address: '10.78.10.2/24', gateway: '10.78.10.1' });
      expect('version' in (ips[0] ?? {})).toBe(!version.startsWith('1.'));
    }
    const chk = runIn(host, 'macvlan', cniEnv('CHECK', c), { ...cfg, prevResult: res });
    if (version === '0.4.0' || version.startsWith('1.')) expect(chk.status, chk.stdout).toBe(0);
    else expect((chk.json as { msg: string }).msg).toBe('config version does not allow CHECK');
    const del = runIn(host, 'macvlan', cniEnv('DEL', c), cfg);
    expect(del.status, del.stdout).toBe(0);
    expect(hasLink(c)).toBe(false);
    expect(readdirSync(`${dataDir}/mvnet`).filter((f) => f.startsWith('10.'))).toEqual([]);
    expect(runIn(host, 'macvlan', cniEnv('DEL', c), cfg).status).toBe(0);
  });

  it('L2 only ("ipam": {}): link up, no IPs; 0.2.0 cannot express it', () => {
    const c = createNetns('tscni-mv-c');
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ ipam: {} }));
    expect(r.status, r.stdout).toBe(0);
    expect((r.json as { ips?: unknown[] }).ips ?? []).toHaveLength(0);
    expect(link(c).operstate).not.toBe('DOWN');
    expect(runIn(host, 'macvlan', cniEnv('DEL', c), conf({ ipam: {} })).status).toBe(0);
    const old = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ ipam: {} }, '0.2.0'));
    expect(old.status).toBe(1);
    expect((old.json as { msg: string }).msg).toContain('cannot convert: no valid IP addresses');
  });

  it('linkInContainer: the master lives in the container netns', () => {
    const c = createNetns('tscni-mv-c');
    makeMaster(c, 'inner0');
    const cfg = conf({ master: 'inner0', linkInContainer: true });
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), cfg);
    expect(r.status, r.stdout).toBe(0);
    expect(link(c).linkinfo?.info_kind).toBe('macvlan');
    expect(runIn(host, 'macvlan', cniEnv('CHECK', c), { ...cfg, prevResult: r.json }).status).toBe(0);
    // Without linkInContainer the same name is looked up on the node, where it does not exist.
    const c2 = createNetns('tscni-mv-c');
    const miss = runIn(host, 'macvlan', cniEnv('ADD', c2, 'c2'), conf({ master: 'inner0' }));
    expect(miss.status).toBe(1);
    expect((miss.json as { msg: string }).msg).toBe('failed to lookup master "inner0": link not found');
    expect(runIn(host, 'macvlan', cniEnv('DEL', c), cfg).status).toBe(0);
    expect(hasLink(c)).toBe(false);
    expect(hasLink(c, 'inner0')).toBe(true);
  });

  it('no master: the default-route interface, on the node or in the container', () => {
    const c = createNetns('tscni-mv-c');
    const none = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ master: undefined }));
    expect(none.status).toBe(1);
    expect((none.json as { msg: string }).msg).toMatch(/^no default route interface found: "master" is not set.*the host netns/);
    sh(host, 'ip', ['addr', 'add', '10.78.11.2/24', 'dev', 'mvm0']);
    sh(host, 'ip', ['route', 'add', 'default', 'via', '10.78.11.1', 'dev', 'mvm0']);
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ master: undefined }));
    expect(r.status, r.stdout).toBe(0);
    expect(link(c).linkinfo?.info_kind).toBe('macvlan');

    const c2 = createNetns('tscni-mv-c');
    makeMaster(c2, 'inner0');
    const inNone = runIn(host, 'macvlan', cniEnv('ADD', c2, 'c2'), conf({ master: undefined, linkInContainer: true }));
    expect((inNone.json as { msg: string }).msg).toMatch(/the container netns/);
    sh(c2, 'ip', ['addr', 'add', '10.78.12.2/24', 'dev', 'inner0']);
    sh(c2, 'ip', ['route', 'add', 'default', 'via', '10.78.12.1', 'dev', 'inner0']);
    const r2 = runIn(host, 'macvlan', cniEnv('ADD', c2, 'c2'), conf({ master: undefined, linkInContainer: true }));
    expect(r2.status, r2.stdout).toBe(0);
  });

  it('mtu: applied when within the master MTU, refused above it', () => {
    const c = createNetns('tscni-mv-c');
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ mtu: 1400 }));
    expect(r.status, r.stdout).toBe(0);
    expect(link(c).mtu).toBe(1400);
    const c2 = createNetns('tscni-mv-c');
    for (const mtu of [1600, -100]) {
      const bad = runIn(host, 'macvlan', cniEnv('ADD', c2, 'c2'), conf({ mtu }));
      expect(bad.status).toBe(1);
      expect((bad.json as { msg: string }).msg).toBe(`invalid MTU ${mtu}, must be [0, master MTU(1500)]`);
    }
    expect(hasLink(c2)).toBe(false);
    // mtu 0 inherits the master's.
    const r0 = runIn(host, 'macvlan', cniEnv('ADD', c2, 'c2'), conf({ mtu: 0 }));
    expect(r0.status, r0.stdout).toBe(0);
    expect(link(c2).mtu).toBe(1500);
  });

  it('MAC precedence: runtimeConfig.mac > CNI_ARGS MAC > conf mac', () => {
    const cases: [Record<string, unknown>, Record<string, string>, string][] = [
      [{ mac: 'c2:11:22:33:44:01' }, {}, 'c2:11:22:33:44:01'],
      [{ mac: 'c2:11:22:33:44:01' }, { CNI_ARGS: 'IgnoreUnknown=true;MAC=c2:11:22:33:44:02' }, 'c2:11:22:33:44:02'],
      [
        { mac: 'c2:11:22:33:44:01', runtimeConfig: { mac: 'c2:11:22:33:44:03' } },
        { CNI_ARGS: 'IgnoreUnknown=true;MAC=c2:11:22:33:44:02' },
        'c2:11:22:33:44:03',
      ],
    ];
    for (const [extra, env, want] of cases) {
      const c = createNetns('tscni-mv-c');
      const r = runIn(host, 'macvlan', cniEnv('ADD', c, 'c1', 'eth0', env), conf(extra));
      expect(r.status, r.stdout).toBe(0);
      expect(link(c).address).toBe(want);
      expect((r.json as { interfaces: { mac: string }[] }).interfaces[0]?.mac).toBe(want);
      expect(runIn(host, 'macvlan', cniEnv('DEL', c, 'c1', 'eth0', env), conf(extra)).status).toBe(0);
    }
    const c = createNetns('tscni-mv-c');
    const bad = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ mac: 'not-a-mac' }));
    expect((bad.json as { msg: string }).msg).toMatch(/^invalid args not-a-mac for MAC addr/);
  });

  it('bcqueuelen sets the broadcast queue length', () => {
    const c = createNetns('tscni-mv-c');
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), conf({ bcqueuelen: 321 }));
    expect(r.status, r.stdout).toBe(0);
    expect(link(c).linkinfo?.info_data?.bcqueuelen).toBe(321);
    const bad = runIn(host, 'macvlan', cniEnv('ADD', c, 'c2', 'eth1'), conf({ bcqueuelen: -1 }));
    expect(bad.status).toBe(1);
    expect((bad.json as { code: number }).code).toBe(7);
  });

  it('CHECK fails on a mode mismatch, a missing address and a missing prevResult', () => {
    const c = createNetns('tscni-mv-c');
    const cfg = conf({ mode: 'bridge' });
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), cfg);
    expect(r.status).toBe(0);
    const wrong = runIn(host, 'macvlan', cniEnv('CHECK', c), { ...cfg, mode: 'vepa', prevResult: r.json });
    expect((wrong.json as { msg: string }).msg).toBe('container macvlan mode bridge does not match expected value: vepa');
    expect((runIn(host, 'macvlan', cniEnv('CHECK', c), cfg).json as { msg: string }).msg).toBe('required prevResult missing');
    sh(c, 'ip', ['addr', 'flush', 'dev', 'eth0']);
    const gone = runIn(host, 'macvlan', cniEnv('CHECK', c), { ...cfg, prevResult: r.json });
    expect((gone.json as { msg: string }).msg).toBe('Failed to match addr 10.78.10.2/24 on interface eth0');
  });

  it('DEL succeeds without the netns, and for a link that never existed', () => {
    const c = createNetns('tscni-mv-c');
    expect(runIn(host, 'macvlan', cniEnv('DEL', c), conf()).status).toBe(0);
    const gone = cniEnv('DEL', c);
    gone.CNI_NETNS = '/run/netns/tscni-mv-does-not-exist';
    expect(runIn(host, 'macvlan', gone, conf()).status).toBe(0);
    // The master may be gone by DEL time.
    expect(runIn(host, 'macvlan', cniEnv('DEL', c), conf({ master: 'nope0' })).status).toBe(0);
  });

  it('a failed ADD removes the link and releases the address', () => {
    const c = createNetns('tscni-mv-c');
    // The route's gateway is unreachable, so configuring the interface fails after IPAM ADD.
    const cfg = conf({ ipam: { type: 'host-local', subnet: '10.78.10.0/24', dataDir, routes: [{ dst: '10.99.0.0/16', gw: '10.200.0.1' }] } });
    const r = runIn(host, 'macvlan', cniEnv('ADD', c), cfg);
    expect(r.status).toBe(1);
    expect((r.json as { msg: string }).msg).toMatch(/^failed to add route '10.99.0.0\/16 via 10.200.0.1 dev eth0'/);
    expect(hasLink(c)).toBe(false);
    expect(existsSync(`${dataDir}/mvnet/10.78.10.2`)).toBe(false);
  });

  it('STATUS and GC forward to IPAM (1.1.0)', () => {
    const cfg = conf({}, '1.1.0');
    expect(runIn(host, 'macvlan', { CNI_COMMAND: 'STATUS' }, cfg).status).toBe(0);
    const gc = runIn(host, 'macvlan', { CNI_COMMAND: 'GC' }, { ...cfg, 'cni.dev/valid-attachments': [] });
    expect(gc.status, gc.stdout).toBe(0);
  });
});

describe('macvlan side by side with the Go reference', () => {
  function snapshot(impl: Impl, cfg: Record<string, unknown>, env: Record<string, string> = {}) {
    const node = createNetns('tscni-mv-h');
    makeMaster(node);
    const c = createNetns('tscni-mv-c');
    const r = runIn(node, 'macvlan', cniEnv('ADD', c, 'c1', 'eth0', env), cfg, impl);
    expect(r.status, `${impl}: ${r.stdout}`).toBe(0);
    const l = link(c);
    const state = {
      kind: l.linkinfo?.info_kind,
      mode: l.linkinfo?.info_data?.mode,
      mtu: l.mtu,
      operstate: l.operstate,
      addrs: v4addrs(c),
      routes: ipJson<IpRoute[]>(['route'], c),
      arpNotify: sh(c, 'sysctl', ['-n', 'net.ipv4.conf.eth0.arp_notify']).trim(),
      // Every attribute `ip -d link` shows that a plugin could change; the oracle's txqlen 0 is a
      // 1.1.1 bug fixed upstream (see latestLinkAttrs).
      link: (impl === 'ref' ? latestLinkAttrs : linkAttrs)(l),
      bcQueueLen: l.linkinfo?.info_data?.['bcqueuelen'],
      sysctls: interfaceSysctls(c, 'eth0', LATEST_ONLY_SYSCTLS),
    };
    // ndisc_notify=1 came after Debian's 1.1.1 (the latest reference sets it, as we do).
    if (impl === 'ours' && state.addrs.length > 0) expect(sh(c, 'sysctl', ['-n', 'net.ipv6.conf.eth0.ndisc_notify']).trim()).toBe('1');
    const del = runIn(node, 'macvlan', cniEnv('DEL', c, 'c1', 'eth0', env), cfg, impl);
    expect(del.status, del.stdout).toBe(0);
    const json = r.json as Record<string, unknown>;
    // Debian's 1.1.1 prints an empty "dns": {} in 1.0.0 results; cni lib ≥1.2 (and we) omit it.
    if (impl === 'ref' && JSON.stringify(json['dns']) === '{}') delete json['dns'];
    return { result: normalize(json), state: normalize(state), hostLinks: ipJson<IpLink[]>(['link'], node).map((x) => x.ifname).sort() };
  }

  it.each([
    ['L3 with a route and mtu', { mode: 'bridge', mtu: 1400 }],
    ['private mode with conf dns', { mode: 'private', dns: { nameservers: ['10.78.0.53'], search: ['example.test'] } }],
    ['L2 only', { ipam: {} }],
  ])('%s: same result shape and kernel state', (_label, extra) => {
    const mk = (): Record<string, unknown> => {
      const dir = tempDir('tscni-mv-');
      extraDirs.push(dir);
      const base = conf({ ...extra }, '1.0.0');
      if ((base['ipam'] as Record<string, unknown>)['type']) {
        base['ipam'] = { type: 'host-local', subnet: '10.78.13.0/24', dataDir: dir, routes: [{ dst: '10.79.0.0/16' }] };
      }
      return base;
    };
    const ours = snapshot('ours', mk());
    const ref = snapshot('ref', mk());
    expect(ours).toEqual(ref);
  });
});
