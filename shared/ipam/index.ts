// IPAM delegation as the main plugins use it (REFERENCE §1.7): run `<ipam.type>` ADD and release
// it (IPAM DEL) when a later step of the ADD fails; forward DEL/CHECK/STATUS/GC; the DNS rule of
// bridge and ptp; the "<0.3.0: at most one address per family" check.
import type { CmdArgs, Plugin } from '../cni/plugin.js';
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus } from '../cni/delegate.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { DNS, IPConfig, Result } from '../cni/types.js';
import { versionAtLeast } from '../cni/versions.js';
import { ipFamily } from '../ip/index.js';
import { errorText } from '../sys/error-text.js';

/** The part of a decoded config this module reads. */
export interface ConfWithIpam {
  ipam?: { type?: unknown } | undefined;
  dns?: DNS | undefined;
}

/** `ipam.type`, or '' when the config has no ipam (or an empty one): an L2-only attachment. */
export function ipamType(conf: ConfWithIpam): string {
  const t = conf.ipam?.type;
  return typeof t === 'string' ? t : '';
}

export const hasIpam = (conf: ConfWithIpam): boolean => ipamType(conf) !== '';

/** For plugins that cannot work without IPAM (ptp, vlan, dummy): throws code 7 with `message`. */
export function requireIpam(conf: ConfWithIpam, message: string): string {
  const t = ipamType(conf);
  if (t === '') throw new CniError(ErrorCode.InvalidNetworkConfig, message);
  return t;
}

type Args = Pick<CmdArgs, 'stdinData' | 'env'>;

/**
 * Runs IPAM ADD and checks the result carries at least one IP (the reference's "IPAM plugin
 * returned missing IP config"). The result's IPs have no `interface` yet; the caller sets it.
 */
export async function ipamAdd(type: string, args: Args): Promise<Result> {
  const result = await delegateAdd(type, args.stdinData, args.env);
  if (!result.ips || result.ips.length === 0) {
    await ipamDelQuietly(type, args);
    throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
  }
  return result;
}

export async function ipamDel(type: string, args: Args): Promise<void> {
  await delegateDel(type, args.stdinData, args.env);
}

/** IPAM DEL for a rollback: a failure there must not hide the error that caused the rollback. */
export async function ipamDelQuietly(type: string, args: Args): Promise<void> {
  try {
    await delegateDel(type, args.stdinData, args.env);
  } catch (err) {
    process.stderr.write(`failed to release IPAM allocation during rollback: ${errorText(err)}\n`);
  }
}

export async function ipamCheck(type: string, args: Args): Promise<void> {
  await delegateCheck(type, args.stdinData, args.env);
}

export async function ipamStatus(type: string, args: Args): Promise<void> {
  await delegateStatus(type, args.stdinData, args.env);
}

export async function ipamGc(type: string, args: Args): Promise<void> {
  await delegateGc(type, args.stdinData, args.env);
}

/**
 * STATUS and GC of a plugin whose only state beyond its links is the IPAM allocation: both forward
 * to the configured IPAM plugin, and succeed without one (an L2 config has nothing to report).
 */
export function forwardStatusAndGcToIpam(load: (args: CmdArgs) => ConfWithIpam): Required<Pick<Plugin, 'status' | 'gc'>> {
  return {
    status: async (args) => {
      const type = ipamType(load(args));
      if (type !== '') await ipamStatus(type, args);
    },
    gc: async (args) => {
      const type = ipamType(load(args));
      if (type !== '') await ipamGc(type, args);
    },
  };
}

/**
 * IPAM ADD, then `body(result)`. If body throws, IPAM DEL releases the allocation (errors of the
 * release go to stderr) and body's error is rethrown: no address leaks from a failed ADD.
 */
export async function withIpam<T>(type: string, args: Args, body: (ipamResult: Result) => Promise<T>): Promise<T> {
  const result = await ipamAdd(type, args);
  try {
    return await body(result);
  } catch (err) {
    await ipamDelQuietly(type, args);
    throw err;
  }
}

/**
 * Runs `steps` in order; when one throws, the undo functions registered so far run in reverse
 * (their own errors go to stderr) and the original error is rethrown.
 */
export class Rollback {
  private readonly undo: (() => unknown)[] = [];

  add(fn: () => unknown): void {
    this.undo.push(fn);
  }

  async run(): Promise<void> {
    for (const fn of this.undo.reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`rollback step failed: ${errorText(err)}\n`);
      }
    }
    this.undo.length = 0;
  }

  /** Runs body; on failure undoes what was registered and rethrows. */
  async guard<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      await this.run();
      throw err;
    }
  }
}

/**
 * bridge/ptp: the conf `dns` wins when any of its fields is set (non-nil in Go: an empty list
 * counts, an empty domain does not); otherwise the IPAM result's DNS is kept.
 */
export function confDnsIsSet(dns: DNS | undefined): boolean {
  if (!dns) return false;
  return dns.nameservers !== undefined || dns.search !== undefined || dns.options !== undefined || (dns.domain ?? '') !== '';
}

export function chooseDns(confDns: DNS | undefined, ipamDns: DNS | undefined): DNS | undefined {
  return confDnsIsSet(confDns) ? confDns : ipamDns;
}

/** macvlan, ipvlan, vlan, host-device, tap: the result's DNS is the conf's (IPAM DNS is dropped). */
export function confDnsOnly(confDns: DNS | undefined): DNS | undefined {
  return confDns;
}

/**
 * Results below 0.3.0 hold one address per family. The reference's host-local refuses more with
 * this message; other IPAM plugins may not, so main plugins check before applying anything.
 */
export function checkAddressesFitVersion(cniVersion: string, ips: readonly IPConfig[]): void {
  const effective = cniVersion === '' ? '0.1.0' : cniVersion;
  if (versionAtLeast(effective, '0.3.0')) return;
  const v4 = ips.filter((ip) => ipFamily(ip.address) === 4).length;
  const v6 = ips.length - v4;
  if (v4 > 1 || v6 > 1) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, `CNI version ${effective} does not support more than 1 address per family`);
  }
}

/** Sets every IP's interface index (the main plugin owns the IPAM result from here on). */
export function assignInterface(ips: readonly IPConfig[] | undefined, index: number): IPConfig[] {
  return (ips ?? []).map((ip) => ({ ...ip, interface: index }));
}
