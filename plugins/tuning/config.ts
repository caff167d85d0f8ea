// tuning's configuration: the static keys, overridden per attachment with the reference's
// precedence (lowest first): config keys < CNI_ARGS MAC < runtimeConfig.mac < args.cni.*.
// args.cni.sysctl is merged over the config's sysctl map.
import { parseCniArgs } from '../../shared/cni/args.js';
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs } from '../../shared/cni/plugin.js';
import { runtimeMac } from '../../shared/cni/runtime-config.js';
import * as v from '../../build/generated/validators/tuning.js';
import { canonicalMac } from './mac.js';
import { checkNoDuplicateKeys, sysctlEntries } from './sysctl-entries.js';

export const DEFAULT_DATA_DIR = '/run/cni/tuning';

/** The per-attachment overrides under args.cni (each one present only when given). */
export interface TuningArgs {
  sysctl?: Record<string, string>;
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  allmulti?: boolean;
  txQLen?: number;
}

/** The decoded stdin config (keys in their declared spelling). */
export interface RawTuningConf {
  cniVersion: string;
  name: string;
  dataDir?: string;
  sysctl?: Record<string, string>;
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  txQLen?: number;
  allmulti?: boolean;
  runtimeConfig?: { mac?: string };
  args?: { cni?: TuningArgs };
}

/** What one invocation applies, after precedence. */
export interface TuningConf {
  name: string;
  dataDir: string;
  /** Key as written in the config -> value, config order, args.cni.sysctl merged over it. */
  sysctl: [key: string, value: string][];
  /** Go's canonical text of the MAC to set (lower case, ":"), when one is set. */
  mac?: string;
  /** Only true is applied (the reference never turns promiscuous mode off on ADD). */
  promisc: boolean;
  /** 0: leave the MTU alone. */
  mtu: number;
  allmulti?: boolean;
  txQLen?: number;
}

/** The largest value an IFLA_MTU / IFLA_TXQLEN attribute (u32) can carry. */
const U32_MAX = 0xffffffff;

function checkRange(field: string, value: number): void {
  if (value < 0 || value > U32_MAX) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: ${field}: must be between 0 and ${U32_MAX}, got ${value}`);
  }
}

/** Only what DEL needs: where the backups are. DEL ignores CNI_ARGS and the attributes. */
export function loadDataDir(args: Pick<CmdArgs, 'stdinData'>): { name: string; dataDir: string } {
  const raw = parseConfig<RawTuningConf>(args.stdinData, v);
  return { name: raw.name, dataDir: raw.dataDir || DEFAULT_DATA_DIR };
}

/**
 * The whole config for ADD and CHECK: duplicate sysctl keys refused (as the reference does before
 * anything else), then decoded, then the overrides applied and the values checked (code 7).
 */
export function loadTuningConf(args: Pick<CmdArgs, 'stdinData' | 'args'>): TuningConf {
  const text = args.stdinData.toString('utf8');
  let entries;
  try {
    entries = sysctlEntries(text);
  } catch {
    // Not JSON: parseConfig below reports the decoding error with its usual wording.
    entries = undefined;
  }
  const raw = parseConfig<RawTuningConf>(args.stdinData, v);
  if (entries) checkNoDuplicateKeys(entries);

  const sysctl = new Map<string, string>();
  // Every occurrence of a "sysctl"-like key merges into one map, as in Go; the schema checked the values.
  for (const [key, value] of entries ?? Object.entries(raw.sysctl ?? {})) {
    if (typeof value !== 'string') {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: sysctl.${key}: must be string, got ${JSON.stringify(value)}`);
    }
    sysctl.set(key, value);
  }

  let mac = raw.mac ?? '';
  let macFrom = 'mac';
  const envMac = parseCniArgs(args.args, ['MAC'])['MAC'];
  if (envMac) [mac, macFrom] = [envMac, 'CNI_ARGS MAC'];
  const rcMac = runtimeMac(raw);
  if (rcMac) [mac, macFrom] = [rcMac, 'runtimeConfig.mac'];

  let promisc = raw.promisc ?? false;
  let mtu = raw.mtu ?? 0;
  let mtuFrom = 'mtu';
  let allmulti = raw.allmulti;
  let txQLen = raw.txQLen;
  let txQLenFrom = 'txQLen';
  const a = raw.args?.cni;
  if (a) {
    for (const [key, value] of Object.entries(a.sysctl ?? {})) sysctl.set(key, value);
    // A given args.cni.mac wins even when empty (which then means "leave the MAC alone").
    if (a.mac !== undefined) [mac, macFrom] = [a.mac, 'args.cni.mac'];
    if (a.promisc !== undefined) promisc = a.promisc;
    if (a.mtu !== undefined) [mtu, mtuFrom] = [a.mtu, 'args.cni.mtu'];
    if (a.allmulti !== undefined) allmulti = a.allmulti;
    if (a.txQLen !== undefined) [txQLen, txQLenFrom] = [a.txQLen, 'args.cni.txQLen'];
  }

  checkRange(mtuFrom, mtu);
  if (txQLen !== undefined) checkRange(txQLenFrom, txQLen);
  const conf: TuningConf = { name: raw.name, dataDir: raw.dataDir || DEFAULT_DATA_DIR, sysctl: [...sysctl], promisc, mtu };
  if (mac !== '') {
    const canonical = canonicalMac(mac);
    if (canonical === undefined) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid args ${mac} for MAC addr: address ${mac}: invalid MAC address`, `${macFrom}: ${JSON.stringify(mac)} is not a MAC address`);
    }
    conf.mac = canonical;
  }
  if (allmulti !== undefined) conf.allmulti = allmulti;
  if (txQLen !== undefined) conf.txQLen = txQLen;
  return conf;
}

/** True when the config changes a link attribute (and so needs a backup of the originals). */
export function changesLink(conf: TuningConf): boolean {
  return conf.mac !== undefined || conf.mtu !== 0 || conf.promisc || conf.allmulti !== undefined || conf.txQLen !== undefined;
}
