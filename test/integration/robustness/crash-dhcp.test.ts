// Crash consistency of dhcp (issue 12), against a real DHCP server (dnsmasq) in test netns:
//  - the dhcp IPAM plugin SIGKILLed at moments spread over its ADD (exec to exit), then DEL: the
//    daemon holds no lease of the container afterwards (state dir empty, dnsmasq's lease released);
//  - the daemon itself SIGKILLed while it acquires a lease: every file of its lease store reads
//    back whole (written atomically), and a restarted daemon's DEL leaves nothing.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIST_BIN } from '../../helpers/plugin.js';
import { bridgeContainer, cleanup, cni, conf, startDaemon, startServer, tempDir, waitFor } from '../dhcp/harness.js';

const haveDnsmasq = spawnSync('dnsmasq', ['--version']).status === 0;
afterEach(cleanup);

/** The dhcp plugin's ADD, SIGKILLed `killAt` ms after the spawn (undefined: not killed). */
function addKilled(containerID: string, ns: string, config: unknown, killAt?: number): Promise<{ killed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(path.join(DIST_BIN, 'dhcp'), [], {
      env: { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerID, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: DIST_BIN },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const timer = killAt === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAt);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', ms: performance.now() - t0 });
    });
    child.stdin.end(JSON.stringify(config));
  });
}

/** Every lease-store file parses as JSON (temp files of a killed writer aside). */
function tornStoreFiles(stateDir: string): string[] {
  if (!fs.existsSync(stateDir)) return [];
  return fs.readdirSync(stateDir).filter((n) => !n.includes('.tmp-')).filter((n) => {
    try {
      JSON.parse(fs.readFileSync(path.join(stateDir, n), 'utf8'));
      return false;
    } catch {
      return true;
    }
  });
}

describe.skipIf(!haveDnsmasq)('crash consistency: dhcp', () => {
  it('killed plugin ADDs, then DEL: no lease left in the daemon or in dnsmasq', async () => {
    const srv = await startServer({ net: 0, prefix: '10.153.200' });
    const dmn = await startDaemon(tempDir());
    const c = conf(dmn.socket, {}, '1.0.0', 'trbdh');
    // The real duration of one ADD (exec to exit), to spread the kills over.
    const probeNs = bridgeContainer(srv);
    const probe = await addKilled('trbdh-probe', probeNs, c);
    expect((await cni('DEL', 'trbdh-probe', probeNs, c)).status).toBe(0);
    const problems: string[] = [];
    let killed = 0;
    let heldAtDel = 0;
    for (let i = 0; i < 8; i++) {
      const ns = bridgeContainer(srv);
      const cid = `trbdh-${i}`;
      const at = ((i + 0.5) / 8) * probe.ms * 1.2;
      const r = await addKilled(cid, ns, c, at);
      const torn = tornStoreFiles(dmn.stateDir);
      if (torn.length) problems.push(`${cid} (kill at ${at.toFixed(0)} ms): torn store files ${torn.join(' ')}`);
      if (r.killed) killed++;
      if (srv.leases().size > 0 || fs.readdirSync(dmn.stateDir).length > 0) heldAtDel++;
      const del = await cni('DEL', cid, ns, c);
      if (del.status !== 0) problems.push(`${cid}: DEL failed: ${del.stdout}`);
    }
    // The daemon may still be finishing an acquire that a killed plugin asked for: DEL takes it back.
    await waitFor('the daemon to hold no lease', () => fs.readdirSync(dmn.stateDir).filter((n) => !n.includes('.tmp-')).length === 0, 10_000).catch(() => {
      problems.push(`lease store after the DELs: ${fs.readdirSync(dmn.stateDir).join(' ')}`);
    });
    await waitFor('dnsmasq to hold no lease', () => srv.leases().size === 0, 10_000).catch(() => {
      problems.push(`dnsmasq leases after the DELs: ${[...srv.leases().keys()].join(' ')}`);
    });
    expect(problems).toEqual([]);
    // The kills landed, and some of them after the daemon had (or was getting) the lease.
    expect(killed).toBeGreaterThan(2);
    expect(heldAtDel).toBeGreaterThan(0);
    process.stderr.write(`dhcp crash: probe ADD ${probe.ms.toFixed(0)} ms, ${killed}/8 killed, ${heldAtDel} held a lease at DEL\n`);
  }, 120_000);

  it('the daemon killed while it acquires: its lease files read back whole; a restarted daemon releases on DEL', async () => {
    const srv = await startServer({ net: 0, prefix: '10.153.201' });
    const dir = tempDir();
    const problems: string[] = [];
    for (let i = 0; i < 6; i++) {
      const dmn = await startDaemon(dir);
      const c = conf(dmn.socket, {}, '1.0.0', 'trbdh');
      const ns = bridgeContainer(srv);
      const cid = `trbdk-${i}`;
      const add = cni('ADD', cid, ns, c);
      await new Promise((r) => setTimeout(r, 20 + i * 40));
      await dmn.stop('SIGKILL');
      await add;
      const torn = tornStoreFiles(dmn.stateDir);
      if (torn.length) problems.push(`${cid}: torn store files ${torn.join(' ')}`);
      const again = await startDaemon(dir);
      const del = await cni('DEL', cid, ns, c);
      if (del.status !== 0) problems.push(`${cid}: DEL after the restart failed: ${del.stdout}`);
      const left = fs.readdirSync(again.stateDir).filter((n) => !n.includes('.tmp-'));
      if (left.length) problems.push(`${cid}: lease files left after DEL: ${left.join(' ')}`);
      await again.stop();
    }
    expect(problems).toEqual([]);
  }, 180_000);
});
