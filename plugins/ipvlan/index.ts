// ipvlan: an ipvlan link over a master, created directly in the container netns (REFERENCE §3.4).
// Chained use: without `ipam`, the prevResult's IPs are applied, and its single interface may name
// the master. Kernel: ipvlan (l3s also needs l3mdev).
import { checkFailed } from '../../shared/cni/errors.js';
import { parseConfig } from '../../shared/cni/config.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { DNS, Result } from '../../shared/cni/types.js';
import { openContainerNetns } from '../../shared/container/netns.js';
import {
  checkContainerLink, checkLinkMac, containerInterfaceOf, requirePrevResult, validateExpectedInterfaceIPs, validateExpectedRoute,
} from '../../shared/iface/check.js';
import { applyIpamResult } from '../../shared/iface/configure.js';
import {
  forwardStatusAndGcToIpam, hasIpam, ipamCheck, ipamDel, ipamType, Rollback, withIpam,
} from '../../shared/ipam/index.js';
import { type IpvlanMode, type IpvlanOptions, Netlink, type NetnsHandle } from '../../shared/netlink/index.js';
import * as v from '../../build/generated/validators/ipvlan.js';
import {
  checkMtu, createAndRename, defaultRouteInterface, deleteContainerLink, deleteLinkIfPresent, invalid, lookupMaster, setNotify,
} from '../macvlan/lib.js';

export interface IpvlanConf {
  cniVersion: string;
  name: string;
  master?: string;
  mode?: string;
  mtu?: number;
  linkInContainer?: boolean;
  ipam?: { type?: string };
  dns?: DNS;
}

const MODES: readonly IpvlanMode[] = ['l2', 'l3', 'l3s'];

export function parseIpvlanMode(mode: string | undefined): IpvlanMode {
  const m = mode ?? '';
  if (m === '') return 'l2';
  if (!(MODES as readonly string[]).includes(m)) throw invalid(`unknown ipvlan mode: ${JSON.stringify(m)}`);
  return m as IpvlanMode;
}

/**
 * Config checks that need no kernel: mode, MTU sign, and the chained-mode rules (no ipam: the
 * prevResult must carry IPs; no master: a chained prevResult must name exactly one interface).
 * Returns the master name when it is known without a route lookup.
 */
export function loadConf(stdinData: Buffer | string, prev: Result | undefined): { conf: IpvlanConf; mode: IpvlanMode; master?: string } {
  const conf = parseConfig<IpvlanConf>(stdinData, v);
  const mode = parseIpvlanMode(conf.mode);
  if (conf.mtu !== undefined && conf.mtu < 0) throw invalid(`invalid MTU ${conf.mtu}`);
  if (!hasIpam(conf) && !(prev?.ips && prev.ips.length > 0)) {
    throw invalid('ipvlan needs an "ipam" configuration, or a prevResult with IPs when chained');
  }
  let master = conf.master || undefined;
  if (!master && prev) {
    const ifs = prev.interfaces ?? [];
    if (ifs.length !== 1 || !ifs[0]?.name) {
      throw invalid(`chained master failure: prevResult must name exactly one interface to use as "master", it names ${ifs.length}`);
    }
    master = ifs[0].name;
  }
  return master ? { conf, mode, master } : { conf, mode };
}

/** The create request for the link under `tmpName` (pure; unit-tested). */
export function ipvlanRequest(conf: IpvlanConf, mode: IpvlanMode, masterIndex: number, tmpName: string, netnsFd?: number): IpvlanOptions {
  return {
    name: tmpName,
    masterIndex,
    mode,
    ...(conf.mtu ? { mtu: conf.mtu } : {}),
    ...(netnsFd !== undefined ? { netns: netnsFd } : {}),
  };
}

function masterHandle(conf: IpvlanConf, ns: NetnsHandle): Netlink {
  return conf.linkInContainer ? Netlink.open(ns) : Netlink.open();
}

async function add(args: CmdArgs): Promise<Result> {
  const { conf, mode, master: named } = loadConf(args.stdinData, args.prevResult);
  using ns = openContainerNetns(args.netns);
  using mnl = masterHandle(conf, ns);
  const master = lookupMaster(mnl, named ?? defaultRouteInterface(mnl, conf.linkInContainer ? 'the container netns' : 'the host netns'));
  checkMtu(conf.mtu, master);
  using nl = Netlink.open(ns);
  const link = createAndRename(nl, args.ifName, 'ipvlan', (tmp) =>
    mnl.createIpvlan(ipvlanRequest(conf, mode, master.index, tmp, conf.linkInContainer ? undefined : ns.fd)),
  );
  const rollback = new Rollback();
  rollback.add(() => deleteLinkIfPresent(nl, args.ifName));
  const result: Result = { cniVersion: args.cniVersion, interfaces: [{ name: args.ifName, mac: link.mac ?? '', sandbox: args.netns }] };
  const apply = (source: Result): Promise<void> => applyIpamResult(nl, args.ifName, result, source, () => setNotify(nl, args.ifName));
  await rollback.guard(async () => {
    if (hasIpam(conf)) await withIpam(ipamType(conf), args, apply);
    else await apply(args.prevResult as Result);
  });
  if (conf.dns) result.dns = conf.dns;
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  const conf = parseConfig<IpvlanConf>(args.stdinData, v);
  if (hasIpam(conf)) await ipamDel(ipamType(conf), args);
  deleteContainerLink(args.netns, args.ifName, 'ipvlan');
}

async function check(args: CmdArgs): Promise<void> {
  const prev = requirePrevResult(args.prevResult);
  const { conf, mode } = loadConf(args.stdinData, prev);
  using ns = openContainerNetns(args.netns);
  if (hasIpam(conf)) await ipamCheck(ipamType(conf), args);
  const intf = containerInterfaceOf(prev, args.ifName, args.netns);
  if (conf.master) {
    using mnl = masterHandle(conf, ns);
    lookupMaster(mnl, conf.master);
  }
  using nl = Netlink.open(ns);
  const link = checkContainerLink(nl, intf);
  if (link.kind !== 'ipvlan') throw checkFailed(`error: Container interface ${link.name} not of type ipvlan`);
  if (link.ipvlanMode !== mode) throw checkFailed(`container ipvlan mode ${link.ipvlanMode ?? 'unknown'} does not match expected value: ${mode}`);
  checkLinkMac(link, intf);
  validateExpectedInterfaceIPs(nl, args.ifName, prev.ips ?? []);
  validateExpectedRoute(nl, prev.routes ?? []);
}

export const plugin: Plugin = {
  name: 'ipvlan',
  description: 'CNI ipvlan plugin',
  add,
  del,
  check,
  ...forwardStatusAndGcToIpam((args) => parseConfig<IpvlanConf>(args.stdinData, v)),
};
