// The node agent behind `tscni overlay`: flanneld's job with its vxlan backend, on etcd v3.
// Start: read `<prefix>/config`, set up flannel.<VNI>, lease a subnet (taking back this node's own
// lease or its previous subnet first), give the device its VTEP address, apply -ip-masq rules,
// write subnet.env, program every other node's lease and watch `<prefix>/subnets/` for changes.
// While running: renew the lease before it expires. SIGTERM/SIGINT: stop, leaving the lease to
// expire and the device in place (as flanneld), or with -release-on-exit remove both.
import type { MasqBackend } from '../../../shared/firewall/backend.js';
import { EtcdClient, isEtcdUnavailable, type KeyValue, type Watch, type WatchEvent } from '../../../shared/etcd/index.js';
import { Netlink } from '../../../shared/netlink/index.js';
import { VxlanControl, type VxlanLink } from '../../../shared/netlink/vxlan.js';
import { errorText } from '../../../shared/sys/error-text.js';
import { writeStderr } from '../../../shared/sys/stdio.js';
import fs from 'node:fs';
import { configureDeviceAddress, type DeviceSpec, deviceName, ensureDevice, findExternalInterface, VXLAN_OVERHEAD } from './device.js';
import type { OverlayFlags } from './flags.js';
import {
  configKey, decodeLeaseAttrs, encodeLeaseAttrs, isCompatible, type LeaseAttrs, overlapsSubnet, parseSubnetKeyName, pickFreeSubnet,
  sameSubnet, type Subnet, subnetGatewayIP, subnetKey, subnetsPrefix, subnetText,
} from './lease.js';
import { chooseMasqBackend, removeMasq, setupMasq } from './masq.js';
import { ConfigError, type NetworkConfig, parseNetworkConfig } from './network-config.js';
import { addRemote, reconcileRemotes, type Remote, removeRemote, sameRemote } from './remotes.js';
import { previousSubnet, subnetEnvText, writeSubnetFile } from './subnet-file.js';

const RETRY_MS = 1000;
/** How often the agent looks for its device (flanneld reacts to link events; a poll is simpler). */
const DEVICE_CHECK_MS = 2000;

export function log(msg: string): void {
  writeStderr(`${new Date().toISOString()} tscni overlay: ${msg}\n`);
}

/** Why the agent stops: a signal (exit 0) or a fatal condition (exit 1). */
interface Stop {
  reason: string;
  code: number;
}

interface ListedLease {
  key: string;
  subnet: Subnet;
  attrs: LeaseAttrs | undefined;
  kv: KeyValue;
}

export class OverlayAgent {
  private readonly flags: OverlayFlags;
  private readonly etcd: EtcdClient;
  private readonly nl: Netlink;
  private readonly vx: VxlanControl;
  private stopped: Stop | undefined;
  private wake: (() => void) | undefined;
  private readonly stopPromise: Promise<Stop>;
  private resolveStop!: (s: Stop) => void;

  private cfg: NetworkConfig | undefined;
  private dev: VxlanLink | undefined;
  private devSpec: DeviceSpec | undefined;
  private deviceTimer: NodeJS.Timeout | undefined;
  private publicIP = '';
  private own: { subnet: Subnet; leaseID: string; value: string } | undefined;
  private readonly remotes = new Map<string, Remote>();
  private watch: Watch | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private masqBackend: MasqBackend | undefined;
  private releasing = false;
  private recreating = false;

  constructor(flags: OverlayFlags) {
    this.flags = flags;
    // flanneld uses TLS client auth only when both the key and the certificate are given.
    const tls = flags.etcdCertfile !== '' && flags.etcdKeyfile !== '';
    this.etcd = new EtcdClient({
      endpoints: flags.etcdEndpoints,
      ...(tls ? { certFile: flags.etcdCertfile, keyFile: flags.etcdKeyfile } : {}),
      ...(flags.etcdCafile !== '' ? { trustedCAFile: flags.etcdCafile } : {}),
      ...(flags.etcdUsername !== '' ? { username: flags.etcdUsername, password: flags.etcdPassword } : {}),
    });
    this.nl = Netlink.open();
    this.vx = VxlanControl.open();
    this.stopPromise = new Promise((r) => (this.resolveStop = r));
  }

