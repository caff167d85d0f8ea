// The veth setup the bridge and ptp plugins share (reference pkg/ip SetupVeth): the pair is created
// from the container netns with the host end placed directly in the host netns under a random
// "veth" + 8 hex name, then the host end is brought up with accept_ra=0. No txqueuelen is sent, so
// both ends get the kernel default (1000), as the latest reference does (containernetworking/plugins
// #1100); Debian's 1.1.1 sent 0.
import { randomBytes } from '../sys/random.js';
import { isErrno } from './errors.js';
import type { Netlink } from './handle.js';
import type { Link, NetnsRef } from './link-types.js';
import { writeSysctl } from './sysctl.js';
import { errorText } from '../sys/error-text.js';

export interface SetupVethOptions {
  /** Handle of the container netns: the container end is created here. */
  container: Netlink;
  /** Handle of the host netns: the host end lands here. */
  host: Netlink;
  /** Container-side interface name (CNI_IFNAME). */
  ifName: string;
  /** Host-side name; random "veth%08x" (retried on collision) when absent. */
  hostVethName?: string;
  /** MTU of both ends. */
  mtu?: number;
  /** Container-side MAC. */
  mac?: string;
}

export interface VethPair {
  hostVeth: Link;
  contVeth: Link;
}

/** "veth" + 8 lowercase hex characters from 4 random bytes. */
export function randomVethName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}

const ATTEMPTS = 10;

/** The host handle's namespace as something createVeth accepts (its path, or the current netns). */
function hostNetnsOf(host: Netlink): NetnsRef {
  return host.netns ?? '/proc/thread-self/ns/net';
}

/** Creates the pair; errors carry the reference's wording so plugins can pass them on unchanged. */
export function setupVeth(o: SetupVethOptions): VethPair {
  let hostName = '';
  let created = false;
  for (let attempt = 0; attempt < ATTEMPTS && !created; attempt++) {
    hostName = o.hostVethName ?? randomVethName();
    try {
      o.container.createVeth({ name: o.ifName, peerName: hostName, peerNetns: hostNetnsOf(o.host), mtu: o.mtu, mac: o.mac });
      created = true;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw new Error(`failed to make veth pair: ${errorText(err)}`, { cause: err });
      // Only a collision of a name we drew ourselves is worth another draw.
      const retry = o.hostVethName === undefined && o.host.findLink(hostName) !== undefined && o.container.findLink(o.ifName) === undefined;
      if (!retry) throw new Error(`container veth name ("${o.ifName}") peer provided ("${hostName}") already exists`, { cause: err });
    }
  }
  if (!created) throw new Error('failed to find a unique veth name');

  const contVeth = o.container.getLink(o.ifName);

  let hostVeth: Link;
  try {
    hostVeth = o.host.getLink(hostName);
  } catch (err) {
    throw new Error(`failed to lookup "${hostName}" in "${String(o.host.netns ?? 'current netns')}": ${errorText(err)}`, { cause: err });
  }
  try {
    o.host.setLinkUp(hostVeth);
  } catch (err) {
    throw new Error(`failed to set "${hostName}" up: ${errorText(err)}`, { cause: err });
  }
  // The plugin owns this interface's routes; a failure here is ignored, as in the reference.
  try {
    o.host.inNetns(() => writeSysctl(['net', 'ipv6', 'conf', hostName, 'accept_ra'], '0'));
  } catch {
    // IPv6 may be disabled in the host netns
  }
  return { hostVeth: o.host.getLink(hostName), contVeth };
}
