// ptp through the built binary against real namespaces: a test netns plays the node (forwarding
// sysctls, host veths, routes and masquerade rules land there), containers are further test netns.
// Side-by-side runs use the Go reference in /usr/lib/cni.
import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, ipJson, ping, removeAllNetns, sh } from '../../helpers/netns.js';
import { cniEnv, normalize, removeDir, runIn, tempDir, VERSIONS, type Impl } from '../../helpers/node-rig.js';
import { addrs, interfaceSysctls, link, linkAttrs, vethsOf, type IpLink, type IpRoute } from '../../helpers/ip.js';
import { LATEST_ONLY_SYSCTLS, latestLinkAttrs } from '../../helpers/reference.js';

let host: string;
let dataDir: string;
const extraDirs: string[] = [];

function conf(extra: Record<string, unknown> = {}, version = '1.0.0', ipam: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: version,
    name: 'ptpnet',
    type: 'ptp',
    ipam: { type: 'host-local', subnet: '10.78.20.0/24', dataDir, ...ipam },
    ...extra,
  };
}

const dualIpam = (dir: string): Record<string, unknown> => ({
  type: 'host-local',
  dataDir: dir,
  ranges: [[{ subnet: '10.78.21.0/24' }], [{ subnet: '2001:db8:78::/64' }]],
  routes: [{ dst: '0.0.0.0/0' }, { dst: '10.79.0.0/16' }, { dst: '10.80.1.4/32' }, { dst: '::/0' }],
});

const hasLink = (ns: string, name = 'eth0'): boolean => link(ns, name) !== undefined;
const msg = (r: { json: unknown }): string => (r.json as { msg?: string } | undefined)?.msg ?? '';
const firstIP = (r: { json: unknown }, i = 0): string =>
  ((r.json as { ips: { address: string }[] }).ips[i]?.address ?? '').split('/')[0] ?? '';

beforeEach(() => {
  host = createNetns('tscni-pt-h');
  sh(host, 'ip', ['link', 'set', 'lo', 'up']);
  dataDir = tempDir('tscni-pt-');
});

afterEach(() => {
  removeAllNetns();
  removeDir(dataDir);
  for (const d of extraDirs.splice(0)) removeDir(d);
});

