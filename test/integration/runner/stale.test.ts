// `tscni ls` and `tscni gc --stale`: attachments left behind by a missed DEL (the netns deleted
// under them, or their cache entry lost while host-local still holds the address) are found and
// released: address, portmap DNAT and firewall rules, cache entry. Ours at 1.1.0 through the
// plugins' GC; the Go plugins (1.0.0, no GC) through one DEL each. Also: failures name the plugin.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { netnsPath, removeNetns } from '../../helpers/netns.js';
import type { Json } from '../runtimes/rig.js';
import { cacheFile, cleanup, cnitoolId, container, firewall, ipsOf, leases, makeNode, tscni, writeExample, writeList, type Impl, type RunnerNode } from './rig.js';

let node: RunnerNode | undefined;
afterEach(() => {
  cleanup(node);
  node = undefined;
});

const capArgs = (port: number): Record<string, string> => ({ CAP_ARGS: JSON.stringify({ portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] }) });

interface Added {
  ctr: string;
  cid: string;
  ip: string;
  port: number;
}

function add(n: RunnerNode, list: Json, port: number): Added {
  const ctr = container(n);
  const r = tscni(n, ['add', list.name, netnsPath(ctr)], capArgs(port));
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return { ctr, cid: cnitoolId(netnsPath(ctr)), ip: ipsOf(JSON.parse(r.stdout) as Json)[0] as string, port };
}

