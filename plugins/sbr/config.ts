// sbr's configuration: decoding, value checks, the static gateways, and which prevResult
// addresses the plugin acts on. Pure (no kernel), so the unit tests cover every rule here.
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { IPConfig, Result } from '../../shared/cni/types.js';
import { formatIP, type IP, parseCIDR, parseIP } from '../../shared/ip/index.js';
import * as v from '../../build/generated/validators/sbr.js';

export interface SbrConf {
  cniVersion: string;
  name: string;
  /** Set: only add `from <ip> lookup <table>` rules; routes stay as they are. */
  table?: number;
  /** At most one IPv4 and one IPv6 address: used instead of prevResult's gateway. */
  gateways?: string[];
  /** Keep the subnet routes in main (with `src <ip>`) and move only the others. */
  addSourceHints?: boolean;
}

/** The largest routing table id the kernel accepts (FRA_TABLE is a u32). */
const MAX_TABLE = 0xffffffff;

export function loadConf(stdinData: Buffer | string): SbrConf {
  const conf = parseConfig<SbrConf>(stdinData, v);
  if (conf.table !== undefined && (conf.table < 1 || conf.table > MAX_TABLE)) {
    // The reference passes any int to the kernel, which refuses 0 and negative ids with EINVAL.
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: table: must be a routing table id from 1 to ${MAX_TABLE}, got ${conf.table}`);
  }
  return conf;
}

export interface StaticGateways {
  v4?: IP;
  v6?: IP;
}

/** The reference's checks of `gateways`, with its messages (code 7: the key and the value named). */
export function parseGateways(gateways: readonly string[] | undefined): StaticGateways {
  const out: StaticGateways = {};
  if (!gateways) return out;
  const bad = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg, `gateways: ${JSON.stringify(gateways)}`);
  if (gateways.length > 2) throw bad('gateways list cannot contain more than 2 entries (one IPv4, one IPv6)');
  for (const gw of gateways) {
    const ip = parseIP(gw);
    if (!ip) throw bad(`invalid static gateway IP address: ${gw}`);
    const family = ip.family === 4 ? 'v4' : 'v6';
    const seen = out[family];
    if (seen) throw bad(`gateways list contains multiple IPv${ip.family} addresses: ${formatIP(seen)} and ${gw}`);
    out[family] = ip;
  }
  return out;
}

/**
 * prevResult's addresses that belong to `ifName`: those naming that interface, and those naming
 * none (or an index out of range), in prevResult order, as the reference selects them.
 */
export function addressesOf(prev: Result, ifName: string): IPConfig[] {
  const ips = prev.ips ?? [];
  // Code 7: the chained config's prevResult gives nothing to route.
  if (ips.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `No IP addresses supplied on interface: ${ifName}`);
  const interfaces = prev.interfaces ?? [];
  const mine = ips.filter((ipc) => {
    const i = ipc.interface;
    if (i === undefined || i < 0 || i >= interfaces.length) return true;
    return interfaces[i]?.name === ifName;
  });
  // An entry without an address decodes (as Go's zero IPNet) to "<nil>": nothing to make a rule from.
  for (const ipc of mine) {
    if (!parseCIDR(ipc.address)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: prevResult.ips[${ips.indexOf(ipc)}].address: missing or invalid, got ${JSON.stringify(ipc.address)}`);
    }
  }
  return mine;
}