  /** Ends the agent (first reason wins); wakes any retry sleep. */
  stop(reason: string, code = 0): void {
    if (this.stopped) return;
    this.stopped = { reason, code };
    this.resolveStop(this.stopped);
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Runs `fn` until it succeeds, retrying every second while etcd is unavailable; undefined once stopped. */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      try {
        return await fn();
      } catch (err) {
        if (!isEtcdUnavailable(err)) throw err;
        log(`${what}: ${errorText(err)}; retrying`);
        await this.sleep(RETRY_MS);
      }
    }
  }

  async run(): Promise<number> {
    try {
      await this.start();
    } catch (err) {
      this.stop(`failed to start: ${errorText(err)}`, 1);
    }
    const s = await this.stopPromise;
    log(`stopping: ${s.reason}`);
    await this.shutdown(s.code === 0 && this.flags.releaseOnExit);
    return s.code;
  }

  private async start(): Promise<void> {
    const ext = findExternalInterface(this.nl, this.flags.iface);
    this.publicIP = this.flags.publicIP !== '' ? this.flags.publicIP : (ext.ip ?? '');
    if (this.publicIP === '') throw new Error(`interface ${ext.link.name} has no IPv4 address: give -public-ip`);
    log(`using interface ${ext.link.name} with public IP ${this.publicIP}`);

    const cfg = await this.readConfig();
    if (!cfg) return;
    this.cfg = cfg;
    const mtu = (cfg.backend.mtu || ext.link.mtu) - VXLAN_OVERHEAD;
    this.devSpec = { name: deviceName(cfg.backend.vni), vni: cfg.backend.vni, local: this.publicIP, devIndex: ext.link.index, port: cfg.backend.port, learning: cfg.backend.learning, gbp: cfg.backend.gbp, mtu };
    const dev = ensureDevice(this.nl, this.vx, this.devSpec, log);
    this.dev = dev;
    if (!dev.mac) throw new Error(`${dev.name} has no MAC address`);

    const acquired = await this.retrying('acquiring a subnet lease', () => this.acquire(cfg, dev.mac!));
    if (!acquired) return;
    log(`leased subnet ${subnetText(acquired.subnet)} (etcd lease ${acquired.leaseID})`);
    configureDeviceAddress(this.nl, dev, subnetGatewayIP(acquired.subnet), cfg.networkNet);

    if (this.flags.ipMasq) {
      this.masqBackend = await chooseMasqBackend(cfg.enableNFTables);
      for (const e of await setupMasq(this.masqBackend, cfg.network, subnetText(acquired.subnet))) log(`removing the other firewall's masquerade rules: ${e}`);
      log(`masquerading traffic leaving ${cfg.network} (${this.masqBackend})`);
    }
    writeSubnetFile(this.flags.subnetFile, subnetEnvText(cfg.network, acquired.subnet, mtu, this.flags.ipMasq));
    log(`wrote ${this.flags.subnetFile}`);

    this.scheduleRenew();
    await this.resync();
    this.deviceTimer = setInterval(() => void this.checkDevice(), DEVICE_CHECK_MS);
  }

  /**
   * flanneld recreates its device when someone deletes it: the new device (new MAC) gets the VTEP
   * address, the lease is rewritten with the new MAC (the other nodes update their FDB and
   * neighbour entries from the watch) and the remote entries are programmed again.
   */
  private async checkDevice(): Promise<void> {
    const { devSpec, cfg, own } = this;
    if (this.stopped || this.recreating || !devSpec || !cfg || !own || this.vx.findVxlan(devSpec.name)) return;
    this.recreating = true;
    try {
      log(`${devSpec.name} disappeared: recreating it`);
      const dev = ensureDevice(this.nl, this.vx, devSpec, log);
      this.dev = dev;
      configureDeviceAddress(this.nl, dev, subnetGatewayIP(own.subnet), cfg.networkNet);
      const value = encodeLeaseAttrs({ publicIP: this.publicIP, backendType: 'vxlan', vni: cfg.backend.vni, vtepMAC: dev.mac ?? '' });
      await this.etcd.put(subnetKey(this.flags.etcdPrefix, own.subnet), value, { lease: own.leaseID });
      this.own = { ...own, value };
      for (const e of reconcileRemotes(this.nl, this.vx, dev.index, [...this.remotes.values()])) log(`programming remote leases: ${e}`);
      log(`${devSpec.name} recreated (VTEP MAC ${dev.mac ?? '?'}), lease updated`);
    } catch (err) {
      log(`recreating ${devSpec.name} failed: ${errorText(err)}; retrying`);
    } finally {
      this.recreating = false;
    }
  }

  private async readConfig(): Promise<NetworkConfig | undefined> {
    const key = configKey(this.flags.etcdPrefix);
    for (;;) {
      const kv = await this.retrying('reading the network config', () => this.etcd.get(key));
      if (this.stopped) return undefined;
      if (kv) {
        try {
          const cfg = parseNetworkConfig(kv.value);
          log(`network config: ${cfg.network}, subnets /${cfg.subnetLen}, vxlan VNI ${cfg.backend.vni}`);
          return cfg;
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          log(`${key}: ${err.message}; waiting for a valid config`);
        }
      } else {
        log(`flannel config not found in etcd store (${key}). Did you create your config using etcdv3 API?`);
      }
      await this.sleep(RETRY_MS);
    }
  }

  private async listLeases(): Promise<{ leases: ListedLease[]; revision: number }> {
    const prefix = subnetsPrefix(this.flags.etcdPrefix);
    const r = await this.etcd.range(prefix, { prefix: true });
    const leases: ListedLease[] = [];
    for (const kv of r.kvs) {
      const subnet = parseSubnetKeyName(kv.key.slice(prefix.length));
      if (subnet) leases.push({ key: kv.key, subnet, attrs: decodeLeaseAttrs(kv.value), kv });
    }
    return { leases, revision: r.header.revision };
  }

  /** flanneld's tryAcquireLease: own lease by public IP, then the previous subnet, then a random free one. */
  private async acquire(cfg: NetworkConfig, mac: string): Promise<{ subnet: Subnet; leaseID: string }> {
    const value = encodeLeaseAttrs({ publicIP: this.publicIP, backendType: 'vxlan', vni: cfg.backend.vni, vtepMAC: mac });
    for (;;) {
      if (this.stopped) throw new Error('stopped while acquiring a lease');
      const { leases } = await this.listLeases();
      const mine = leases.find((l) => l.attrs?.publicIP === this.publicIP);
      if (mine && !isCompatible(cfg, mine.subnet)) {
        log(`deleting this node's lease ${subnetText(mine.subnet)}: it does not fit the network config`);
        await this.etcd.txn({ compare: [{ key: mine.key, target: 'modRevision', result: 'EQUAL', value: mine.kv.modRevision }], success: [{ deleteRange: { key: mine.key } }] });
        continue;
      }
      let subnet: Subnet | undefined;
      let compare: { key: string; target: 'modRevision' | 'createRevision'; result: 'EQUAL'; value: number };
      if (mine) {
        subnet = mine.subnet;
        compare = { key: mine.key, target: 'modRevision', result: 'EQUAL', value: mine.kv.modRevision };
      } else {
        const taken = leases.map((l) => l.subnet);
        const prev = previousSubnet(this.flags.subnetFile);
        subnet = prev && isCompatible(cfg, prev) && !taken.some((t) => overlapsSubnet(t, prev)) ? prev : pickFreeSubnet(cfg, taken);
        if (!subnet) throw new Error(`out of subnets in ${cfg.network}`);
        compare = { key: subnetKey(this.flags.etcdPrefix, subnet), target: 'createRevision', result: 'EQUAL', value: 0 };
      }
      const grant = await this.etcd.leaseGrant(this.flags.subnetLeaseTTL);
      const key = subnetKey(this.flags.etcdPrefix, subnet);
      const txn = await this.etcd.txn({ compare: [compare], success: [{ put: { key, value, lease: grant.id } }] });
      if (!txn.succeeded) {
        // Another node took it (or our own lease changed) between the read and the write: start over.
        await this.etcd.leaseRevoke(grant.id);
        continue;
      }
      if (mine && mine.kv.lease !== '0' && mine.kv.lease !== grant.id) {
        log(`took back this node's lease ${subnetText(subnet)}`);
        await this.etcd.leaseRevoke(mine.kv.lease).catch((err: unknown) => log(`revoking the old etcd lease ${mine.kv.lease}: ${errorText(err)}`));
      }
      this.own = { subnet, leaseID: grant.id, value };
      return { subnet, leaseID: grant.id };
    }
  }

  /** Renews at expiry minus the margin (at half the TTL when the margin is longer than that). */
  private scheduleRenew(delayMs?: number): void {
    const ttl = this.flags.subnetLeaseTTL;
    const at = delayMs ?? Math.max(ttl - this.flags.subnetLeaseRenewMargin * 60, ttl / 2) * 1000;
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.renew(), at);
  }

  /** As flanneld: a fresh lease and a plain put of the same value; the old lease is then revoked. */
  private async renew(): Promise<void> {
    const own = this.own;
    if (!own || this.stopped) return;
    try {
      const grant = await this.etcd.leaseGrant(this.flags.subnetLeaseTTL);
      await this.etcd.put(subnetKey(this.flags.etcdPrefix, own.subnet), own.value, { lease: grant.id });
      const old = own.leaseID;
      this.own = { ...own, leaseID: grant.id };
      await this.etcd.leaseRevoke(old).catch(() => undefined);
      log(`renewed the lease of ${subnetText(own.subnet)} (etcd lease ${grant.id}, ${this.flags.subnetLeaseTTL} s)`);
      this.scheduleRenew();
    } catch (err) {
      const retry = Math.min(60_000, (this.flags.subnetLeaseTTL * 1000) / 4);
      log(`renewing the lease of ${subnetText(own.subnet)} failed: ${errorText(err)}; retrying in ${retry / 1000} s`);
      this.scheduleRenew(retry);
    }
  }

  /** Full listing -> kernel state, then a watch from the listing's revision on. */
  private async resync(): Promise<void> {
    const dev = this.dev;
    if (!dev || this.stopped) return;
    this.watch?.close();
    this.watch = undefined;
    const listed = await this.retrying('listing subnet leases', () => this.listLeases());
    if (!listed) return;
    this.remotes.clear();
    for (const l of listed.leases) {
      const r = this.remoteOf(l.subnet, l.attrs);
      if (r) this.remotes.set(l.key, r);
    }
    for (const e of reconcileRemotes(this.nl, this.vx, dev.index, [...this.remotes.values()])) log(`programming remote leases: ${e}`);
    log(`${this.remotes.size} remote node(s): ${[...this.remotes.values()].map((r) => `${subnetText(r.subnet)} at ${r.publicIP}`).join(', ') || 'none'}`);
    this.watch = this.etcd.watch(
      subnetsPrefix(this.flags.etcdPrefix),
      { prefix: true, startRevision: listed.revision + 1 },
      {
        onEvents: (events) => this.onEvents(events),
        onError: (err) => {
          log(`watch stopped: ${errorText(err)}; resyncing`);
          void this.resync().catch((e: unknown) => this.stop(`resync failed: ${errorText(e)}`, 1));
        },
      },
    );
  }

  /** A lease this node programs: another node's, vxlan, with a usable VTEP MAC. */
  private remoteOf(subnet: Subnet, attrs: LeaseAttrs | undefined): Remote | undefined {
    if (this.own && sameSubnet(subnet, this.own.subnet)) return undefined;
    if (!attrs || attrs.backendType !== 'vxlan' || !attrs.vtepMAC) return undefined;
    return { subnet, publicIP: attrs.publicIP, vtepMAC: attrs.vtepMAC };
  }

  private onEvents(events: readonly WatchEvent[]): void {
    const dev = this.dev;
    if (!dev || this.stopped) return;
    const prefix = subnetsPrefix(this.flags.etcdPrefix);
    for (const ev of events) {
      const subnet = parseSubnetKeyName(ev.kv.key.slice(prefix.length));
      if (!subnet) continue;
      if (this.own && sameSubnet(subnet, this.own.subnet)) {
        if (ev.type === 'DELETE' && !this.releasing) this.stop('Lease has been revoked. Shutting down daemon.', 1);
        continue;
      }
      const known = this.remotes.get(ev.kv.key);
      const next = ev.type === 'PUT' ? this.remoteOf(subnet, decodeLeaseAttrs(ev.kv.value)) : undefined;
      if (known && next && sameRemote(known, next)) continue;
      if (known) {
        for (const e of removeRemote(this.nl, this.vx, dev.index, known)) log(`removing ${subnetText(known.subnet)}: ${e}`);
        this.remotes.delete(ev.kv.key);
        if (!next) log(`subnet ${subnetText(known.subnet)} at ${known.publicIP} removed`);
      }
      if (next) {
        try {
          addRemote(this.nl, this.vx, dev.index, next);
          this.remotes.set(ev.kv.key, next);
          log(`subnet ${subnetText(next.subnet)} at ${next.publicIP} (VTEP ${next.vtepMAC}) added`);
        } catch (err) {
          log(`adding ${subnetText(next.subnet)} at ${next.publicIP}: ${errorText(err)}`);
        }
      }
    }
  }

  private async shutdown(release: boolean): Promise<void> {
    clearTimeout(this.renewTimer);
    clearInterval(this.deviceTimer);
    this.watch?.close();
    this.watch = undefined;
    if (release) {
      this.releasing = true;
      const errors: string[] = [];
      const step = async (what: string, fn: () => unknown): Promise<void> => {
        try {
          await fn();
        } catch (err) {
          errors.push(`${what}: ${errorText(err)}`);
        }
      };
      const own = this.own;
      if (own) {
        await step('deleting the lease', () => this.etcd.deleteRange(subnetKey(this.flags.etcdPrefix, own.subnet)));
        await step('revoking the etcd lease', () => this.etcd.leaseRevoke(own.leaseID));
      }
      if (this.flags.ipMasq) for (const e of await removeMasq()) errors.push(`masquerade rules: ${e}`);
      const dev = this.cfg ? this.nl.findLink(deviceName(this.cfg.backend.vni)) : undefined;
      if (dev) await step(`deleting ${dev.name}`, () => this.nl.deleteLink(dev));
      if (own) await step(`removing ${this.flags.subnetFile}`, () => fs.rmSync(this.flags.subnetFile, { force: true }));
      for (const e of errors) log(`release: ${e}`);
      log(own ? `released ${subnetText(own.subnet)}` : 'nothing to release');
    } else if (this.own) {
      log(`leaving the lease of ${subnetText(this.own.subnet)} to expire and ${this.dev?.name ?? 'the device'} in place`);
    }
    this.etcd.close();
    this.vx.close();
    this.nl.close();
  }
}