describe.each<Impl>(['ours', 'ref'])('CNI_PATH=%s plugins', (impl) => {
  it('ls shows the attachments and leases; gc --stale releases a deleted netns and a lost cache entry', () => {
    const n = (node = makeNode(impl));
    const list = writeExample(n, 'bridge-podman.conflist', 'st', ['10.38.10.0/24']);
    const gone = add(n, list, 18201);
    const lost = add(n, list, 18202);
    const live = add(n, list, 18203);

    const before = JSON.parse(tscni(n, ['ls', '--json']).stdout) as Json;
    expect(before.attachments.map((a: Json) => [a.containerId, a.netnsExists, a.ips])).toEqual(
      [gone, lost, live].map((a) => [a.cid, true, [`${a.ip}/24`]]).sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    expect(before.allocations.map((a: Json) => [a.ip, a.containerId, a.ifName, a.cached]).sort()).toEqual(
      [gone, lost, live].map((a) => [a.ip, a.cid, 'eth0', true]).sort(),
    );

    // The missed DELs: a netns deleted under its attachment, and a cache entry lost.
    removeNetns(gone.ctr);
    fs.rmSync(cacheFile(n, list.name, lost.cid));
    const human = tscni(n, ['ls']).stdout;
    expect(human).toMatch(new RegExp(`${gone.cid}\\s+eth0\\s+/run/netns/\\S+\\s+GONE`));
    expect(human).toMatch(new RegExp(`${lost.ip}\\s+${lost.cid}\\s+eth0\\s+NO`));

    const gc = tscni(n, ['gc', '--stale', '--json', list.name]);
    expect(gc.stderr).toBe('');
    expect(gc.status).toBe(0);
    const report = JSON.parse(gc.stdout) as Json;
    expect(report.method).toBe(impl === 'ours' ? 'gc' : 'del');
    expect(report.validAttachments).toEqual([{ containerID: live.cid, ifname: 'eth0' }]);
    expect(report.released.map((s: Json) => [s.containerId, s.why])).toEqual([
      [gone.cid, 'netns gone'],
      [lost.cid, 'no cache entry'],
    ]);

    expect(leases(n, list.name)).toEqual([live.ip]);
    expect(fs.existsSync(cacheFile(n, list.name, gone.cid))).toBe(false);
    expect(fs.existsSync(cacheFile(n, list.name, live.cid))).toBe(true);
    // The Go bridge cannot take its masquerade rule back without the netns (its DEL learns the
    // address from the container's interface); ours releases it through its state records' GC.
    const masq = /CNI-[0-9a-f]{24}\b/;
    const fw = firewall(n)
      .split('\n')
      .filter((l) => impl === 'ours' || !masq.test(l))
      .join('\n');
    for (const a of [gone, lost]) expect(fw).not.toContain(`${a.ip}/`);
    // Below GC (the Go plugins), a lost cache entry also lost the port mappings, and the Go
    // portmap's DEL removes nothing without them: its DNAT for `lost` stays (ours: GC removes it).
    for (const a of impl === 'ours' ? [gone, lost] : [gone]) {
      expect(fw).not.toContain(`${a.ip}:`);
      expect(fw).not.toContain(String(a.port));
    }
    if (impl === 'ref') expect(fw).toContain(`--to-destination ${lost.ip}:80`);
    expect(fw).toContain(String(live.port));
    expect(fw).toContain(`${live.ip}`);

    // Nothing left to release: a second run finds nothing and changes nothing.
    const again = JSON.parse(tscni(n, ['gc', '--stale', '--json', list.name]).stdout) as Json;
    expect(again.released).toEqual([]);
    expect(leases(n, list.name)).toEqual([live.ip]);
    // Without CNI_PATH the runner finds the plugin links of its own executable (dist/tscni -> dist/bin).
    const cniPath: Record<string, string> = impl === 'ours' ? { CNI_PATH: '' } : {};
    expect(tscni(n, ['del', list.name, netnsPath(live.ctr)], { ...capArgs(live.port), ...cniPath }).status).toBe(0);
    expect(leases(n, list.name)).toEqual([]);
  });

  it('a failing plugin is named with its code and message; nothing on stdout; exit status 1', () => {
    const n = (node = makeNode(impl));
    const list = writeExample(n, 'bridge-podman.conflist', 'er', ['10.38.11.0/24']);
    const good = JSON.parse(JSON.stringify(list)) as Json;
    // portmap with an invalid key type: the runner must say it was portmap, in libcni's words.
    (list.plugins as Json[])[1] = { type: 'portmap', capabilities: { portMappings: true }, snat: 'yes' };
    writeList(n, '50-bridge-podman.conflist', list);
    const ctr = container(n);
    const r = tscni(n, ['add', list.name, netnsPath(ctr)], capArgs(18211));
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tscni: plugin type="portmap" failed \(add\): \[code \d+\] .*snat/m);
    const badDel = tscni(n, ['del', list.name, netnsPath(ctr)]);
    expect(badDel.status).toBe(1);
    expect(badDel.stderr).toMatch(/^tscni: plugin type="portmap" failed \(delete\): \[code \d+\] /m);

    // A plugin that is not on CNI_PATH (a fresh container: the failed ADD above left eth0 in ctr).
    (list.plugins as Json[])[1] = { type: 'rn-no-such-plugin' };
    writeList(n, '50-bridge-podman.conflist', list);
    const ctr2 = container(n);
    const missing = tscni(n, ['add', list.name, netnsPath(ctr2)]);
    expect(missing.stdout).toBe('');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('plugin type="rn-no-such-plugin" failed (add): ');
    expect(missing.stderr).toContain('failed to find plugin "rn-no-such-plugin"');
    expect(tscni(n, ['del', list.name, netnsPath(ctr2)]).stderr).toContain('plugin type="rn-no-such-plugin" failed (delete): ');
    // With the list repaired, DEL undoes what the failed ADDs left (libcni leaves that to the runtime's DEL).
    writeList(n, '50-bridge-podman.conflist', good);
    for (const c of [ctr, ctr2]) expect(tscni(n, ['del', list.name, netnsPath(c)]).status).toBe(0);
    expect(leases(n, list.name)).toEqual([]);

    // STATUS (1.1.0, ours only: the Go plugins have none) names the plugin that is not ready.
    if (impl === 'ours') {
      writeList(n, '60-status.conflist', { cniVersion: '1.1.0', name: 'rn-status', plugins: [{ type: 'loopback' }, { type: 'firewall', backend: 'firewalld' }] });
      const st = tscni(n, ['status', 'rn-status']);
      expect(st.status).toBe(1);
      expect(st.stdout).toBe('');
      expect(st.stderr).toMatch(/^tscni: plugin type="firewall" failed \(status\): \[code 50\] /);
    }

    // An unknown network, and a usage error.
    const unknown = tscni(n, ['add', 'rn-nonexistent', netnsPath(ctr)]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`no net configuration with name "rn-nonexistent" in ${n.confDir}`);
    expect(tscni(n, ['add', list.name]).status).toBe(2);
  });
});
