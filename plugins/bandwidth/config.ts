// bandwidth's configuration: the BandwidthEntry (static keys, else runtimeConfig.bandwidth), checked
// with the reference's messages as code 7 errors whose details name the key and the value.
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs } from '../../shared/cni/plugin.js';
import { type IPNet, parseCIDR } from '../../shared/ip/index.js';
import * as v from '../../build/generated/validators/bandwidth.js';

/** Rates in bit/s, bursts in bits (CONVENTIONS.md), plus the subnet lists of the reference's v1.5 line. */
export interface BandwidthEntry {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
  unshapedSubnets?: string[];
  shapedSubnets?: string[];
}

export interface BandwidthConf extends BandwidthEntry {
  cniVersion: string;
  name: string;
  runtimeConfig?: { bandwidth?: BandwidthEntry };
}

/** One direction's limits in the units the kernel takes. */
export interface Direction {
  rateBits: number;
  burstBits: number;
}

export interface Bandwidth {
  ingress?: Direction;
  egress?: Direction;
  /** Parsed and non-empty at most one of the two (they are exclusive). */
  unshaped: IPNet[];
  shaped: IPNet[];
  /** Where the entry came from, for error details: '' (static) or 'runtimeConfig.bandwidth.'. */
  keyPrefix: string;
}

const ENTRY_KEYS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst', 'unshapedSubnets', 'shapedSubnets'] as const;
const MAX_UINT32 = 0xffffffff;

const invalid = (msg: string, details: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg, details);

/**
 * The reference decodes the six keys into an embedded struct pointer that exists as soon as any of
 * them is present; only when it does not exist is runtimeConfig.bandwidth used. So the static config
 * wins whenever it names any key, even with zero rates.
 */
function chooseEntry(conf: BandwidthConf): { entry: BandwidthEntry; keyPrefix: string } | undefined {
  if (ENTRY_KEYS.some((k) => conf[k] !== undefined)) return { entry: conf, keyPrefix: '' };
  const rt = conf.runtimeConfig?.bandwidth;
  return rt ? { entry: rt, keyPrefix: 'runtimeConfig.bandwidth.' } : undefined;
}

/** The reference's validateRateAndBurst, per direction. */
function checkRateAndBurst(prefix: string, dir: 'ingress' | 'egress', rate: number, burst: number): void {
  const details = `${prefix}${dir}Rate=${rate}, ${prefix}${dir}Burst=${burst}`;
  if (burst === 0 && rate !== 0) throw invalid('if rate is set, burst must also be set', details);
  if (rate === 0 && burst !== 0) throw invalid('if burst is set, rate must also be set', details);
  if (Math.floor(burst / 8) >= MAX_UINT32) throw invalid('burst cannot be more than 4GB', details);
}

function parseSubnets(prefix: string, key: 'unshapedSubnets' | 'shapedSubnets', list: readonly string[]): IPNet[] {
  return list.map((s, i) => {
    const net = parseCIDR(s);
    if (!net) throw invalid(`bad subnet ${JSON.stringify(s)} provided, details invalid CIDR address: ${s}`, `${prefix}${key}[${i}]=${JSON.stringify(s)}`);
    return net;
  });
}

/** The reference's validateSubnets: exclusive lists of valid CIDRs. */
export function checkSubnets(bw: Pick<BandwidthEntry, 'unshapedSubnets' | 'shapedSubnets'>, prefix: string): { unshaped: IPNet[]; shaped: IPNet[] } {
  const unshapedList = bw.unshapedSubnets ?? [];
  const shapedList = bw.shapedSubnets ?? [];
  if (unshapedList.length > 0 && shapedList.length > 0) {
    throw invalid(
      'unshapedSubnets and shapedSubnets cannot be both specified, one of them should be discarded',
      `${prefix}unshapedSubnets=${JSON.stringify(unshapedList)}, ${prefix}shapedSubnets=${JSON.stringify(shapedList)}`,
    );
  }
  return { unshaped: parseSubnets(prefix, 'unshapedSubnets', unshapedList), shaped: parseSubnets(prefix, 'shapedSubnets', shapedList) };
}

export interface Loaded {
  conf: BandwidthConf;
  /** undefined: no entry or every rate and burst zero (nothing to shape). */
  bandwidth: Bandwidth | undefined;
  /** The raw entry (for the subnet check the reference runs only when there is something to shape). */
  entry: BandwidthEntry | undefined;
  keyPrefix: string;
}

/** Decodes the config and checks rates and bursts (every command, as the reference's parseConfig). */
export function loadConf(args: Pick<CmdArgs, 'stdinData'>): Loaded {
  const conf = parseConfig<BandwidthConf>(args.stdinData, v);
  const chosen = chooseEntry(conf);
  if (!chosen) return { conf, bandwidth: undefined, entry: undefined, keyPrefix: '' };
  const { entry, keyPrefix } = chosen;
  const ir = entry.ingressRate ?? 0;
  const ib = entry.ingressBurst ?? 0;
  const er = entry.egressRate ?? 0;
  const eb = entry.egressBurst ?? 0;
  checkRateAndBurst(keyPrefix, 'ingress', ir, ib);
  checkRateAndBurst(keyPrefix, 'egress', er, eb);
  if (ir === 0 && ib === 0 && er === 0 && eb === 0) return { conf, bandwidth: undefined, entry, keyPrefix };
  return {
    conf,
    entry,
    keyPrefix,
    bandwidth: {
      ...(ir > 0 && ib > 0 ? { ingress: { rateBits: ir, burstBits: ib } } : {}),
      ...(er > 0 && eb > 0 ? { egress: { rateBits: er, burstBits: eb } } : {}),
      unshaped: [],
      shaped: [],
      keyPrefix,
    },
  };
}

/** The subnet lists, checked: called by ADD and CHECK once there is something to shape. */
export function withSubnets(loaded: Loaded): Bandwidth | undefined {
  if (!loaded.bandwidth || !loaded.entry) return loaded.bandwidth;
  return { ...loaded.bandwidth, ...checkSubnets(loaded.entry, loaded.keyPrefix) };
}
