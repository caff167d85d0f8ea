// Bridge port settings (IFLA_PROTINFO under AF_BRIDGE) and bridge VLAN entries (IFLA_AF_SPEC).
import {
  AF_BRIDGE, BRIDGE_FLAGS_SELF, BRIDGE_VLAN_INFO_PVID, BRIDGE_VLAN_INFO_UNTAGGED,
  IFLA_AF_SPEC, IFLA_BRIDGE_FLAGS, IFLA_BRIDGE_VLAN_INFO, IFLA_BRPORT_ISOLATED, IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MODE, IFLA_BRPORT_UNICAST_FLOOD, IFLA_PROTINFO, RTM_DELLINK, RTM_SETLINK,
} from './constants.js';
import { ifinfomsg } from './link-build.js';
import { MessageBuilder } from './message.js';

/** Port settings to change; unset fields are left as they are. */
export interface BridgePortSettings {
  hairpin?: boolean;
  isolated?: boolean;
  learning?: boolean;
  unicastFlood?: boolean;
}

/**
 * RTM_SETLINK, family AF_BRIDGE, with IFLA_PROTINFO. The NLA_F_NESTED flag matters: without it
 * the bridge reads IFLA_PROTINFO as a bare STP state byte.
 */
export function buildBridgePortSettings(portIndex: number, s: BridgePortSettings): MessageBuilder {
  const b = new MessageBuilder(RTM_SETLINK, 0).fixed(ifinfomsg(AF_BRIDGE, portIndex));
  return b.nest(
    IFLA_PROTINFO,
    () => {
      if (s.hairpin !== undefined) b.u8(IFLA_BRPORT_MODE, s.hairpin ? 1 : 0);
      if (s.isolated !== undefined) b.u8(IFLA_BRPORT_ISOLATED, s.isolated ? 1 : 0);
      if (s.learning !== undefined) b.u8(IFLA_BRPORT_LEARNING, s.learning ? 1 : 0);
      if (s.unicastFlood !== undefined) b.u8(IFLA_BRPORT_UNICAST_FLOOD, s.unicastFlood ? 1 : 0);
    },
    true,
  );
}

export interface BridgeVlanOptions {
  /** Ingress untagged frames get this VLAN. */
  pvid?: boolean;
  /** Egress frames leave untagged. */
  untagged?: boolean;
  /** Apply to the bridge device itself (BRIDGE_FLAGS_SELF) instead of a port. */
  self?: boolean;
}

/**
 * Adds (RTM_SETLINK) or removes (RTM_DELLINK) one VLAN on a bridge port: AF_BRIDGE with
 * IFLA_AF_SPEC { [IFLA_BRIDGE_FLAGS u16], IFLA_BRIDGE_VLAN_INFO {u16 flags, u16 vid} }.
 */
export function buildBridgeVlan(portIndex: number, vid: number, o: BridgeVlanOptions = {}, remove = false): MessageBuilder {
  if (!Number.isInteger(vid) || vid < 1 || vid > 4094) throw new TypeError(`invalid VLAN id ${vid}`);
  const b = new MessageBuilder(remove ? RTM_DELLINK : RTM_SETLINK, 0).fixed(ifinfomsg(AF_BRIDGE, portIndex));
  const info = Buffer.alloc(4);
  info.writeUInt16LE((o.pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (o.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0), 0);
  info.writeUInt16LE(vid, 2);
  return b.nest(
    IFLA_AF_SPEC,
    () => {
      if (o.self) b.u16(IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_SELF);
      b.bytes(IFLA_BRIDGE_VLAN_INFO, info);
    },
    true,
  );
}
