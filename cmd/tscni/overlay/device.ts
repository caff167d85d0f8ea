// The node's VTEP: the vxlan device `flannel.<VNI>` as flanneld's vxlan backend sets it up
// (REFERENCE-flannel.md §2 "Device"): bound to the external interface with the public IP as
// source, learning off, MTU = external MTU − 50, the leased subnet's network address as /32.
import { isErrno, type Link, Netlink } from '../../../shared/netlink/index.js';
import { type VxlanControl, type VxlanLink } from '../../../shared/netlink/vxlan.js';
import { containsIP, formatIP, type IPNet, parseIP } from '../../../shared/ip/index.js';

/** The outer IPv4 + UDP + VXLAN + inner Ethernet headers. */
export const VXLAN_OVERHEAD = 50;
const KERNEL_DEFAULT_PORT = 8472;

export interface DeviceSpec {
  name: string;
  vni: number;
  local: string;
  devIndex: number;
  /** 0: the kernel default. */
  port: number;
  learning: boolean;
  gbp: boolean;
  mtu: number;
}

export const deviceName = (vni: number): string => `flannel.${vni}`;

/** Whether an existing device can be kept: the settings flanneld compares (vni, dev, src, group, l2miss, port, gbp). */
export function isCompatibleDevice(l: VxlanLink, s: DeviceSpec): boolean {
  const v = l.vxlan;
  return (
    v.vni === s.vni &&
    v.devIndex === s.devIndex &&
    v.local === s.local &&
    v.group === undefined &&
    !v.l2miss &&
    (v.port || KERNEL_DEFAULT_PORT) === (s.port || KERNEL_DEFAULT_PORT) &&
    v.gbp === s.gbp
  );
}

/**
 * Keeps a compatible device (so its MAC, already published in the lease, stays valid across
 * restarts) or replaces it; returns the device. `log` reports what was done.
 */
export function ensureDevice(nl: Netlink, vx: VxlanControl, s: DeviceSpec, log: (l: string) => void): VxlanLink {
  const existing = vx.findVxlan(s.name);
  if (existing && isCompatibleDevice(existing, s)) {
    log(`keeping the existing VXLAN device ${s.name} (${existing.mac ?? 'no MAC'})`);
  } else {
    const other = nl.findLink(s.name);
    if (other) {
      log(`replacing ${s.name}: its settings differ from the configuration`);
      nl.deleteLink(other);
    }
    vx.createVxlan({ name: s.name, vni: s.vni, local: s.local, devIndex: s.devIndex, port: s.port, learning: s.learning, gbp: s.gbp, mtu: s.mtu });
    log(`created VXLAN device ${s.name}: id ${s.vni} local ${s.local} dev index ${s.devIndex} dstport ${s.port || KERNEL_DEFAULT_PORT}`);
  }
  const dev = vx.findVxlan(s.name);
  if (!dev) throw new Error(`VXLAN device ${s.name} vanished right after it was set up`);
  if (dev.mtu !== s.mtu) nl.setMtu(dev, s.mtu);
  return dev;
}

/** Gives the device `<subnet network>/32`, removes other addresses inside the cluster network, sets it up. */
export function configureDeviceAddress(nl: Netlink, dev: Link, vtepIP: string, network: IPNet): void {
  const want = `${vtepIP}/32`;
  let present = false;
  for (const a of nl.listAddresses({ ifindex: dev.index, family: 4 })) {
    const ip = parseIP(a.ip);
    if (a.ip === vtepIP && a.prefixLen === 32) {
      present = true;
      continue;
    }
    // A previous lease's address (flanneld removes those inside Network, leaves others alone).
    if (ip && containsIP(network, ip)) nl.deleteAddress(dev, a.address);
  }
  if (!present) {
    try {
      nl.addAddress(dev, want);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
  }
  nl.setLinkUp(dev);
}

/** The external interface: by name, or the one holding that address; without any, the default route's. */
export function findExternalInterface(nl: Netlink, ifaces: readonly string[]): { link: Link; ip: string | undefined } {
  const v4Of = (l: Link): string | undefined => nl.listAddresses({ ifindex: l.index, family: 4 }).find((a) => a.scope === 0)?.ip;
  for (const spec of ifaces) {
    const ip = parseIP(spec);
    if (ip) {
      const a = nl.listAddresses({ family: ip.family }).find((x) => x.ip === formatIP(ip));
      if (a) return { link: nl.getLinkByIndex(a.ifindex), ip: a.ip };
      continue;
    }
    const l = nl.findLink(spec);
    if (l) return { link: l, ip: v4Of(l) };
  }
  if (ifaces.length > 0) throw new Error(`no interface matches -iface ${ifaces.join(', ')}`);
  const def = nl.listRoutes({ family: 4 }).find((r) => r.dst === '0.0.0.0/0' && r.ifindex !== undefined);
  if (!def?.ifindex) throw new Error('no default route: name the external interface with -iface');
  const l = nl.getLinkByIndex(def.ifindex);
  return { link: l, ip: v4Of(l) };
}
