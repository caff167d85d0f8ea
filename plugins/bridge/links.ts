// Host-side link work of the bridge plugin (REFERENCE §3.1): the bridge, the gateway address on
// it (ensureAddr), the vlan gateway interface, the port settings of the host veth, forwarding.
// Everything runs through a netlink handle of the host netns (the plugin's own).
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { containsIP, equalIP, type Family, type IPNet, mustParsePrefix, prefixLength } from '../../shared/ip/index.js';
import { isErrno, type Link, type Netlink, readSysctl, writeSysctl } from '../../shared/netlink/index.js';
import { NetlinkSocket } from '../../shared/netlink/socket.js';
import { setupVeth } from '../../shared/iface/veth.js';
import { applyPortVlans, planPortVlans, type PortVlanPlan } from './vlan.js';
import { errorText } from '../../shared/sys/error-text.js';

const q = (s: string): string => JSON.stringify(s);

export interface BridgeSpec {
  name: string;
  /** 0: kernel default (only applied when the bridge is created). */
  mtu: number;
  promiscMode: boolean;
  /** Only applied when the bridge is created. */
  vlanFiltering: boolean;
}

/** The link named `name`, which must be a bridge. */
export function bridgeByName(host: Netlink, name: string): Link {
  let link: Link;
  try {
    link = host.getLink(name);
  } catch (err) {
    throw new Error(`could not lookup ${q(name)}: ${errorText(err)}`, { cause: err });
  }
  if (link.kind !== 'bridge') throw new Error(`${q(name)} already exists but is not a bridge`);
  return link;
}

/**
 * Creates the bridge or reuses an existing one (an existing non-bridge of that name is an error),
 * turns promisc on when asked (never off), writes accept_ra=0 and sets it up.
 */
export function ensureBridge(host: Netlink, spec: BridgeSpec): Link {
  const fail = (msg: string, err?: unknown): Error =>
    new Error(`failed to create bridge ${q(spec.name)}: ${msg}`, err === undefined ? undefined : { cause: err });
  // Usually the bridge exists: one lookup answers it all. Only when it is missing is it created and
  // read back. A concurrent ADD may create it in between: EEXIST then means "use it".
  let br = host.findLink(spec.name);
  if (!br) {
    try {
      host.createBridge({
        name: spec.name,
        ...(spec.mtu > 0 ? { mtu: spec.mtu } : {}),
        ...(spec.vlanFiltering ? { vlanFiltering: true } : {}),
      });
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw fail(`could not add ${q(spec.name)}: ${errorText(err)}`, err);
    }
    try {
      br = bridgeByName(host, spec.name);
    } catch (err) {
      throw fail(errorText(err), err);
    }
  } else if (br.kind !== 'bridge') {
    throw fail(`${q(spec.name)} already exists but is not a bridge`);
  }
  if (spec.promiscMode && !br.promisc) {
    try {
      host.setPromisc(br, true);
    } catch (err) {
      throw fail(`could not set promiscuous mode on ${q(spec.name)}: ${errorText(err)}`, err);
    }
  }
  // We own the routes of this interface (failure ignored, as in the reference: IPv6 may be off).
  host.inNetns(() => {
    try {
      writeSysctl(['net', 'ipv6', 'conf', spec.name, 'accept_ra'], '0');
    } catch {
      // no IPv6
    }
  });
  if (!br.up) {
    try {
      host.setLinkUp(br);
    } catch (err) {
      throw fail(errorText(err), err);
    }
  }
  return br;
}

/** The host veth as a bridge port: enslaved, hairpin (always written), isolation (when asked), VLANs. */
export interface PortSpec {
  hairpin: boolean;
  isolated: boolean;
  vlan: PortVlanPlan;
}

export function attachPort(host: Netlink, br: Link, port: Link, spec: PortSpec): void {
  try {
    host.setMaster(port, br);
  } catch (err) {
    throw new Error(`failed to connect ${q(port.name)} to bridge ${br.name}: ${errorText(err)}`, { cause: err });
  }
  try {
    host.setBridgePort(port, { hairpin: spec.hairpin, ...(spec.isolated ? { isolated: true } : {}) });
  } catch (err) {
    const what = spec.isolated ? 'hairpin mode / port isolation' : 'hairpin mode';
    throw new Error(`failed to setup ${what} for ${port.name}: ${errorText(err)}`, { cause: err });
  }
  if (spec.vlan.remove || spec.vlan.add.length > 0) {
    // The plugin runs in the host netns: a socket opened now lives there.
    const sock = NetlinkSocket.open();
    try {
      applyPortVlans(sock, port.index, port.name, spec.vlan);
    } finally {
      sock.close();
    }
  }
}

