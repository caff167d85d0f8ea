// The typed view of a network interface, and the options of the link builders.
import type { NetnsHandle } from './netns.js';

export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
export const OPER_STATES: readonly OperState[] = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
export const MACVLAN_MODES: Readonly<Record<MacvlanMode, number>> = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 };

export type IpvlanMode = 'l2' | 'l3' | 'l3s';
export const IPVLAN_MODES: Readonly<Record<IpvlanMode, number>> = { l2: 0, l3: 1, l3s: 2 };
export type IpvlanFlag = 'bridge' | 'private' | 'vepa';
export const IPVLAN_FLAGS: Readonly<Record<IpvlanFlag, number>> = { bridge: 0, private: 1, vepa: 2 };

/** Settings of a bridge device (kind "bridge"). */
export interface BridgeInfo {
  vlanFiltering: boolean;
  vlanDefaultPvid?: number;
  stpState?: number;
}

/** Settings of a port enslaved to a bridge (slave kind "bridge"). */
export interface BridgePortInfo {
  hairpin: boolean;
  isolated: boolean;
  /** STP port state: 0 disabled, 1 listening, 2 learning, 3 forwarding, 4 blocking. */
  state?: number;
  learning?: boolean;
  unicastFlood?: boolean;
}

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "veth", "bridge", "macvlan" ...; undefined for plain devices (lo, physical NICs). */
  kind?: string;
  /** IFLA_INFO_SLAVE_KIND: "bridge" when enslaved to a bridge. */
  slaveKind?: string;
  /** ARPHRD_* hardware type (1 ether, 772 loopback, 65534 none/tun). */
  hwType: number;
  /** Lowercase colon-separated hardware address. */
  mac?: string;
  broadcast?: string;
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Raw IFF_* flags. */
  flags: number;
  operstate: OperState;
  /** IFLA_MASTER: the bridge (or other master) index. */
  masterIndex?: number;
  /** IFLA_LINK: the lower/peer device index (veth peer, macvlan master), in the netns named by linkNetnsId. */
  linkIndex?: number;
  /** IFLA_LINK_NETNSID: set when linkIndex refers to another namespace. */
  linkNetnsId?: number;
  txQLen: number;
  /** IFF_PROMISC is set (by the user or because a bridge holds the port promiscuous). */
  promisc: boolean;
  /** The kernel's promiscuity reference count. */
  promiscuity: number;
  alias?: string;
  macvlanMode?: MacvlanMode;
  ipvlanMode?: IpvlanMode;
  vlanId?: number;
  /** IFLA_VRF_TABLE of a VRF device (kind "vrf"). */
  vrfTable?: number;
  bridge?: BridgeInfo;
  bridgePort?: BridgePortInfo;
}

/** A namespace to place something in: an open fd, a path, or a handle from openNetns. */
export type NetnsRef = number | string | NetnsHandle;

/** A link to act on: its index, or any object carrying one (a Link). */
export type LinkRef = number | { readonly index: number };

/** Settings every link builder accepts. */
export interface CommonLinkOptions {
  name: string;
  mtu?: number;
  mac?: string;
  txQLen?: number;
}

export interface VethOptions extends CommonLinkOptions {
  peerName: string;
  /** Creates the peer directly in this namespace. */
  peerNetns?: NetnsRef;
  peerMac?: string;
  /** Peer MTU; defaults to `mtu` (the reference gives both ends the same MTU). */
  peerMtu?: number;
}

export interface BridgeOptions extends CommonLinkOptions {
  vlanFiltering?: boolean;
  vlanDefaultPvid?: number;
}

export interface MacvlanOptions extends CommonLinkOptions {
  masterIndex: number;
  mode: MacvlanMode;
  /**
   * IFLA_MACVLAN_BC_QUEUE_LEN (kernel 5.11+): sent only when given. Sending 0 is not the same as
   * leaving it out (the kernel then keeps its default of 1000), so callers omit it for "default".
   */
  bcQueueLen?: number;
  /** Creates the macvlan directly in this namespace (the master stays in the socket's). */
  netns?: NetnsRef;
}

export interface IpvlanOptions extends CommonLinkOptions {
  masterIndex: number;
  mode: IpvlanMode;
  flag?: IpvlanFlag;
  netns?: NetnsRef;
}

export interface VlanOptions extends CommonLinkOptions {
  masterIndex: number;
  vlanId: number;
  /** 0x8100 (802.1Q, default) or 0x88a8 (802.1ad). */
  protocol?: number;
  netns?: NetnsRef;
}

export interface DummyOptions extends CommonLinkOptions {
  netns?: NetnsRef;
}

export interface VrfOptions extends CommonLinkOptions {
  /** The routing table the VRF device binds (IFLA_VRF_TABLE). */
  table: number;
}

export interface IfbOptions extends CommonLinkOptions {
  /** Created administratively up (IFF_UP in the request), as the reference creates its ifb. */
  up?: boolean;
}
