// VLANs of the bridge port: the vlanTrunk validation of the reference (its exact messages), the
// per-port VLAN plan (access VLAN, trunk VLANs, removal of the default VLAN), and the rtnetlink
// messages that apply it: RTM_SETLINK / RTM_DELLINK of family AF_BRIDGE carrying
// IFLA_AF_SPEC { IFLA_BRIDGE_FLAGS = BRIDGE_FLAGS_MASTER, IFLA_BRIDGE_VLAN_INFO {flags, vid} },
// and the VLAN listing (RTM_GETLINK dump, AF_BRIDGE, IFLA_EXT_MASK = RTEXT_FILTER_BRVLAN).
import {
  AF_BRIDGE, BRIDGE_FLAGS_MASTER, BRIDGE_VLAN_INFO_PVID, BRIDGE_VLAN_INFO_UNTAGGED, IFINFOMSG_LEN, IFLA_AF_SPEC,
  IFLA_BRIDGE_FLAGS, IFLA_BRIDGE_VLAN_INFO, IFLA_EXT_MASK, NLM_F_DUMP, RTEXT_FILTER_BRVLAN, RTM_DELLINK, RTM_GETLINK,
  RTM_NEWLINK, RTM_SETLINK,
} from '../../shared/netlink/constants.js';
import { ifinfomsg } from '../../shared/netlink/link-build.js';
import { attrList, MessageBuilder, type NlMsg, parseAttrs } from '../../shared/netlink/message.js';

/** One vlanTrunk entry: a range {minID, maxID} and/or a single {id}. */
export interface VlanTrunk {
  minID?: number;
  maxID?: number;
  id?: number;
}

const MAX_VID = 4094;
const validVid = (n: number): boolean => n > 0 && n <= MAX_VID;

/**
 * The trunk VLAN ids, sorted and unique (empty when none), or an Error with the reference's message.
 * Ranges are checked before the single id of the same entry, as the reference does.
 */
export function collectVlanTrunk(trunk: readonly VlanTrunk[] | undefined): number[] {
  const vids = new Set<number>();
  for (const item of trunk ?? []) {
    const hasMin = item.minID !== undefined;
    const hasMax = item.maxID !== undefined;
    if (hasMin && hasMax) {
      const min = item.minID as number;
      const max = item.maxID as number;
      if (!validVid(min)) throw new Error('incorrect trunk minID parameter');
      if (!validVid(max)) throw new Error('incorrect trunk maxID parameter');
      if (max < min) throw new Error('minID is greater than maxID in trunk parameter');
      for (let vid = min; vid <= max; vid++) vids.add(vid);
    } else if (hasMax) {
      throw new Error('minID and maxID should be configured simultaneously, minID is missing');
    } else if (hasMin) {
      throw new Error('minID and maxID should be configured simultaneously, maxID is missing');
    }
    if (item.id !== undefined) {
      if (!validVid(item.id)) throw new Error('incorrect trunk id parameter');
      vids.add(item.id);
    }
  }
  return [...vids].sort((a, b) => a - b);
}

/** One VLAN entry of a port as the kernel reports it. */
export interface PortVlan {
  vid: number;
  pvid: boolean;
  untagged: boolean;
}

/** What to do on a new port, in order. */
export interface PortVlanPlan {
  /** Remove these existing entries first (the default VLAN, when not preserved). */
  remove: boolean;
  add: PortVlan[];
}

/**
 * The reference's port VLAN setup: with an access VLAN or a trunk and preserveDefaultVlan false,
 * the port's existing VLANs (the bridge's default PVID 1) are removed; the access VLAN is added as
 * PVID + untagged; a trunk without an access VLAN gets VLAN 1 as its native (PVID, untagged) VLAN;
 * trunk VLANs are tagged.
 */