/** The same address with the same prefix length. */
const sameNet = (a: IPNet, b: IPNet): boolean => equalIP(a.ip, b.ip) && prefixLength(a) === prefixLength(b);

/**
 * The reference's ensureAddr: puts `cidr` (gateway/len) on `link`. An identical address is a no-op.
 * Another IPv4 address, or an overlapping IPv6 one, is an error unless `force` (then it is removed).
 * After adding, the link's MAC (as `link` carries it) is set explicitly so a bridge keeps it as ports
 * come and go.
 */
export function ensureAddr(host: Netlink, link: Link, cidr: string, force: boolean): void {
  const ZERO = '00:00:00:00:00:00';
  const want = mustParsePrefix(cidr);
  for (const a of host.listAddresses({ ifindex: link.index, family: want.ip.family })) {
    const have = mustParsePrefix(a.address);
    if (sameNet(have, want)) return;
    if (want.ip.family === 4 || containsIP(have, want.ip) || containsIP(want, have.ip)) {
      // The network's gateway disagrees with the bridge on the node (another network's, or a
      // changed subnet): the config, not the code, is wrong (the reference: a bare error, 999).
      if (!force) throw new CniError(ErrorCode.InvalidNetworkConfig, `${q(link.name)} already has an IP address different from ${cidr}`);
      try {
        host.deleteAddress(link, a.address);
      } catch (err) {
        throw new Error(`could not remove IP address from ${q(link.name)}: ${errorText(err)}`, { cause: err });
      }
    }
  }
  try {
    host.addAddress(link, cidr);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw new Error(`could not add IP address to ${q(link.name)}: ${errorText(err)}`, { cause: err });
  }
  // `link` is the bridge as it was before the container's port was added: pinning that MAC keeps the
  // bridge from taking the lowest port MAC (as the reference does, with the link it read first). A
  // bridge that had no port then may show an all-zero MAC: pin the current one instead.
  const mac = link.mac && link.mac !== ZERO ? link.mac : host.getLinkByIndex(link.index).mac;
  if (mac && mac !== ZERO) {
    try {
      host.setMac(link, mac);
    } catch (err) {
      throw new Error(`could not set bridge's mac: ${errorText(err)}`, { cause: err });
    }
  }
}

/**
 * The gateway interface of an access VLAN: a veth pair `<bridge>.<vlan>` <-> random peer, both in
 * the host netns, the peer enslaved to the bridge with the VLAN as PVID. Reused when present.
 */
export function ensureVlanInterface(host: Netlink, br: Link, vlan: number, preserveDefaultVlan: boolean): Link {
  const name = `${br.name}.${vlan}`;
  const existing = host.findLink(name);
  if (existing) return existing;
  let pair;
  try {
    pair = setupVeth({ container: host, host, ifName: name, mtu: br.mtu });
    attachPort(host, br, pair.hostVeth, { hairpin: false, isolated: false, vlan: planPortVlans(vlan, [], preserveDefaultVlan) });
  } catch (err) {
    throw new Error(`faild to create vlan gateway ${q(name)}: ${errorText(err)}`, { cause: err });
  }
  try {
    host.setLinkUp(pair.contVeth);
  } catch (err) {
    throw new Error(`failed to up ${q(name)}: ${errorText(err)}`, { cause: err });
  }
  return host.getLink(name);
}

/** ip_forward (IPv4) or conf/all/forwarding (IPv6) = 1, written only when not already 1. */
export function enableForwarding(host: Netlink, family: Family): void {
  const key = family === 4 ? ['net', 'ipv4', 'ip_forward'] : ['net', 'ipv6', 'conf', 'all', 'forwarding'];
  host.inNetns(() => {
    if (readSysctl(key) === '1') return;
    writeSysctl(key, '1');
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for the host veth to be operationally UP (the reference polls 0/50/500/1000/1000 ms and then
 * fails with "bridge port in error state: <state>"). Same 2.55 s budget, polled finely so a port
 * that comes up quickly costs milliseconds, not 50.
 */
export async function waitPortUp(host: Netlink, portIndex: number, budgetMs = 2550): Promise<Link> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const link = host.getLinkByIndex(portIndex);
    if (link.operstate === 'up') return link;
    if (Date.now() >= deadline) throw new Error(`bridge port in error state: ${link.operstate}`);
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
  }
}
