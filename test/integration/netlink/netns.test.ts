// Namespace entry/exit and sysctls inside a namespace.
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Netlink, NetnsError, netnsIdentity, openNetns, readSysctl, withNetns, writeSysctl,
} from '../../../shared/netlink/index.js';
import { addNetns, deleteNetns, nsPath } from './helpers.js';

const created: string[] = [];
afterAll(() => deleteNetns(created));

const currentNetns = (): string => fs.readlinkSync('/proc/thread-self/ns/net');

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

describe('withNetns', () => {
  it('runs fn inside the netns and returns to the original one', () => {
    const ns = addNetns(created);
    const home = currentNetns();
    const inside = withNetns(nsPath(ns), () => currentNetns());
    expect(inside).not.toBe(home);
    expect(netnsIdentity(nsPath(ns)).split(':')[1]).toBe(inside.replace(/\D/g, ''));
    expect(netnsIdentity(nsPath(ns))).not.toBe(netnsIdentity('/proc/self/ns/net'));
    expect(currentNetns()).toBe(home);
  });

  it('returns to the original netns when fn throws', () => {
    const ns = addNetns(created);
    const home = currentNetns();
    expect(() =>
      withNetns(nsPath(ns), () => {
        throw new Error('boom');
      }),
    ).toThrowError('boom');
    expect(currentNetns()).toBe(home);
  });

  it('nests, returning to the outer netns, and accepts an open handle', () => {
    const outer = addNetns(created);
    const inner = addNetns(created);
    const home = currentNetns();
    const h = openNetns(nsPath(inner));
    try {
      const seen = withNetns(nsPath(outer), () => {
        const o1 = currentNetns();
        const i = withNetns(h, () => currentNetns());
        return [o1, i, currentNetns()];
      });
      expect(seen[0]).toBe(seen[2]);
      expect(seen[1]).not.toBe(seen[0]);
      expect(seen[1]).not.toBe(home);
    } finally {
      h.close();
    }
    expect(currentNetns()).toBe(home);
  });

  it('distinguishes a missing path from a path that is not a netns', () => {
    const missing = caught(() => withNetns('/var/run/netns/tscni-nl-does-not-exist', () => 1));
    expect(missing).toBeInstanceOf(NetnsError);
    expect((missing as NetnsError).kind).toBe('missing');
    expect((missing as NetnsError).isMissing).toBe(true);

    const notNs = caught(() => openNetns('/etc/hostname'));
    expect((notNs as NetnsError).kind).toBe('not-netns');
    expect((notNs as NetnsError).message).toMatch(/not a network namespace/);

    // An nsfs file of another namespace type passes the fs check; its type (NS_GET_NSTYPE) does not.
    const home = currentNetns();
    const wrongType = caught(() => withNetns('/proc/self/ns/mnt', () => 1));
    expect((wrongType as NetnsError).kind).toBe('not-netns');
    expect(currentNetns()).toBe(home);
  });

  it('openNetns checks the namespace type up front: only CLONE_NEWNET files open', () => {
    const types: Array<[string, string]> = [['mnt', '20000'], ['pid', '20000000'], ['uts', '4000000'], ['ipc', '8000000']];
    for (const [kind, hex] of types) {
      const err = caught(() => openNetns(`/proc/self/ns/${kind}`));
      expect(err, kind).toBeInstanceOf(NetnsError);
      expect((err as NetnsError).kind).toBe('not-netns');
      expect((err as NetnsError).message).toBe(`"/proc/self/ns/${kind}" is not a network namespace (namespace type 0x${hex})`);
    }
    const own = openNetns('/proc/self/ns/net');
    own.close();
    const ns = addNetns(created);
    openNetns(nsPath(ns)).close();
  });

  it('Netlink.open reports a vanished netns as missing', () => {
    const err = caught(() => Netlink.open('/var/run/netns/tscni-nl-gone'));
    expect(err).toBeInstanceOf(NetnsError);
    expect((err as NetnsError).isMissing).toBe(true);
  });

  it('refuses an async fn', () => {
    const ns = addNetns(created);
    expect(() => withNetns(nsPath(ns), async () => 1)).toThrowError(/synchronous/);
  });
});

describe('sysctl', () => {
  it('reads and writes per-netns sysctls, including interface names with dots', () => {
    const ns = addNetns(created);
    const hostForwarding = readSysctl('net.ipv4.ip_forward');
    withNetns(nsPath(ns), () => {
      expect(readSysctl('net.ipv4.ip_forward')).toBe('0');
      writeSysctl('net/ipv4/ip_forward', 1);
      expect(readSysctl(['net', 'ipv4', 'ip_forward'])).toBe('1');
    });
    expect(readSysctl('net.ipv4.ip_forward')).toBe(hostForwarding);
    expect(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostForwarding);

    const nl = Netlink.open(nsPath(ns));
    try {
      nl.createVeth({ name: 'eth0.100', peerName: 'p100' });
      nl.inNetns(() => {
        writeSysctl(['net', 'ipv4', 'conf', 'eth0.100', 'arp_notify'], 1);
        expect(readSysctl('net.ipv4.conf.eth0/100.arp_notify')).toBe('1');
        expect(readSysctl('net/ipv4/conf/eth0.100/arp_notify')).toBe('1');
      });
    } finally {
      nl.close();
    }
  });
});
