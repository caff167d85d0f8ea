// The operation-level API: one Netlink handle per network namespace (its socket is created inside
// that namespace, so no call needs setns afterwards).
import {
  AF_BRIDGE, AF_UNSPEC, IFF_ALLMULTI, IFF_PROMISC, IFF_UP, IFLA_ADDRESS, IFLA_ALT_IFNAME, IFLA_IFALIAS, IFLA_IFNAME, IFLA_MASTER,
  IFLA_MTU, IFLA_NET_NS_FD, IFLA_TXQLEN, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK,
} from './constants.js';
import {
  type AddAddressOptions, type Address, buildAddAddress, buildDeleteAddress, buildListAddresses, parseAddress,
} from './addresses.js';
import { type BridgePortSettings, type BridgeVlanOptions, buildBridgePortSettings, buildBridgeVlan } from './bridge.js';
import { isErrno } from './errors.js';
import type { Family } from '../ip/index.js';
import { parseMac } from './ipaddr.js';
import {
  buildBridge, buildDummy, buildIfb, buildIpvlan, buildMacvlan, buildVeth, buildVlan, buildVrf, checkIfName, ifinfomsg,
} from './link-build.js';
import { parseLink } from './link-parse.js';
import type {
  BridgeOptions, DummyOptions, IfbOptions, IpvlanOptions, Link, LinkRef, MacvlanOptions, NetnsRef, VethOptions, VlanOptions,
  VrfOptions,
} from './link-types.js';
import { MessageBuilder } from './message.js';
import {
  buildAddNeighbor, buildDeleteNeighbor, buildListNeighbors, type Neighbor, type NeighborSpec, parseNeighbor,
} from './neighbors.js';
import { NetnsHandle, openNetns, withNetns } from './netns.js';
import { buildListRoutes, buildRoute, parseRoutes, type Route, type RouteSpec } from './routes.js';
import { buildListRules, buildRule, parseRule, type Rule, type RuleSpec } from './rules.js';
import { NetlinkSocket } from './socket.js';
import { createTuntap, type TuntapOptions } from './tuntap.js';

const indexOf = (l: LinkRef): number => (typeof l === 'number' ? l : l.index);

/** Opens a NetnsRef as an fd for the duration of `fn` (paths are opened and closed here). */
function withNetnsFd<T>(ref: NetnsRef | undefined, fn: (fd: number | undefined) => T): T {
  if (ref === undefined) return fn(undefined);
  if (typeof ref === 'number') return fn(ref);
  if (ref instanceof NetnsHandle) return fn(ref.fd);
  const h = openNetns(ref);
  try {
    return fn(h.fd);
  } finally {
    h.close();
  }
}

export interface ListAddressesFilter {
  ifindex?: number;
  family?: Family;
}

export interface ListRoutesFilter {
  /** Default: main table (254). Pass 0 for every table. */
  table?: number;
  family?: Family;
  ifindex?: number;
}

export interface ListNeighborsFilter {
  ifindex?: number;
  family?: Family;
}