export function planPortVlans(vlan: number, trunkVlans: readonly number[], preserveDefaultVlan: boolean): PortVlanPlan {
  const uses = vlan !== 0 || trunkVlans.length > 0;
  const add: PortVlan[] = [];
  if (vlan !== 0) add.push({ vid: vlan, pvid: true, untagged: true });
  if (trunkVlans.length > 0) {
    if (vlan === 0) add.push({ vid: 1, pvid: true, untagged: true });
    for (const vid of trunkVlans) add.push({ vid, pvid: false, untagged: false });
  }
  return { remove: uses && !preserveDefaultVlan, add };
}

/** RTM_SETLINK (add) or RTM_DELLINK (remove) of one VLAN on a bridge port, master flag set. */
export function buildPortVlanMessage(portIndex: number, v: PortVlan, remove = false): MessageBuilder {
  if (!Number.isInteger(v.vid) || !validVid(v.vid)) throw new TypeError(`invalid VLAN id ${v.vid}`);
  const b = new MessageBuilder(remove ? RTM_DELLINK : RTM_SETLINK, 0).fixed(ifinfomsg(AF_BRIDGE, portIndex));
  const info = Buffer.alloc(4);
  info.writeUInt16LE((v.pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (v.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0), 0);
  info.writeUInt16LE(v.vid, 2);
  return b.nest(
    IFLA_AF_SPEC,
    () => {
      b.u16(IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_MASTER);
      b.bytes(IFLA_BRIDGE_VLAN_INFO, info);
    },
    true,
  );
}

/** The AF_BRIDGE link dump that carries every port's VLAN list. */
export function buildVlanListRequest(): MessageBuilder {
  return new MessageBuilder(RTM_GETLINK, NLM_F_DUMP).fixed(ifinfomsg(AF_BRIDGE)).u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
}

/** One reply of that dump: the link index and its VLAN entries (links without VLANs: empty). */
export function parseVlanListReply(m: NlMsg): { index: number; vlans: PortVlan[] } | undefined {
  if (m.type !== RTM_NEWLINK || m.payload.length < IFINFOMSG_LEN) return undefined;
  const index = m.payload.readInt32LE(4);
  const attrs = parseAttrs(m.payload, IFINFOMSG_LEN);
  const spec = attrs.get(IFLA_AF_SPEC);
  const vlans: PortVlan[] = [];
  if (spec) {
    for (const [type, value] of attrList(spec)) {
      if (type !== IFLA_BRIDGE_VLAN_INFO || value.length < 4) continue;
      const flags = value.readUInt16LE(0);
      vlans.push({ vid: value.readUInt16LE(2), pvid: (flags & BRIDGE_VLAN_INFO_PVID) !== 0, untagged: (flags & BRIDGE_VLAN_INFO_UNTAGGED) !== 0 });
    }
  }
  return { index, vlans };
}

/** The netlink operations the plan needs (a NetlinkSocket of the host netns provides them). */
export interface VlanSocket {
  ack(req: MessageBuilder, op: string): void;
  dump<T>(req: MessageBuilder, op: string, parse: (m: NlMsg) => T | undefined): T[];
}

/** The VLAN entries of one port. */
export function listPortVlans(sock: VlanSocket, portIndex: number): PortVlan[] {
  const all = sock.dump(buildVlanListRequest(), 'bridge vlan list', parseVlanListReply);
  return all.find((e) => e.index === portIndex)?.vlans ?? [];
}

/** Applies the plan to a port (errors carry the reference's wording). */
export function applyPortVlans(sock: VlanSocket, portIndex: number, portName: string, plan: PortVlanPlan): void {
  if (plan.remove) {
    try {
      for (const existing of listPortVlans(sock, portIndex)) {
        sock.ack(buildPortVlanMessage(portIndex, existing, true), `bridge vlan del vid ${existing.vid} dev ${portName}`);
      }
    } catch (e) {
      throw new Error(`failed to remove default vlan on interface "${portName}": ${(e as Error).message}`, { cause: e });
    }
  }
  for (const v of plan.add) {
    try {
      sock.ack(buildPortVlanMessage(portIndex, v), `bridge vlan add vid ${v.vid} dev ${portName}`);
    } catch (e) {
      throw new Error(`failed to setup vlan tag on interface "${portName}": ${(e as Error).message}`, { cause: e });
    }
  }
}
