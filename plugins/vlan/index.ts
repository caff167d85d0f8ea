// vlan: an 802.1Q link over a master, created directly in the container netns (REFERENCE §3.5).
// Kernel: 8021q.
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
  ipamCheck, ipamDel, ipamGc, ipamStatus, requireIpam, Rollback, withIpam,
} from '../../shared/ipam/index.js';
import { Netlink, type NetnsHandle, type VlanOptions } from '../../shared/netlink/index.js';
import * as v from '../../build/generated/validators/vlan.js';
import {
  checkMtu, createAndRename, deleteContainerLink, deleteLinkIfPresent, invalid, lookupMaster,
} from '../macvlan/lib.js';

export interface VlanConf {
  cniVersion: string;
  name: string;
  master?: string;
  vlanId?: number;
  mtu?: number;
  linkInContainer?: boolean;
  ipam?: { type?: string };
  dns?: DNS;
}

/** Checks that need no kernel; returns the IPAM type. */
export function loadConf(stdinData: Buffer | string): { conf: VlanConf; ipam: string; master: string; vlanId: number } {
  const conf = parseConfig<VlanConf>(stdinData, v);
  if (!conf.master) throw invalid('"master" field is required. It specifies the host interface name to create the VLAN for.');
  const vlanId = conf.vlanId ?? 0;
  if (vlanId < 0 || vlanId > 4094) throw invalid(`invalid VLAN ID ${vlanId} (must be between 0 and 4095 inclusive)`);
  const ipam = requireIpam(conf, 'vlan requires an IPAM configuration ("ipam" with a "type")');
  return { conf, ipam, master: conf.master, vlanId };
}

/** The create request for the link under `tmpName` (pure; unit-tested). */
export function vlanRequest(conf: VlanConf, vlanId: number, masterIndex: number, tmpName: string, netnsFd?: number): VlanOptions {
  return {
    name: tmpName,
    masterIndex,
    vlanId,
    ...(conf.mtu ? { mtu: conf.mtu } : {}),
    ...(netnsFd !== undefined ? { netns: netnsFd } : {}),
  };
}

function masterHandle(conf: VlanConf, ns: NetnsHandle): Netlink {
  return conf.linkInContainer ? Netlink.open(ns) : Netlink.open();
}

async function add(args: CmdArgs): Promise<Result> {
  const { conf, ipam, master: masterName, vlanId } = loadConf(args.stdinData);
  using ns = openContainerNetns(args.netns);
  using mnl = masterHandle(conf, ns);
  const master = lookupMaster(mnl, masterName);
  checkMtu(conf.mtu, master);
  using nl = Netlink.open(ns);
  const link = createAndRename(nl, args.ifName, 'vlan', (tmp) =>
    mnl.createVlan(vlanRequest(conf, vlanId, master.index, tmp, conf.linkInContainer ? undefined : ns.fd)),
  );
  const rollback = new Rollback();
  rollback.add(() => deleteLinkIfPresent(nl, args.ifName));
  const result: Result = { cniVersion: args.cniVersion, interfaces: [{ name: args.ifName, mac: link.mac ?? '', sandbox: args.netns }] };
  await rollback.guard(() =>
    withIpam(ipam, args, async (ipamResult) => {
      await applyIpamResult(nl, args.ifName, result, ipamResult);
    }),
  );
  if (conf.dns) result.dns = conf.dns;
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  // Unlike the reference, DEL does not need the master to exist any more (spec: DEL must succeed).
  const conf = parseConfig<VlanConf>(args.stdinData, v);
  if (conf.ipam?.type) await ipamDel(conf.ipam.type, args);
  deleteContainerLink(args.netns, args.ifName, 'vlan');
}

async function check(args: CmdArgs): Promise<void> {
  const { conf, ipam, master: masterName, vlanId } = loadConf(args.stdinData);
  const prev = requirePrevResult(args.prevResult);
  using ns = openContainerNetns(args.netns);
  await ipamCheck(ipam, args);
  const intf = containerInterfaceOf(prev, args.ifName, args.netns);
  {
    using mnl = masterHandle(conf, ns);
    lookupMaster(mnl, masterName);
  }
  using nl = Netlink.open(ns);
  const link = checkContainerLink(nl, intf);
  if (link.kind !== 'vlan') throw checkFailed(`error: Container interface ${link.name} not of type vlan`);
  checkLinkMac(link, intf);
  if (link.vlanId !== vlanId) throw checkFailed(`error: Container interface ${link.name} VLAN ID ${link.vlanId ?? 'unknown'} does not match expected value: ${vlanId}`);
  if (conf.mtu && link.mtu !== conf.mtu) throw checkFailed(`error: Container interface ${link.name} MTU ${link.mtu} does not match expected value: ${conf.mtu}`);
  validateExpectedInterfaceIPs(nl, args.ifName, prev.ips ?? []);
  validateExpectedRoute(nl, prev.routes ?? []);
}

async function status(args: CmdArgs): Promise<void> {
  const conf = parseConfig<VlanConf>(args.stdinData, v);
  await ipamStatus(conf.ipam?.type ?? '', args);
}

async function gc(args: CmdArgs): Promise<void> {
  const conf = parseConfig<VlanConf>(args.stdinData, v);
  if (conf.ipam?.type) await ipamGc(conf.ipam.type, args);
}

export const plugin: Plugin = { name: 'vlan', description: 'CNI vlan plugin', add, del, check, status, gc };
