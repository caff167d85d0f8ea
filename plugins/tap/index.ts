// tap: a persistent tap device created in the container netns, optionally enslaved to a bridge
// there (REFERENCE §3.8). Created through /dev/net/tun in-process (no `ip tuntap` exec).
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { parseConfig } from '../../shared/cni/config.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { DNS, Result } from '../../shared/cni/types.js';
import { openContainerNetns } from '../../shared/container/netns.js';
import { containerInterfaceOf, requirePrevResult, validateExpectedInterfaceIPs, validateExpectedRoute } from '../../shared/iface/check.js';
import { applyIpamResult } from '../../shared/iface/configure.js';
import {
  forwardStatusAndGcToIpam, hasIpam, ipamCheck, ipamDel, ipamType, Rollback, withIpam,
} from '../../shared/ipam/index.js';
import { Netlink } from '../../shared/netlink/index.js';
import * as v from '../../build/generated/validators/tap.js';
import {
  chooseMac, createAndRename, deleteContainerLink, deleteLinkIfPresent, invalid, setNotify,
} from '../macvlan/lib.js';

export interface TapConf {
  cniVersion: string;
  name: string;
  multiQueue?: boolean;
  mtu?: number;
  mac?: string;
  owner?: number;
  group?: number;
  selinuxContext?: string;
  bridge?: string;
  ipam?: { type?: string };
  dns?: DNS;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
}

export function loadConf(stdinData: Buffer | string): TapConf {
  const conf = parseConfig<TapConf>(stdinData, v);
  if (conf.selinuxContext) {
    throw new CniError(
      ErrorCode.UnsupportedField,
      `unsupported field "selinuxContext" (${JSON.stringify(conf.selinuxContext)}): tscni's tap does not implement SELinux exec contexts`,
    );
  }
  if (conf.mtu !== undefined && conf.mtu < 0) throw invalid(`invalid MTU ${conf.mtu}`);
  return conf;
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdinData);
  const mac = chooseMac(conf, args.args);
  using ns = openContainerNetns(args.netns);
  using nl = Netlink.open(ns);
  const bridge = conf.bridge ? nl.findLink(conf.bridge) : undefined;
  if (conf.bridge && (!bridge || bridge.kind !== 'bridge')) {
    throw invalid(`failed to find bridge "${conf.bridge}" in the container netns`);
  }
  const created = createAndRename(nl, args.ifName, 'tap', (tmp) => {
    nl.createTuntap({
      name: tmp,
      mode: 'tap',
      multiQueue: conf.multiQueue ?? false,
      // The reference creates with a vnet header only on its netlink path (owner and group both set).
      vnetHdr: conf.owner !== undefined && conf.group !== undefined,
      ...(conf.owner !== undefined ? { owner: conf.owner } : {}),
      ...(conf.group !== undefined ? { group: conf.group } : {}),
    });
    if (conf.mtu) nl.setMtu(nl.getLink(tmp), conf.mtu);
    if (mac) nl.setMac(nl.getLink(tmp), mac);
  });
  const rollback = new Rollback();
  rollback.add(() => deleteLinkIfPresent(nl, args.ifName));
  const result: Result = { cniVersion: args.cniVersion, interfaces: [] };
  await rollback.guard(async () => {
    if (bridge) nl.setMaster(created, bridge);
    nl.setLinkUp(created);
    const link = nl.getLink(args.ifName);
    result.interfaces = [{ name: args.ifName, mac: link.mac ?? '', sandbox: args.netns }];
    if (hasIpam(conf)) {
      await withIpam(ipamType(conf), args, async (ipamResult) => {
        await applyIpamResult(nl, args.ifName, result, ipamResult, () => setNotify(nl, args.ifName, false));
      });
    }
  });
  if (conf.dns) result.dns = conf.dns;
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  const conf = parseConfig<TapConf>(args.stdinData, v);
  if (hasIpam(conf)) await ipamDel(ipamType(conf), args);
  deleteContainerLink(args.netns, args.ifName, 'tap');
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const prev = requirePrevResult(args.prevResult);
  using ns = openContainerNetns(args.netns);
  if (hasIpam(conf)) await ipamCheck(ipamType(conf), args);
  containerInterfaceOf(prev, args.ifName, args.netns);
  using nl = Netlink.open(ns);
  validateExpectedInterfaceIPs(nl, args.ifName, prev.ips ?? []);
  validateExpectedRoute(nl, prev.routes ?? []);
}

export const plugin: Plugin = {
  name: 'tap',
  description: 'CNI tap plugin',
  add,
  del,
  check,
  ...forwardStatusAndGcToIpam((args) => parseConfig<TapConf>(args.stdinData, v)),
};