export class Netlink {
  /** The namespace this handle acts in (undefined: the one current when it was opened). */
  readonly netns: string | NetnsHandle | undefined;
  private readonly sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket, netns: string | NetnsHandle | undefined) {
    this.sock = sock;
    this.netns = netns;
  }

  /** Opens a handle acting in `netns` (a path or open handle), or in the current namespace. */
  static open(netns?: string | NetnsHandle): Netlink {
    const sock = netns === undefined ? NetlinkSocket.open() : withNetns(netns, () => NetlinkSocket.open());
    return new Netlink(sock, netns);
  }

  close(): void {
    this.sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Runs synchronous `fn` inside this handle's namespace (sysctls, tun devices ...). */
  inNetns<T>(fn: () => T): T {
    return this.netns === undefined ? fn() : withNetns(this.netns, fn);
  }

  // ---- links -------------------------------------------------------------------------------

  /** The link named `name`; throws a NetlinkError with code ENODEV when there is none. */
  getLink(name: string): Link {
    const b = new MessageBuilder(RTM_GETLINK, 0).fixed(ifinfomsg(AF_UNSPEC));
    // Names past IFNAMSIZ can only be alternative names, looked up through their own attribute.
    if (Buffer.byteLength(name) < 16) b.str(IFLA_IFNAME, name);
    else b.str(IFLA_ALT_IFNAME, name);
    return this.sock.get(b, `link get ${name}`, parseLink);
  }

  /** The link named `name`, or undefined when there is none. */
  findLink(name: string): Link | undefined {
    try {
      return this.getLink(name);
    } catch (err) {
      if (isErrno(err, 'ENODEV')) return undefined;
      throw err;
    }
  }

  /** The link with that index; throws ENODEV when there is none. */
  getLinkByIndex(index: number): Link {
    return this.sock.get(new MessageBuilder(RTM_GETLINK, 0).fixed(ifinfomsg(AF_UNSPEC, index)), `link get index ${index}`, parseLink);
  }

  findLinkByIndex(index: number): Link | undefined {
    try {
      return this.getLinkByIndex(index);
    } catch (err) {
      if (isErrno(err, 'ENODEV')) return undefined;
      throw err;
    }
  }

  listLinks(): Link[] {
    return this.sock.dump(new MessageBuilder(RTM_GETLINK, 0).fixed(ifinfomsg(AF_UNSPEC)), 'link list', parseLink);
  }

  /** Creates a veth pair here; the peer goes straight into `peerNetns` when given. */
  createVeth(o: VethOptions): void {
    withNetnsFd(o.peerNetns, (fd) => this.sock.ack(buildVeth(o, fd), `link add ${o.name} type veth peer ${o.peerName}`));
  }

  createBridge(o: BridgeOptions): void {
    this.sock.ack(buildBridge(o), `link add ${o.name} type bridge`);
  }

  /** Creates a macvlan over `masterIndex` (a link of this namespace), optionally directly in `netns`. */
  createMacvlan(o: MacvlanOptions): void {
    withNetnsFd(o.netns, (fd) => this.sock.ack(buildMacvlan(o, fd), `link add ${o.name} type macvlan`));
  }

  createIpvlan(o: IpvlanOptions): void {
    withNetnsFd(o.netns, (fd) => this.sock.ack(buildIpvlan(o, fd), `link add ${o.name} type ipvlan`));
  }

  createVlan(o: VlanOptions): void {
    withNetnsFd(o.netns, (fd) => this.sock.ack(buildVlan(o, fd), `link add ${o.name} type vlan`));
  }

  createDummy(o: DummyOptions): void {
    withNetnsFd(o.netns, (fd) => this.sock.ack(buildDummy(o, fd), `link add ${o.name} type dummy`));
  }

  /** Creates a VRF device bound to routing table `o.table` (needs CONFIG_NET_VRF). */
  createVrf(o: VrfOptions): void {
    this.sock.ack(buildVrf(o), `link add ${o.name} type vrf table ${o.table}`);
  }

  /** Creates an ifb device in this handle's namespace. */
  createIfb(o: IfbOptions): void {
    this.sock.ack(buildIfb(o), `link add ${o.name} type ifb`);
  }

  /** Creates a persistent tun/tap device in this handle's namespace (via /dev/net/tun, not netlink). */
  createTuntap(o: TuntapOptions): void {
    this.inNetns(() => createTuntap(o));
  }

  deleteLink(link: LinkRef): void {
    const i = indexOf(link);
    this.sock.ack(new MessageBuilder(RTM_DELLINK, 0).fixed(ifinfomsg(AF_UNSPEC, i)), `link del index ${i}`);
  }

  private setLink(link: LinkRef, op: string, fill?: (b: MessageBuilder) => void, flags = 0, change = 0): void {
    const i = indexOf(link);
    const b = new MessageBuilder(RTM_SETLINK, 0).fixed(ifinfomsg(AF_UNSPEC, i, flags, change));
    fill?.(b);
    this.sock.ack(b, `link set index ${i} ${op}`);
  }

  setLinkUp(link: LinkRef): void {
    this.setLink(link, 'up', undefined, IFF_UP, IFF_UP);
  }

  setLinkDown(link: LinkRef): void {
    this.setLink(link, 'down', undefined, 0, IFF_UP);
  }

  setMtu(link: LinkRef, mtu: number): void {
    this.setLink(link, `mtu ${mtu}`, (b) => b.u32(IFLA_MTU, mtu));
  }

  setMac(link: LinkRef, mac: string): void {
    const bytes = parseMac(mac);
    this.setLink(link, `address ${mac}`, (b) => b.bytes(IFLA_ADDRESS, bytes));
  }

  /** Enslaves to `masterIndex` (a bridge); 0 releases the link from its master. */
  setMaster(link: LinkRef, master: LinkRef | 0): void {
    const m = master === 0 ? 0 : indexOf(master);
    this.setLink(link, m ? `master ${m}` : 'nomaster', (b) => b.u32(IFLA_MASTER, m));
  }

  rename(link: LinkRef, newName: string): void {
    checkIfName(newName);
    this.setLink(link, `name ${newName}`, (b) => b.str(IFLA_IFNAME, newName));
  }

  /** Moves the link into another namespace (it keeps its name; EEXIST if taken there). */
  moveToNetns(link: LinkRef, netns: NetnsRef): void {
    withNetnsFd(netns, (fd) => this.setLink(link, 'netns', (b) => b.u32(IFLA_NET_NS_FD, fd as number)));
  }

  setPromisc(link: LinkRef, on: boolean): void {
    this.setLink(link, on ? 'promisc on' : 'promisc off', undefined, on ? IFF_PROMISC : 0, IFF_PROMISC);
  }

  /** Receive all multicast (IFF_ALLMULTI); read it back from `(link.flags & IFF_ALLMULTI) !== 0`. */
  setAllmulti(link: LinkRef, on: boolean): void {
    this.setLink(link, on ? 'allmulticast on' : 'allmulticast off', undefined, on ? IFF_ALLMULTI : 0, IFF_ALLMULTI);
  }

  /** Sets the alias; an empty string removes it. */
  setAlias(link: LinkRef, alias: string): void {
    this.setLink(link, 'alias', (b) => b.rawStr(IFLA_IFALIAS, alias));
  }

  setTxQLen(link: LinkRef, qlen: number): void {
    this.setLink(link, `txqueuelen ${qlen}`, (b) => b.u32(IFLA_TXQLEN, qlen));
  }

  // ---- bridge ports ------------------------------------------------------------------------

  /** Changes bridge port settings of an enslaved link (read them back from getLink(...).bridgePort). */
  setBridgePort(port: LinkRef, s: BridgePortSettings): void {
    const i = indexOf(port);
    this.sock.ack(buildBridgePortSettings(i, s), `bridge port set index ${i}`);
  }

  setHairpin(port: LinkRef, on: boolean): void {
    this.setBridgePort(port, { hairpin: on });
  }

  setIsolated(port: LinkRef, on: boolean): void {
    this.setBridgePort(port, { isolated: on });
  }

  /** Adds a VLAN to a bridge port (needs a VLAN-filtering bridge). */
  addBridgeVlan(port: LinkRef, vid: number, o: BridgeVlanOptions = {}): void {
    const i = indexOf(port);
    this.sock.ack(buildBridgeVlan(i, vid, o), `bridge vlan add vid ${vid} index ${i}`);
  }

  deleteBridgeVlan(port: LinkRef, vid: number, o: BridgeVlanOptions = {}): void {
    const i = indexOf(port);
    this.sock.ack(buildBridgeVlan(i, vid, o, true), `bridge vlan del vid ${vid} index ${i}`);
  }

  /** Links as the bridge layer reports them (AF_BRIDGE dump: bridges and their ports, with IFLA_PROTINFO). */
  listBridgePorts(): Link[] {
    return this.sock.dump(new MessageBuilder(RTM_GETLINK, 0).fixed(ifinfomsg(AF_BRIDGE)), 'bridge link list', parseLink);
  }

  // ---- addresses ---------------------------------------------------------------------------

  /** Adds "ip/len" to the link (EEXIST when already there, unless opts.replace). */
  addAddress(link: LinkRef, cidr: string, opts: AddAddressOptions = {}): void {
    const i = indexOf(link);
    this.sock.ack(buildAddAddress(i, cidr, opts), `addr add ${cidr} dev index ${i}`);
  }

  deleteAddress(link: LinkRef, cidr: string): void {
    const i = indexOf(link);
    this.sock.ack(buildDeleteAddress(i, cidr), `addr del ${cidr} dev index ${i}`);
  }

  listAddresses(filter: ListAddressesFilter = {}): Address[] {
    const all = this.sock.dump(buildListAddresses(filter.family), 'addr list', parseAddress);
    return filter.ifindex === undefined ? all : all.filter((a) => a.ifindex === filter.ifindex);
  }

  // ---- routes ------------------------------------------------------------------------------

  /** Adds a route; EEXIST when one with the same key exists. */
  addRoute(r: RouteSpec): void {
    this.sock.ack(buildRoute(r, 'add'), `route add ${describeRoute(r)}`);
  }

  /**
   * Adds a route without NLM_F_EXCL, like the reference's RouteAddEcmp: an IPv6 route with the
   * same destination and metric gains this gateway as another next hop; an identical one is EEXIST.
   */
  addRouteEcmp(r: RouteSpec): void {
    this.sock.ack(buildRoute(r, 'ecmp'), `route add ${describeRoute(r)}`);
  }

  /** Adds or replaces the route with the same key. */
  replaceRoute(r: RouteSpec): void {
    this.sock.ack(buildRoute(r, 'replace'), `route replace ${describeRoute(r)}`);
  }

  /** Appends a route even when one with the same key exists (IPv6: becomes an ECMP next hop). */
  appendRoute(r: RouteSpec): void {
    this.sock.ack(buildRoute(r, 'append'), `route append ${describeRoute(r)}`);
  }

  /** Deletes the first route matching the fields given (ESRCH when none matches). */
  deleteRoute(r: RouteSpec): void {
    this.sock.ack(buildRoute(r, 'delete'), `route del ${describeRoute(r)}`);
  }

  /** Routes of one table (default main; 0 = all), multipath routes flattened to one entry per next hop. */
  listRoutes(filter: ListRoutesFilter = {}): Route[] {
    const table = filter.table ?? 254;
    const out: Route[] = [];
    for (const rs of this.sock.dump(buildListRoutes(filter.family), 'route list', parseRoutes)) {
      for (const r of rs) {
        if (table !== 0 && r.table !== table) continue;
        if (filter.ifindex !== undefined && r.ifindex !== filter.ifindex) continue;
        out.push(r);
      }
    }
    return out;
  }

  // ---- policy routing rules ----------------------------------------------------------------

  /** Adds a rule (EEXIST when an identical one exists); without a priority the kernel picks one. */
  addRule(r: RuleSpec): void {
    this.sock.ack(buildRule(r, 'add'), `rule add ${describeRule(r)}`);
  }

  /** Deletes the first rule matching every field given (ENOENT when none does). */
  deleteRule(r: RuleSpec): void {
    this.sock.ack(buildRule(r, 'delete'), `rule del ${describeRule(r)}`);
  }

  /** Rules of one family, or of both when family is undefined, in the kernel's order. */
  listRules(family?: Family): Rule[] {
    return this.sock.dump(buildListRules(family), 'rule list', parseRule);
  }

  // ---- neighbours --------------------------------------------------------------------------

  addNeighbor(n: NeighborSpec): void {
    this.sock.ack(buildAddNeighbor(n, false), `neigh add ${n.ip} lladdr ${n.mac} dev index ${n.ifindex}`);
  }

  /** Adds or updates a neighbour entry. */
  replaceNeighbor(n: NeighborSpec): void {
    this.sock.ack(buildAddNeighbor(n, true), `neigh replace ${n.ip} lladdr ${n.mac} dev index ${n.ifindex}`);
  }

  deleteNeighbor(link: LinkRef, ip: string): void {
    const i = indexOf(link);
    this.sock.ack(buildDeleteNeighbor(i, ip), `neigh del ${ip} dev index ${i}`);
  }

  listNeighbors(filter: ListNeighborsFilter = {}): Neighbor[] {
    const all = this.sock.dump(buildListNeighbors(filter.family), 'neigh list', parseNeighbor);
    return filter.ifindex === undefined ? all : all.filter((n) => n.ifindex === filter.ifindex);
  }
}

function describeRule(r: RuleSpec): string {
  let s = r.priority !== undefined ? `pref ${r.priority} ` : '';
  s += `from ${r.src ?? 'all'}`;
  if (r.dst !== undefined) s += ` to ${r.dst}`;
  return `${s} lookup ${r.table}`;
}

function describeRoute(r: RouteSpec): string {
  let s = r.dst;
  if (r.gw !== undefined) s += ` via ${r.gw}`;
  if (r.ifindex !== undefined) s += ` dev index ${r.ifindex}`;
  if (r.table !== undefined) s += ` table ${r.table}`;
  return s;
}
