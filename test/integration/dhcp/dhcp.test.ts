// dhcp IPAM + daemon against a real DHCP server (dnsmasq) in test netns. Needs root and dnsmasq.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ipJson } from '../../helpers/netns.js';
import { DIST_BIN } from '../../helpers/plugin.js';
import {
  applyAddress, bridgeContainer, cleanup, cni, conf, macvlanContainer, startDaemon, startServer, tempDir, track, waitFor,
} from './harness.js';

const haveDnsmasq = spawnSync('dnsmasq', ['--version']).status === 0;
const isRoot = process.getuid?.() === 0;
const d = haveDnsmasq && isRoot ? describe : describe.skip;

interface Res {
  ips: Array<{ address: string; gateway?: string }>;
  routes?: Array<{ dst: string; gw?: string; priority?: number; scope?: number }>;
}

const ping = (ns: string, ip: string): number =>
  spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', ip]).status ?? -1;

afterEach(cleanup);

d('dhcp IPAM with dnsmasq', () => {
  it('bridge container: ADD leases from the pool with gateway and default route, reaches the server; repeat ADD and CHECK keep the lease; DEL releases', async () => {
    const srv = await startServer({ net: 11 });
    const dmn = await startDaemon(tempDir());
    const ns = bridgeContainer(srv);
    const c = conf(dmn.socket);
    const add = await cni('ADD', 'ctr-a', ns, c);
    expect(add.status, add.stdout + add.stderr).toBe(0);
    const res = add.json as Res;
    expect(res.ips).toHaveLength(1);
    const addr = res.ips[0]!.address;
    expect(addr).toMatch(/^10\.79\.11\.(5\d|[6-9]\d)\/24$/);
    expect(res.ips[0]!.gateway).toBe('10.79.11.1');
    expect(res.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.79.11.1' }]);
    const ip = addr.split('/')[0]!;
    expect(srv.leases().get(ip)?.clientId).toBe(
      Buffer.concat([Buffer.from([0]), Buffer.from('ctr-a/dhnet/eth0')]).toString('hex').replace(/(..)(?!$)/g, '$1:'),
    );
    applyAddress(ns, addr);
    expect(ping(ns, srv.gateway)).toBe(0);

    const again = await cni('ADD', 'ctr-a', ns, c);
    expect((again.json as Res).ips[0]!.address).toBe(addr);
    const check = await cni('CHECK', 'ctr-a', ns, { ...c, prevResult: { cniVersion: '1.0.0', ips: [{ address: addr }] } });
    expect(check.status, check.stdout).toBe(0);
    expect(dmn.stderr()).toMatch(/lease acquired: container=ctr-a net=dhnet if=eth0 ip=10\.79\.11\.\d+\/24/);

    const del = await cni('DEL', 'ctr-a', ns, c);
    expect(del.status, del.stdout).toBe(0);
    await waitFor('dnsmasq to drop the lease', () => !srv.leases().has(ip), 3000);
    expect(dmn.stderr()).toMatch(/lease released: container=ctr-a/);
    const del2 = await cni('DEL', 'ctr-a', ns, c);
    expect(del2.status, del2.stdout).toBe(0);
    expect(fs.readdirSync(dmn.stateDir)).toEqual([]);
  });

  it('macvlan container gets a lease and reaches the server; results convert to 0.2.0', async () => {
    const srv = await startServer({ net: 12 });
    const dmn = await startDaemon(tempDir());
    const ns = macvlanContainer(srv);
    const add = await cni('ADD', 'ctr-mv', ns, conf(dmn.socket, {}, '0.2.0'));
    expect(add.status, add.stdout + add.stderr).toBe(0);
    const r = add.json as { ip4: { ip: string; gateway: string; routes: unknown[] } };
    expect(r.ip4.ip).toMatch(/^10\.79\.12\.\d+\/24$/);
    expect(r.ip4.gateway).toBe('10.79.12.1');
    applyAddress(ns, r.ip4.ip);
    expect(ping(ns, srv.gateway)).toBe(0);
    expect((await cni('DEL', 'ctr-mv', ns, conf(dmn.socket, {}, '0.2.0'))).status).toBe(0);
  });

  it('routes: option 121 alone when requested (link-scope for 0.0.0.0 gw), else option 33 + default; priority on every route; provide options reach the server', async () => {
    const srv = await startServer({
      net: 13,
      extra: [
        '--dhcp-option=121,10.79.200.0/24,10.79.13.1,10.79.201.0/24,0.0.0.0',
        '--dhcp-option=33,10.0.0.0,10.79.13.254',
        '--dhcp-host=id:*,set:any',
      ],
    });
    const dmn = await startDaemon(tempDir());
    const ns1 = bridgeContainer(srv);
    const ns2 = bridgeContainer(srv);
    const r1 = await cni('ADD', 'ctr-121', ns1, conf(dmn.socket, { request: [{ option: '121' }], priority: 50 }));
    expect(r1.status, r1.stdout).toBe(0);
    expect((r1.json as Res).routes).toEqual([
      { dst: '10.79.200.0/24', gw: '10.79.13.1', priority: 50 },
      { dst: '10.79.201.0/24', scope: 253, priority: 50 },
    ]);
    const r2 = await cni(
      'ADD', 'ctr-33', ns2,
      conf(dmn.socket, { request: [{ option: '33' }], provide: [{ option: 'host-name', fromArg: 'K8S_POD_NAME' }] }),
      { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=pod-thirty-three' },
    );
    expect(r2.status, r2.stdout).toBe(0);
    expect((r2.json as Res).routes).toEqual([
      { dst: '10.0.0.0/8', gw: '10.79.13.254' },
      { dst: '0.0.0.0/0', gw: '10.79.13.1' },
    ]);
    const ip2 = (r2.json as Res).ips[0]!.address.split('/')[0]!;
    expect(fs.readFileSync(srv.leaseFile, 'utf8')).toContain(`${ip2} pod-thirty-three`);
  });

  it('renews at T1 (lease clock scaled for the test): dnsmasq sees the renewal and the address stays', async () => {
    const srv = await startServer({ net: 14 });
    // 2 min lease x 0.04: T1 2.4 s, T2 4.2 s, expiry 4.8 s.
    const dmn = await startDaemon(tempDir(), ['-test-lease-scale', '0.04', '-timeout', '2s']);
    const ns = bridgeContainer(srv);
    const add = await cni('ADD', 'ctr-renew', ns, conf(dmn.socket));
    const addr = (add.json as Res).ips[0]!.address;
    const ip = addr.split('/')[0]!;
    applyAddress(ns, addr);
    const before = srv.leases().get(ip)!.expiry;
    await waitFor('two renewals', () => (dmn.stderr().match(/lease renewed: container=ctr-renew/g)?.length ?? 0) >= 2, 12_000);
    expect(dmn.stderr()).not.toMatch(/rebinding|expired/);
    expect(srv.leases().get(ip)!.expiry).toBeGreaterThan(before);
    expect(srv.log()).toMatch(new RegExp(`DHCPREQUEST\\(br0\\) ${ip.replace(/\./g, '\\.')}`));
    const link = ipJson<Array<{ flags: string[]; addr_info: Array<{ local: string }> }>>(['addr', 'show', 'eth0'], ns)[0]!;
    expect(link.flags).toContain('UP');
    expect(link.addr_info.map((a) => a.local)).toContain(ip);
  });

  it('daemon killed and restarted: the lease is resumed from disk, renewed, and DEL still releases it', async () => {
    const srv = await startServer({ net: 15 });
    const dir = tempDir();
    const args = ['-test-lease-scale', '0.04', '-timeout', '2s'];
    const d1 = await startDaemon(dir, args);
    const ns = bridgeContainer(srv);
    const c = conf(d1.socket);
    const addr = ((await cni('ADD', 'ctr-rs', ns, c)).json as Res).ips[0]!.address;
    const ip = addr.split('/')[0]!;
    applyAddress(ns, addr);
    expect(fs.readdirSync(d1.stateDir)).toHaveLength(1);
    await d1.stop('SIGKILL'); // a crash: the socket file stays behind
    expect(fs.existsSync(d1.socket)).toBe(true);
    const before = srv.leases().get(ip)!.expiry;
    const d2 = await startDaemon(dir, args);
    expect(d2.stderr()).toMatch(/removed stale socket/);
    expect(d2.stderr()).toMatch(/lease resumed: container=ctr-rs net=dhnet if=eth0 ip=/);
    await waitFor('a renewal by the new daemon', () => /lease renewed: container=ctr-rs/.test(d2.stderr()), 10_000);
    expect(srv.leases().get(ip)!.expiry).toBeGreaterThan(before);
    const again = await cni('ADD', 'ctr-rs', ns, c);
    expect((again.json as Res).ips[0]!.address).toBe(addr);
    expect((await cni('DEL', 'ctr-rs', ns, c)).status).toBe(0);
    await waitFor('dnsmasq to drop the lease', () => !srv.leases().has(ip), 3000);
  });

  it('restart drops leases whose netns is gone; SIGTERM removes socket and pidfile', async () => {
    const srv = await startServer({ net: 16 });
    const dir = tempDir();
    const pidfile = path.join(dir, 'dhcp.pid');
    const d1 = await startDaemon(dir, ['-pidfile', pidfile]);
    expect(fs.readFileSync(pidfile, 'utf8')).toBe(String(d1.pid));
    const ns = bridgeContainer(srv);
    expect((await cni('ADD', 'ctr-gone', ns, conf(d1.socket))).status).toBe(0);
    expect(await d1.stop('SIGTERM')).toBe(0);
    expect(fs.existsSync(d1.socket)).toBe(false);
    expect(fs.existsSync(pidfile)).toBe(false);
    expect(d1.stderr()).toMatch(/shutting down: signal=SIGTERM/);
    spawnSync('ip', ['netns', 'del', ns]);
    const d2 = await startDaemon(dir);
    expect(d2.stderr()).toMatch(/lease dropped on restore: container=ctr-gone/);
    expect(fs.readdirSync(d2.stateDir)).toEqual([]);
  });

  it('daemon down: ADD says how to start it, DEL returns 11 naming the socket, STATUS returns 50', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'none.sock');
    const c = conf(socket, {}, '1.1.0');
    const add = await cni('ADD', 'ctr-x', 'tscni-dh-none', c);
    expect(add.status).toBe(1);
    expect(add.json).toMatchObject({ code: 11 });
    expect((add.json as { msg: string }).msg).toContain(socket);
    expect((add.json as { details: string }).details).toContain(`dhcp daemon -socketpath ${socket}`);
    const del = await cni('DEL', 'ctr-x', '', c);
    expect(del.json).toMatchObject({ code: 11 });
    expect((del.json as { msg: string }).msg).toContain(socket);
    const st = await cni('STATUS', '', '', c);
    expect(st.json).toMatchObject({ code: 50 });
    const dmn = await startDaemon(dir);
    expect((await cni('STATUS', '', '', conf(dmn.socket, {}, '1.1.0'))).status).toBe(0);
  });

  it('systemd socket activation: the daemon serves the socket passed as fd 3 (LISTEN_FDS=1)', async () => {
    const srv = await startServer({ net: 20 });
    const dir = tempDir();
    const socket = path.join(dir, 'activated.sock');
    const py = [
      'import os, socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      `s.bind(${JSON.stringify(socket)}); s.listen(16)`,
      'os.dup2(s.fileno(), 3); os.set_inheritable(3, True)',
      "os.environ['LISTEN_FDS'] = '1'; os.environ['LISTEN_PID'] = str(os.getpid())",
      `os.execv(${JSON.stringify(path.join(DIST_BIN, 'dhcp'))}, ['dhcp', 'daemon', '-statedir', ${JSON.stringify(path.join(dir, 'state'))}, '-socketpath', '/nonexistent/never.sock'])`,
    ].join('\n');
    const proc = spawn('python3', ['-c', py], { stdio: ['ignore', 'ignore', 'pipe'] });
    track(proc);
    let err = '';
    proc.stderr!.setEncoding('utf8').on('data', (x: string) => (err += x));
    await waitFor('the activated daemon', () => err.includes('daemon started'), 10_000);
    expect(err).toMatch(/socket="systemd socket \(LISTEN_FDS\)"/);
    const ns = bridgeContainer(srv);
    const add = await cni('ADD', 'ctr-sd', ns, conf(socket));
    expect(add.status, add.stdout).toBe(0);
    expect((add.json as Res).ips[0]!.address).toMatch(/^10\.79\.20\./);
  });

  it('pool exhausted: ADD fails within the configured timeout, saying no server answered', async () => {
    const srv = await startServer({ net: 17, poolStart: 50, poolEnd: 50 });
    const dmn = await startDaemon(tempDir(), ['-timeout', '1s', '-resendmax', '2s', '-resendtimeout', '5s']);
    const ns1 = bridgeContainer(srv);
    const ns2 = bridgeContainer(srv);
    expect((await cni('ADD', 'ctr-1', ns1, conf(dmn.socket))).status).toBe(0);
    const t0 = Date.now();
    const r = await cni('ADD', 'ctr-2', ns2, conf(dmn.socket));
    const took = Date.now() - t0;
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ code: 11, msg: 'error calling DHCP.Allocate: no more tries' });
    expect((r.json as { details: string }).details).toMatch(/no DHCP server answered on eth0/);
    expect(took).toBeLessThan(5000 + 1500);
    expect(took).toBeGreaterThan(3000);
  });

  it('GC releases the leases of attachments not in cni.dev/valid-attachments', async () => {
    const srv = await startServer({ net: 18 });
    const dmn = await startDaemon(tempDir());
    const ns1 = bridgeContainer(srv);
    const ns2 = bridgeContainer(srv);
    const c = conf(dmn.socket, {}, '1.1.0');
    const a1 = ((await cni('ADD', 'keep', ns1, c)).json as Res).ips[0]!.address.split('/')[0]!;
    const a2 = ((await cni('ADD', 'stale', ns2, c)).json as Res).ips[0]!.address.split('/')[0]!;
    const gc = await cni('GC', '', '', { ...c, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] });
    expect(gc.status, gc.stdout).toBe(0);
    await waitFor('dnsmasq to drop the stale lease', () => !srv.leases().has(a2), 3000);
    expect(srv.leases().has(a1)).toBe(true);
  });

  it('20 containers at once on one network get 20 distinct leases; reports ADD latency and daemon memory', async () => {
    const srv = await startServer({ net: 19, poolStart: 20, poolEnd: 220 });
    const dmn = await startDaemon(tempDir());
    const c = conf(dmn.socket);
    const nss = Array.from({ length: 20 }, () => bridgeContainer(srv));
    const results = await Promise.all(nss.map((ns, i) => cni('ADD', `many-${i}`, ns, c)));
    for (const r of results) expect(r.status, r.stdout + r.stderr).toBe(0);
    const addrs = results.map((r) => (r.json as Res).ips[0]!.address);
    expect(new Set(addrs).size).toBe(20);
    for (const a of addrs) expect(srv.leases().has(a.split('/')[0]!)).toBe(true);
    const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${dmn.pid}/status`, 'utf8'))![1]);
    const threads = Number(/Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${dmn.pid}/status`, 'utf8'))![1]);
    // Latency: sequential ADDs of fresh attachments (median of 7).
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const ns = bridgeContainer(srv);
      const t0 = performance.now();
      const r = await cni('ADD', `lat-${i}`, ns, c);
      times.push(performance.now() - t0);
      expect(r.status).toBe(0);
    }
    times.sort((a, b) => a - b);
    process.stderr.write(
      `dhcp: 20 leases held: daemon VmRSS ${Math.round(rss / 1024)} MiB, ${threads} threads; ` +
        `ADD latency median ${times[3]!.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times[6]!.toFixed(0)})\n`,
    );
  });
});
