// The bridge config: decoded with Go's rules (shared/cni/config.ts), defaults of the latest
// reference, its validation messages, and the container MAC chosen as the reference does
// (runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC).
import * as v from '../../build/generated/validators/bridge.js';
import { parseCniArgs } from '../../shared/cni/args.js';
import { checkLinkName, parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { argsCniMac, runtimeMac } from '../../shared/cni/runtime-config.js';
import type { DNS, NetConf } from '../../shared/cni/types.js';
import { parseMasqBackend, type MasqBackend } from '../../shared/firewall/backend.js';
import { collectVlanTrunk, type VlanTrunk } from './vlan.js';

export const DEFAULT_BRIDGE = 'cni0';

/** The config as decoded (keys in their declared spelling, nulls dropped). */
interface RawBridgeConf extends NetConf {
  bridge?: string;
  isGateway?: boolean;
  isDefaultGateway?: boolean;
  forceAddress?: boolean;
  ipMasq?: boolean;
  ipMasqBackend?: string;
  mtu?: number;
  hairpinMode?: boolean;
  promiscMode?: boolean;
  vlan?: number;
  vlanTrunk?: VlanTrunk[];
  preserveDefaultVlan?: boolean;
  macspoofchk?: boolean;
  enabledad?: boolean;
  disableContainerInterface?: boolean;
  portIsolation?: boolean;
}

export interface BridgeConf {
  name: string;
  cniVersion: string;
  bridge: string;
  /** isGateway, or implied by isDefaultGateway. */
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  /** The ipMasqBackend string as configured (validated only where it is used: ADD and STATUS). */
  ipMasqBackend?: string;
  /** 0: kernel default. */
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  /** Access VLAN (PVID, untagged) of the port; 0 = none. */
  vlan: number;
  /** Tagged VLANs of the port, sorted and unique; empty = none. */
  trunkVlans: number[];
  /** vlanTrunk was present in the config (even if empty): the reference then turns vlan_filtering on. */
  hasVlanTrunk: boolean;
  preserveDefaultVlan: boolean;
  macspoofchk: boolean;
  enabledad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** Requested container MAC, lowercase colon form. */
  mac?: string;
  /** ipam.type; '' means L2 only. */
  ipamType: string;
  /** The config's dns when any of its fields is set (the reference's dnsConfSet). */
  dns?: DNS;
}

const invalid = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg);

/** Go's net.ParseMAC for the 6-byte forms a veth takes (":" / "-" separated or "xxxx.xxxx.xxxx"). */
export function normalizeMac(text: string): string | undefined {
  const s = text.trim() === text ? text : undefined;
  if (s === undefined) return undefined;
  let hex: string | undefined;
  if (/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(s)) hex = s.replace(/[:-]/g, '');
  else if (/^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/.test(s)) hex = s.replace(/\./g, '');
  if (hex === undefined) return undefined;
  return hex.toLowerCase().match(/../g)?.join(':');
}

/** The reference's dnsConfSet: any field present (an empty list counts). */
export function dnsConfSet(dns: DNS | undefined): boolean {
  if (!dns) return false;
  return dns.nameservers !== undefined || dns.search !== undefined || dns.options !== undefined || (dns.domain ?? '') !== '';
}

/** The container MAC: runtimeConfig.mac, else args.cni.mac, else CNI_ARGS MAC (empty values skipped). */
function chooseMac(raw: RawBridgeConf, cniArgs: string): string | undefined {
  let mac: string | undefined;
  const envMac = parseCniArgs(cniArgs, ['MAC'] as const).MAC;
  if (envMac) mac = envMac;
  const argsMac = argsCniMac(raw);
  if (argsMac) mac = argsMac;
  const rtMac = runtimeMac(raw);
  if (rtMac) mac = rtMac;
  if (mac === undefined) return undefined;
  const normalized = normalizeMac(mac);
  if (normalized === undefined) throw invalid(`invalid MAC address ${JSON.stringify(mac)}`);
  return normalized;
}

/**
 * Decodes and validates the config (reference loadNetConf plus cmdAdd's up-front checks, which
 * this applies to every command so CHECK/DEL see the same config ADD did).
 */
export function loadConf(stdinData: Buffer | string, cniArgs: string): BridgeConf {
  const raw = parseConfig<RawBridgeConf>(stdinData, v);
  const vlan = raw.vlan ?? 0;
  if (vlan < 0 || vlan > 4094) throw invalid(`invalid VLAN ID ${vlan} (must be between 0 and 4094)`);
  let trunkVlans: number[];
  try {
    trunkVlans = collectVlanTrunk(raw.vlanTrunk);
  } catch (e) {
    throw invalid((e as Error).message);
  }
  const conf: BridgeConf = {
    name: raw.name,
    cniVersion: raw.cniVersion ?? '',
    bridge: raw.bridge || DEFAULT_BRIDGE,
    isGateway: (raw.isGateway ?? false) || (raw.isDefaultGateway ?? false),
    isDefaultGateway: raw.isDefaultGateway ?? false,
    forceAddress: raw.forceAddress ?? false,
    ipMasq: raw.ipMasq ?? false,
    mtu: raw.mtu ?? 0,
    hairpinMode: raw.hairpinMode ?? false,
    promiscMode: raw.promiscMode ?? false,
    vlan,
    trunkVlans,
    hasVlanTrunk: raw.vlanTrunk !== undefined,
    preserveDefaultVlan: raw.preserveDefaultVlan ?? false,
    macspoofchk: raw.macspoofchk ?? false,
    enabledad: raw.enabledad ?? false,
    disableContainerInterface: raw.disableContainerInterface ?? false,
    portIsolation: raw.portIsolation ?? false,
    ipamType: raw.ipam?.type ?? '',
  };
  if (raw.ipMasqBackend !== undefined) conf.ipMasqBackend = raw.ipMasqBackend;
  const mac = chooseMac(raw, cniArgs);
  if (mac !== undefined) conf.mac = mac;
  if (dnsConfSet(raw.dns)) conf.dns = raw.dns;
  return conf;
}

/** The checks the reference makes at the start of ADD, before touching anything. */
export function validateForAdd(conf: BridgeConf): MasqBackend | undefined {
  checkLinkName('bridge', conf.bridge);
  if (conf.ipamType !== '' && conf.disableContainerInterface) {
    throw invalid('cannot use IPAM when DisableContainerInterface flag is set');
  }
  if (conf.hairpinMode && conf.promiscMode) {
    throw invalid('cannot set hairpin mode and promiscuous mode at the same time');
  }
  if (conf.mtu < 0) throw invalid(`invalid MTU ${conf.mtu}`);
  return conf.ipMasq ? parseMasqBackend(conf.ipMasqBackend) : undefined;
}

/** L3 mode: an IPAM plugin is configured. */
export const isLayer3 = (conf: BridgeConf): boolean => conf.ipamType !== '';

/** The bridge needs VLAN filtering when the port gets VLANs (reference: vlan != 0 or vlanTrunk set). */
export const wantsVlanFiltering = (conf: BridgeConf): boolean => conf.vlan !== 0 || conf.hasVlanTrunk;
