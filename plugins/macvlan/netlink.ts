// The macvlan RTM_NEWLINK request, built here because it may carry IFLA_MACVLAN_BC_QUEUE_LEN
// (`bcqueuelen`), which the shared builder does not set. Pure builder + a send helper.
import { IFLA_MACVLAN_MODE } from '../../shared/netlink/constants.js';
import { newLinkMessage } from '../../shared/netlink/link-build.js';
import { MACVLAN_MODES, type MacvlanMode } from '../../shared/netlink/link-types.js';
import type { MessageBuilder } from '../../shared/netlink/message.js';
import { withNetns, type NetnsHandle } from '../../shared/netlink/index.js';
import { NetlinkSocket } from '../../shared/netlink/socket.js';

/** linux/if_link.h: IFLA_MACVLAN_BC_QUEUE_LEN (kernel 5.11+). */
export const IFLA_MACVLAN_BC_QUEUE_LEN = 7;

export interface MacvlanRequest {
  name: string;
  masterIndex: number;
  mode: MacvlanMode;
  /** 0/undefined: inherit the master's (no IFLA_MTU sent, like the reference library). */
  mtu?: number;
  mac?: string;
  /** 0/undefined: kernel default (attribute not sent). */
  bcQueueLen?: number;
  /** fd of the netns the link is created in (IFLA_NET_NS_FD); undefined: the socket's netns. */
  netnsFd?: number;
}

export function buildMacvlanRequest(r: MacvlanRequest): MessageBuilder {
  const mode = MACVLAN_MODES[r.mode];
  return newLinkMessage(
    'macvlan',
    { name: r.name, ...(r.mtu ? { mtu: r.mtu } : {}), ...(r.mac ? { mac: r.mac } : {}) },
    {
      linkIndex: r.masterIndex,
      ...(r.netnsFd !== undefined ? { netnsFd: r.netnsFd } : {}),
      data: (b) => {
        b.u32(IFLA_MACVLAN_MODE, mode);
        if (r.bcQueueLen) b.u32(IFLA_MACVLAN_BC_QUEUE_LEN, r.bcQueueLen);
      },
    },
  );
}

/** Sends the request from a socket opened in `socketNetns` (the master's netns; undefined = ours). */
export function sendMacvlanRequest(r: MacvlanRequest, socketNetns: NetnsHandle | undefined): void {
  const sock = socketNetns ? withNetns(socketNetns, () => NetlinkSocket.open()) : NetlinkSocket.open();
  try {
    sock.ack(buildMacvlanRequest(r), `link add ${r.name} type macvlan`);
  } finally {
    sock.close();
  }
}