describe('ptp ADD/CHECK/DEL', () => {
  it('the container reaches the node through its gateway and a second container through the node', () => {
    const c1 = createNetns('tscni-pt-c');
    const c2 = createNetns('tscni-pt-c');
    const r1 = runIn(host, 'ptp', cniEnv('ADD', c1, 'c1'), conf());
    const r2 = runIn(host, 'ptp', cniEnv('ADD', c2, 'c2'), conf());
    expect(r1.status, r1.stdout).toBe(0);
    expect(r2.status, r2.stdout).toBe(0);
    expect(sh(host, 'sysctl', ['-n', 'net.ipv4.ip_forward']).trim()).toBe('1');
    expect(ping(c1, '10.78.20.1')).toBe(true);
    expect(ping(c1, firstIP(r2), 2)).toBe(true);
    // Every host veth holds the same gateway /32 and a host route to its container.
    const hostVeths = vethsOf(host);
    expect(hostVeths).toHaveLength(2);
    for (const v of hostVeths) expect(addrs(host, v.ifname)).toEqual(['10.78.20.1/32']);
    const hostRoutes = ipJson<IpRoute[]>(['route'], host);
    expect(hostRoutes).toContainEqual(expect.objectContaining({ dst: firstIP(r1), scope: 'host' }));
    // In the container: gw/32 scope link, and the subnet via the gateway (the kernel's subnet route is gone).
    const routes = ipJson<IpRoute[]>(['route'], c1);
    expect(routes).toContainEqual(expect.objectContaining({ dst: '10.78.20.1', dev: 'eth0', scope: 'link', prefsrc: firstIP(r1) }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: '10.78.20.0/24', gateway: '10.78.20.1', dev: 'eth0' }));
    expect(routes.filter((r) => r.protocol === 'kernel')).toEqual([]);
  });

  it.each(VERSIONS)('cniVersion %s: ADD, CHECK, DEL, DEL again', (version) => {
    const c = createNetns('tscni-pt-c');
    const cfg = conf({}, version);
    const add = runIn(host, 'ptp', cniEnv('ADD', c), cfg);
    expect(add.status, add.stdout).toBe(0);
    const res = add.json as Record<string, unknown>;
    expect(res['cniVersion']).toBe(version);
    if (version === '0.1.0' || version === '0.2.0') {
      expect(res['ip4']).toMatchObject({ ip: '10.78.20.2/24', gateway: '10.78.20.1' });
    } else {
      const ifs = res['interfaces'] as { name: string; mac: string; sandbox?: string }[];
      expect(ifs).toHaveLength(2);
      expect(ifs[0]?.name).toMatch(/^veth[0-9a-f]{8}$/);
      expect(ifs[0]?.sandbox).toBeUndefined();
      expect(ifs[1]).toEqual({ name: 'eth0', mac: ipJson<IpLink[]>(['link', 'show', 'eth0'], c)[0]?.address, sandbox: `/run/netns/${c}` });
      expect((res['ips'] as unknown[])[0]).toMatchObject({ interface: 1, address: '10.78.20.2/24', gateway: '10.78.20.1' });
    }
    expect(ping(c, '10.78.20.1')).toBe(true);
    const chk = runIn(host, 'ptp', cniEnv('CHECK', c), { ...cfg, prevResult: res });
    if (version === '0.4.0' || version.startsWith('1.')) expect(chk.status, chk.stdout).toBe(0);
    else expect(msg(chk)).toBe('config version does not allow CHECK');
    expect(runIn(host, 'ptp', cniEnv('DEL', c), cfg).status).toBe(0);
    expect(hasLink(c)).toBe(false);
    expect(vethsOf(host)).toEqual([]);
    expect(existsSync(`${dataDir}/ptpnet/10.78.20.2`)).toBe(false);
    expect(runIn(host, 'ptp', cniEnv('DEL', c), cfg).status).toBe(0);
  });

  it('dual-stack with extra routes and mtu: both families configured and reachable', () => {
    const c = createNetns('tscni-pt-c');
    const cfg = { ...conf({ mtu: 1400 }), ipam: dualIpam(dataDir) };
    const r = runIn(host, 'ptp', cniEnv('ADD', c), cfg);
    expect(r.status, r.stdout).toBe(0);
    expect(addrs(c, 'eth0')).toEqual(['10.78.21.2/24', '2001:db8:78::2/64']);
    expect(ipJson<IpLink[]>(['link', 'show', 'eth0'], c)[0]?.mtu).toBe(1400);
    expect(vethsOf(host)[0]?.mtu).toBe(1400);
    expect(sh(host, 'sysctl', ['-n', 'net.ipv6.conf.all.forwarding']).trim()).toBe('1');
    const v4 = ipJson<IpRoute[]>(['route'], c);
    expect(v4).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.78.21.1' }));
    expect(v4).toContainEqual(expect.objectContaining({ dst: '10.79.0.0/16', gateway: '10.78.21.1' }));
    expect(v4).toContainEqual(expect.objectContaining({ dst: '10.80.1.4', gateway: '10.78.21.1' }));
    const v6 = ipJson<IpRoute[]>(['-6', 'route'], c);
    expect(v6).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '2001:db8:78::1' }));
    expect(v6).toContainEqual(expect.objectContaining({ dst: '2001:db8:78::/64', gateway: '2001:db8:78::1' }));
    expect(ping(c, '10.78.21.1')).toBe(true);
    expect(ping(c, '2001:db8:78::1', 5)).toBe(true);
    expect(runIn(host, 'ptp', cniEnv('CHECK', c), { ...cfg, prevResult: r.json }).status).toBe(0);
    expect(runIn(host, 'ptp', cniEnv('DEL', c), cfg).status).toBe(0);
  });

  it('ipMasq with iptables: the reference chain and comment, removed by DEL even after the link is gone', () => {
    const c = createNetns('tscni-pt-c');
    const cfg = conf({ ipMasq: true, ipMasqBackend: 'iptables' });
    expect(runIn(host, 'ptp', cniEnv('ADD', c), cfg).status).toBe(0);
    const nat = sh(host, 'iptables-save', ['-t', 'nat']);
    expect(nat).toContain('-A POSTROUTING -s 10.78.20.2/32 -m comment --comment "name: \\"ptpnet\\" id: \\"ctr1\\"" -j CNI-');
    expect(nat).toMatch(/-A CNI-[0-9a-f]{24} ! -d 224\.0\.0\.0\/4 .* -j MASQUERADE/);
    sh(c, 'ip', ['link', 'del', 'eth0']);
    expect(runIn(host, 'ptp', cniEnv('DEL', c), cfg).status).toBe(0);
    expect(sh(host, 'iptables-save', ['-t', 'nat'])).not.toContain('CNI-');
  });

  it('ipMasq with nftables: one commented rule per address, removed by DEL', () => {
    const c = createNetns('tscni-pt-c');
    const cfg = { ...conf({ ipMasq: true, ipMasqBackend: 'nftables' }), ipam: dualIpam(dataDir) };
    expect(runIn(host, 'ptp', cniEnv('ADD', c), cfg).status).toBe(0);
    const chain = sh(host, 'nft', ['list', 'chain', 'inet', 'cni_plugins_masquerade', 'masq_checks']);
    expect(chain).toMatch(/ip saddr 10\.78\.21\.2 ip daddr != 10\.78\.21\.0\/24 masquerade comment ".*, net: ptpnet, if: eth0, id: ctr1"/);
    expect(chain).toMatch(/ip6 saddr 2001:db8:78::2 ip6 daddr != 2001:db8:78::\/64 masquerade/);
    expect(runIn(host, 'ptp', cniEnv('DEL', c), cfg).status).toBe(0);
    expect(sh(host, 'nft', ['list', 'chain', 'inet', 'cni_plugins_masquerade', 'masq_checks'])).not.toContain('saddr');
  });

  it('rejects an unknown ipMasqBackend and a missing ipam', () => {
    const c = createNetns('tscni-pt-c');
    const bad = runIn(host, 'ptp', cniEnv('ADD', c), conf({ ipMasq: true, ipMasqBackend: 'pf' }));
    expect(bad.status).toBe(1);
    expect(msg(bad)).toContain('invalid ipMasqBackend "pf"');
    const noIpam = runIn(host, 'ptp', cniEnv('ADD', c), { cniVersion: '1.0.0', name: 'ptpnet', type: 'ptp' });
    expect(noIpam.status).toBe(1);
    expect(hasLink(c)).toBe(false);
  });

  it('DNS: conf dns wins when any field is set (even an empty list); else the IPAM DNS', () => {
    const resolv = `${dataDir}/resolv.conf`;
    writeFileSync(resolv, 'nameserver 10.78.0.53\nsearch ipam.test\n');
    const ipam = { resolvConf: resolv };
    const cases: [Record<string, unknown>, unknown][] = [
      [{}, { nameservers: ['10.78.0.53'], search: ['ipam.test'] }],
      [{ dns: { nameservers: ['10.78.0.54'] } }, { nameservers: ['10.78.0.54'] }],
      [{ dns: { search: ['conf.test'] } }, { search: ['conf.test'] }],
      [{ dns: { nameservers: [] } }, undefined],
    ];
    cases.forEach(([extra, want], i) => {
      const c = createNetns('tscni-pt-c');
      const cfg = conf(extra, '1.0.0', ipam);
      const r = runIn(host, 'ptp', cniEnv('ADD', c, `c${i}`), cfg);
      expect(r.status, r.stdout).toBe(0);
      const dns = (r.json as { dns?: Record<string, unknown> }).dns;
      if (want === undefined) expect(dns?.['nameservers'] ?? []).toEqual([]);
      else expect(dns).toEqual(want);
    });
  });

  it('CHECK detects a missing route, a wrong MAC and a missing prevResult', () => {
    const c = createNetns('tscni-pt-c');
    const cfg = conf({}, '1.0.0', { routes: [{ dst: '10.79.0.0/16' }] });
    const r = runIn(host, 'ptp', cniEnv('ADD', c), cfg);
    expect(r.status).toBe(0);
    expect(msg(runIn(host, 'ptp', cniEnv('CHECK', c), cfg))).toBe('ptp: Required prevResult missing');
    const prev = r.json as { interfaces: { mac: string }[] };
    const wrongMac = structuredClone(prev);
    (wrongMac.interfaces[1] as { mac: string }).mac = '02:00:00:00:00:01';
    expect(msg(runIn(host, 'ptp', cniEnv('CHECK', c), { ...cfg, prevResult: wrongMac }))).toMatch(/^ptp: Interface eth0 Mac 02:00:00:00:00:01 doesn't match/);
    sh(c, 'ip', ['route', 'del', '10.79.0.0/16']);
    expect(msg(runIn(host, 'ptp', cniEnv('CHECK', c), { ...cfg, prevResult: r.json }))).toBe('Expected Route 10.79.0.0/16 not found in routing table');
  });

  it('a failed ADD removes both veth ends and releases the address', () => {
    const c = createNetns('tscni-pt-c');
    const cfg = conf({}, '1.0.0', { routes: [{ dst: '10.99.0.0/16', gw: '10.200.0.1' }] });
    const r = runIn(host, 'ptp', cniEnv('ADD', c), cfg);
    expect(r.status).toBe(1);
    expect(msg(r)).toMatch(/^failed to add route '10.99.0.0\/16 via 10.200.0.1 dev eth0'/);
    expect(hasLink(c)).toBe(false);
    expect(vethsOf(host)).toEqual([]);
    expect(existsSync(`${dataDir}/ptpnet/10.78.20.2`)).toBe(false);
  });

  it('a CNI_NETNS of another namespace type (a mount namespace): code 8 for ADD, CHECK and DEL, nothing created', () => {
    const c = createNetns('tscni-pt-c');
    for (const command of ['ADD', 'CHECK', 'DEL']) {
      const env = { ...cniEnv(command, c), CNI_NETNS: '/proc/self/ns/mnt' };
      const r = runIn(host, 'ptp', env, { ...conf(), prevResult: { cniVersion: '1.0.0', ips: [] } });
      expect(r.status, command).toBe(1);
      expect(r.json, command).toEqual({
        code: 8,
        msg: 'failed to open netns "/proc/self/ns/mnt"',
        details: '"/proc/self/ns/mnt" is not a network namespace (namespace type 0x20000)',
      });
    }
    expect(vethsOf(host)).toEqual([]);
    expect(existsSync(`${dataDir}/ptpnet/10.78.20.2`)).toBe(false);
  });

  it('DEL succeeds when the netns is gone', () => {
    const env = cniEnv('DEL', 'tscni-pt-gone');
    expect(runIn(host, 'ptp', env, conf({ ipMasq: true })).status).toBe(0);
  });

  it('GC (1.1.0) removes masquerade rules and addresses of attachments no longer valid; STATUS is ready', () => {
    const cfg = conf({ ipMasq: true, ipMasqBackend: 'nftables' }, '1.1.0');
    expect(runIn(host, 'ptp', { CNI_COMMAND: 'STATUS' }, cfg).status).toBe(0);
    const c1 = createNetns('tscni-pt-c');
    const c2 = createNetns('tscni-pt-c');
    expect(runIn(host, 'ptp', cniEnv('ADD', c1, 'keep'), cfg).status).toBe(0);
    expect(runIn(host, 'ptp', cniEnv('ADD', c2, 'stale'), cfg).status).toBe(0);
    const gc = runIn(host, 'ptp', { CNI_COMMAND: 'GC' }, { ...cfg, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] });
    expect(gc.status, gc.stdout).toBe(0);
    const chain = sh(host, 'nft', ['list', 'chain', 'inet', 'cni_plugins_masquerade', 'masq_checks']);
    expect(chain).toContain('id: keep');
    expect(chain).not.toContain('id: stale');
    expect(existsSync(`${dataDir}/ptpnet/10.78.20.2`)).toBe(true);
    expect(existsSync(`${dataDir}/ptpnet/10.78.20.3`)).toBe(false);
  });
});

