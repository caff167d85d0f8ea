// Where a container interface meets the daemon's own netns (the node): the bridge its veth peer is
// a port of, or the master of a macvlan/ipvlan. The bridge plugin deletes the container veth before
// it calls IPAM DEL (as the reference does), so at release time the lease's interface is gone;
// the DHCPRELEASE then goes out on this uplink instead (same client MAC, address and client id),
// and the server frees the address at once instead of at lease expiry.
import fs from 'node:fs';
import { type Link, Netlink, withNetns } from '../../shared/netlink/index.js';
import { MessageBuilder } from '../../shared/netlink/message.js';
import { NetlinkSocket } from '../../shared/netlink/socket.js';

export interface Uplink {
  index: number;
  name: string;
}

const RTM_NEWNSID = 88;
const RTM_GETNSID = 90;
const NETNSA_NSID = 1;
const NETNSA_FD = 3;

/**
 * The id the namespace `netns` gives the daemon's own netns (RTM_GETNSID with NETNSA_FD), or
 * undefined when it has none. Compared with a link's IFLA_LINK_NETNSID, it tells whether the
 * link's peer or master lives in the daemon's netns.
 */
export function idOfOwnNetnsIn(netns: string): number | undefined {
  const sock = withNetns(netns, () => NetlinkSocket.open());
  const own = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    const req = new MessageBuilder(RTM_GETNSID, 0).fixed(new Uint8Array(4)).u32(NETNSA_FD, own);
    const id = sock.get(req, 'get netns id', (m) => {
      if (m.type !== RTM_NEWNSID) return undefined;
      // struct rtgenmsg (4 bytes, aligned), then attributes.
      for (let at = 4; at + 4 <= m.payload.length; ) {
        const len = m.payload.readUInt16LE(at);
        const type = m.payload.readUInt16LE(at + 2) & 0x3fff;
        if (len < 4) break;
        if (type === NETNSA_NSID && len >= 8) return m.payload.readInt32LE(at + 4);
        at += (len + 3) & ~3;
      }
      return undefined;
    });
    return id >= 0 ? id : undefined;
  } finally {
    fs.closeSync(own);
    sock.close();
  }
}

function pick(own: Netlink, cont: Link): Link | undefined {
  const peer = own.findLinkByIndex(cont.linkIndex!);
  if (!peer) return undefined;
  if (cont.kind === 'veth') {
    // The peer must point back at the container end; a veth dies with its peer, so only the
    // bridge it is a port of can carry the release.
    if (peer.kind !== 'veth' || peer.linkIndex !== cont.index || peer.masterIndex === undefined) return undefined;
    const master = own.findLinkByIndex(peer.masterIndex);
    return master?.kind === 'bridge' ? master : undefined;
  }
  return peer.hwType === 1 ? peer : undefined;
}

/** The uplink of `ifName` in `netns` (a path the daemon can open), or undefined when there is none. */
export function findUplink(netns: string, ifName: string): Uplink | undefined {
  try {
    let cont: Link | undefined;
    const cnl = Netlink.open(netns);
    try {
      cont = cnl.findLink(ifName);
    } finally {
      cnl.close();
    }
    if (!cont || cont.linkIndex === undefined || cont.linkNetnsId === undefined) return undefined;
    if (idOfOwnNetnsIn(netns) !== cont.linkNetnsId) return undefined;
    const own = Netlink.open();
    try {
      const up = pick(own, cont);
      return up ? { index: up.index, name: up.name } : undefined;
    } finally {
      own.close();
    }
  } catch {
    return undefined;
  }
}

/** The uplink as recorded, if it still is that link (same index and name) and is up. */
export function currentUplink(u: Uplink): Uplink | undefined {
  try {
    const own = Netlink.open();
    try {
      const l = own.findLinkByIndex(u.index);
      return l && l.name === u.name && l.up ? u : undefined;
    } finally {
      own.close();
    }
  } catch {
    return undefined;
  }
}
