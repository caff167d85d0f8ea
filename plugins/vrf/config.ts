// vrf's configuration and the pure decisions (which table a new VRF gets), unit-tested without a kernel.
import { checkLinkName, parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { Link } from '../../shared/netlink/index.js';
import * as v from '../../build/generated/validators/vrf.js';

export interface VrfConf {
  cniVersion: string;
  name: string;
  /** The VRF device in the container netns; created when missing. */
  vrfname: string;
  /** Routing table of a VRF this plugin creates; 0 or unset: the first id no other VRF uses. */
  table?: number;
}

const MAX_TABLE = 0xffffffff;

export function loadConf(stdinData: Buffer | string): VrfConf {
  const conf = parseConfig<VrfConf>(stdinData, v);
  // The reference's message; the details name the key and what it holds.
  if (!conf.vrfname) throw new CniError(ErrorCode.InvalidNetworkConfig, 'configuration is expected to have a valid vrf name', `vrfname: ${conf.vrfname === undefined ? 'missing' : '""'}`);
  checkLinkName('vrfname', conf.vrfname);
  if (conf.table !== undefined && (conf.table < 0 || conf.table > MAX_TABLE)) {
    // The reference's field is a uint32: anything outside fails its decoder.
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: table: must be a routing table id from 0 to ${MAX_TABLE}, got ${conf.table}`);
  }
  return conf;
}

/** The first table id from 1 that no VRF device in `links` is bound to (other links do not count). */
export function firstFreeVrfTable(links: readonly Link[]): number {
  const taken = new Set<number>();
  for (const l of links) if (l.kind === 'vrf' && l.vrfTable !== undefined) taken.add(l.vrfTable);
  for (let t = 1; t < MAX_TABLE; t++) if (!taken.has(t)) return t;
  throw new Error('findFreeRoutingTableID: Failed to find an available routing id');
}