describe('ptp side by side with the Go reference', () => {
  function snapshot(impl: Impl, cfg: Record<string, unknown>) {
    const node = createNetns('tscni-pt-h');
    const c = createNetns('tscni-pt-c');
    const r = runIn(node, 'ptp', cniEnv('ADD', c), cfg, impl);
    expect(r.status, `${impl}: ${r.stdout}`).toBe(0);
    const hostVeth = vethsOf(node)[0]?.ifname ?? '';
    const state = {
      contAddrs: addrs(c, 'eth0'),
      contMtu: ipJson<IpLink[]>(['link', 'show', 'eth0'], c)[0]?.mtu,
      contRoutes: [...ipJson<IpRoute[]>(['route'], c), ...ipJson<IpRoute[]>(['-6', 'route'], c)],
      hostAddrs: addrs(node, hostVeth),
      hostRoutes: [...ipJson<IpRoute[]>(['route'], node), ...ipJson<IpRoute[]>(['-6', 'route'], node)],
      forwarding: [sh(node, 'sysctl', ['-n', 'net.ipv4.ip_forward']).trim(), sh(node, 'sysctl', ['-n', 'net.ipv6.conf.all.forwarding']).trim()],
      acceptRa: sh(node, 'sysctl', ['-n', `net.ipv6.conf.${hostVeth}.accept_ra`]).trim(),
      nat: sh(node, 'iptables-save', ['-t', 'nat']).split('\n').filter((l) => l.startsWith('-A')),
      // Both veth ends as `ip -d link` shows them (txqlen, qdisc, addrgenmode, gso ...): the oracle's
      // txqlen 0 is a 1.1.1 bug fixed upstream (see latestLinkAttrs).
      hostLink: (impl === 'ref' ? latestLinkAttrs : linkAttrs)(link(node, hostVeth)!),
      contLink: (impl === 'ref' ? latestLinkAttrs : linkAttrs)(link(c, 'eth0')!),
      hostSysctls: interfaceSysctls(node, hostVeth),
      contSysctls: interfaceSysctls(c, 'eth0', LATEST_ONLY_SYSCTLS),
    };
    // The latest reference keeps IPv6 addresses across a link down (1.1.1 did not).
    const v6 = state.contAddrs.some((a) => a.includes(':'));
    if (impl === 'ours') expect(sh(c, 'sysctl', ['-n', 'net.ipv6.conf.eth0.keep_addr_on_down']).trim()).toBe(v6 ? '1' : '0');
    const del = runIn(node, 'ptp', cniEnv('DEL', c), cfg, impl);
    expect(del.status, del.stdout).toBe(0);
    const after = { links: vethsOf(node).length, nat: sh(node, 'iptables-save', ['-t', 'nat']).split('\n').filter((l) => l.startsWith('-A')) };
    const json = r.json as Record<string, unknown>;
    // Debian's 1.1.1 prints an empty "dns": {} in 1.0.0 results; cni lib ≥1.2 (and we) omit it.
    if (impl === 'ref' && JSON.stringify(json['dns']) === '{}') delete json['dns'];
    return normalize({ result: json, state, after });
  }

  it.each([
    ['IPv4 with ipMasq (iptables) and mtu', (dir: string) => ({ ...conf({ ipMasq: true, mtu: 1400 }), ipam: { type: 'host-local', subnet: '10.78.22.0/24', dataDir: dir, routes: [{ dst: '0.0.0.0/0' }] } })],
    ['dual-stack with routes', (dir: string) => ({ ...conf(), ipam: dualIpam(dir) })],
    ['IPv6 only', (dir: string) => ({ ...conf(), ipam: { type: 'host-local', subnet: '2001:db8:78:1::/64', dataDir: dir } })],
  ])('%s: same result shape and kernel state', (_label, mk) => {
    const dirs = [tempDir('tscni-pt-'), tempDir('tscni-pt-')];
    extraDirs.push(...dirs);
    const ours = snapshot('ours', mk(dirs[0] ?? ''));
    const ref = snapshot('ref', mk(dirs[1] ?? ''));
    expect(ours).toEqual(ref);
  });
});
