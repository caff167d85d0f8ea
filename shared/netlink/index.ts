/**
 * rtnetlink, network namespaces and sysctls for the plugins: synchronous, in-process (node:ffi),
 * no helper processes.
 *
 * Namespaces
 *   withNetns(pathOrHandle, fn)      run synchronous fn inside a netns; always returns to the caller's netns
 *   openNetns(path): NetnsHandle     open + verify a netns file (fd for IFLA_NET_NS_FD / setns); .close()
 *   NetnsError {kind: 'missing' | 'not-netns' | 'open-failed' | 'setns-failed' | 'restore-failed', isMissing}
 *                                    'missing' = ENOENT (DEL may succeed); others map to CNI code 8
 *   netnsIdentity(path)              "dev:ino", equal for two paths naming one netns
 *
 * Netlink handle (one socket, bound to the netns it was opened in)
 *   Netlink.open(netns?) / close() / inNetns(fn)
 *   links:   getLink(name) (throws ENODEV), findLink(name) (undefined), getLinkByIndex(i), findLinkByIndex(i),
 *            listLinks(), createVeth({name, peerName, peerNetns?, mtu?, mac?, peerMac?, peerMtu?}),
 *            createBridge({name, mtu?, mac?, vlanFiltering?, vlanDefaultPvid?}),
 *            createMacvlan({name, masterIndex, mode, mtu?, mac?, bcQueueLen?, netns?}), createIpvlan, createVlan, createDummy,
 *            createTuntap({name, mode, ...}), deleteLink(l), setLinkUp(l), setLinkDown(l), setMtu(l, n),
 *            setMac(l, mac), setMaster(l, master|0), rename(l, name), moveToNetns(l, netns), setPromisc(l, on),
 *            setAlias(l, s), setTxQLen(l, n), setAllmulti(l, on)
 *   bridge:  setBridgePort(l, {hairpin?, isolated?, learning?, unicastFlood?}), setHairpin, setIsolated,
 *            addBridgeVlan(l, vid, {pvid?, untagged?, self?}), deleteBridgeVlan, listBridgePorts()
 *   addrs:   addAddress(l, cidr, {noDad?, scope?, label?, broadcast?, noPrefixRoute?, replace?}),
 *            deleteAddress(l, cidr), listAddresses({ifindex?, family?})
 *   routes:  addRoute(spec), addRouteEcmp(spec), replaceRoute(spec), appendRoute(spec), deleteRoute(spec),
 *            listRoutes({table? (default 254, 0 = all), family?, ifindex?})
 *   neigh:   addNeighbor({ifindex, ip, mac, state?}), replaceNeighbor, deleteNeighbor(l, ip), listNeighbors(filter)
 *   `l` is an ifindex or any object with `.index` (a Link).
 *
 * Errors: kernel refusals throw NetlinkError (extends SysError from shared/sys/libc.ts) with errno, code
 * ("EEXIST"), op and the kernel's extended-ACK text: "link add veth0 type veth peer x: EEXIST (File exists)".
 * isErrno(err, 'ENODEV') tests one. Invalid input (bad CIDR, name, MAC) throws TypeError before any I/O.
 * Addresses are text ("10.1.2.3/24", "fd31::1") parsed and printed by shared/ip, the suite's one model.
 *
 * Veth (reference SetupVeth): setupVeth({container, host, ifName, hostVethName?, mtu?, mac?}) -> {hostVeth, contVeth}
 *   creates the pair from the container handle with the host end ("veth" + 8 hex, retried on collision)
 *   placed directly in the host handle's netns, sets it up and writes accept_ra=0 there.
 *
 * Sysctl: sysctlPath(name | parts), readSysctl, writeSysctl — act in the netns current at the call,
 * so use them inside withNetns / handle.inNetns. Pass parts (['net','ipv4','conf',ifname,'arp_notify'])
 * when a part may contain dots.
 */
export { withNetns, openNetns, NetnsHandle, NetnsError, netnsIdentity, type NetnsErrorKind } from './netns.js';
export { Netlink, type ListAddressesFilter, type ListRoutesFilter, type ListNeighborsFilter } from './handle.js';
export { NetlinkError, isErrno } from './errors.js';
export type {
  Link, LinkRef, NetnsRef, OperState, MacvlanMode, IpvlanMode, IpvlanFlag, BridgeInfo, BridgePortInfo,
  CommonLinkOptions, VethOptions, BridgeOptions, MacvlanOptions, IpvlanOptions, VlanOptions, DummyOptions, VrfOptions,
} from './link-types.js';
export type { Address, AddressFlags, AddAddressOptions } from './addresses.js';
export type { Route, RouteSpec } from './routes.js';
export { routeSpecInTable } from './routes.js';
export type { Rule, RuleSpec } from './rules.js';
export type { Neighbor, NeighborSpec } from './neighbors.js';
export type { BridgePortSettings, BridgeVlanOptions } from './bridge.js';
export type { TuntapOptions } from './tuntap.js';
export { sysctlPath, readSysctl, writeSysctl } from './sysctl.js';
export { setupVeth, randomVethName, type SetupVethOptions, type VethPair } from './veth.js';
export { formatMac, parseMac } from './ipaddr.js';
// The suite's one address family type (shared/ip), re-exported for the Address/Route/Neighbor filters.
export type { Family } from '../ip/index.js';
export {
  RT_SCOPE_UNIVERSE, RT_SCOPE_SITE, RT_SCOPE_LINK, RT_SCOPE_HOST, RT_TABLE_MAIN, RT_TABLE_LOCAL,
  RTN_UNICAST, RTN_LOCAL, RTN_BLACKHOLE, RTN_UNREACHABLE, RTPROT_BOOT, RTPROT_KERNEL, RTPROT_STATIC,
  NUD_PERMANENT, NUD_REACHABLE, NUD_STALE, NUD_NOARP, IFF_UP, IFF_LOWER_UP, IFF_PROMISC, IFF_ALLMULTI,
} from './constants.js';
