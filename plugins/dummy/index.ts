// dummy: a dummy link named `<if>` created directly in the container netns, addressed by IPAM
// (REFERENCE §3.9). Kernel: dummy.
import { checkFailed } from '../../shared/cni/errors.js';
import { parseConfig } from '../../shared/cni/config.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { DNS, Result } from '../../shared/cni/types.js';
import { openContainerNetns } from '../../shared/container/netns.js';
import { checkContainerLink, checkLinkMac, containerInterfaceOf, requirePrevResult, validateExpectedInterfaceIPs } from '../../shared/iface/check.js';
import { applyIpamResult } from '../../shared/iface/configure.js';
import {
  ipamCheck, ipamDel, ipamGc, ipamStatus, requireIpam, Rollback, withIpam,
} from '../../shared/ipam/index.js';
import { type DummyOptions, Netlink } from '../../shared/netlink/index.js';
import * as v from '../../build/generated/validators/dummy.js';
import { deleteContainerLink, deleteLinkIfPresent } from '../macvlan/lib.js';
import { errorText } from '../../shared/sys/error-text.js';

export interface DummyConf {
  cniVersion: string;
  name: string;
  ipam?: { type?: string };
  dns?: DNS;
}

export function loadConf(stdinData: Buffer | string): { conf: DummyConf; ipam: string } {
  const conf = parseConfig<DummyConf>(stdinData, v);
  return { conf, ipam: requireIpam(conf, 'dummy interface requires an IPAM configuration') };
}

/** The create request: named `<if>` from the start, placed straight into the container netns. */
export function dummyRequest(ifName: string, netnsFd: number): DummyOptions {
  return { name: ifName, netns: netnsFd };
}

async function add(args: CmdArgs): Promise<Result> {
  const { ipam } = loadConf(args.stdinData);
  using ns = openContainerNetns(args.netns);
  {
    using host = Netlink.open();
    try {
      host.createDummy(dummyRequest(args.ifName, ns.fd));
    } catch (err) {
      throw new Error(`failed to create dummy interface: ${errorText(err)}`, { cause: err });
    }
  }
  using nl = Netlink.open(ns);
  const rollback = new Rollback();
  rollback.add(() => deleteLinkIfPresent(nl, args.ifName));
  const link = nl.getLink(args.ifName);
  const result: Result = { cniVersion: args.cniVersion, interfaces: [{ name: args.ifName, mac: link.mac ?? '', sandbox: args.netns }] };
  await rollback.guard(() =>
    withIpam(ipam, args, async (ipamResult) => {
      await applyIpamResult(nl, args.ifName, result, ipamResult);
      // dummy passes the IPAM's DNS through, unlike macvlan/ipvlan/vlan.
      if (ipamResult.dns) result.dns = ipamResult.dns;
    }),
  );
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  const conf = parseConfig<DummyConf>(args.stdinData, v);
  if (conf.ipam?.type) await ipamDel(conf.ipam.type, args);
  deleteContainerLink(args.netns, args.ifName, 'dummy');
}

async function check(args: CmdArgs): Promise<void> {
  const { ipam } = loadConf(args.stdinData);
  const prev = requirePrevResult(args.prevResult);
  using ns = openContainerNetns(args.netns);
  await ipamCheck(ipam, args);
  const intf = containerInterfaceOf(prev, args.ifName, args.netns);
  using nl = Netlink.open(ns);
  const link = checkContainerLink(nl, intf);
  if (link.kind !== 'dummy') throw checkFailed(`error: Container interface ${link.name} not of type dummy`);
  checkLinkMac(link, intf);
  if (!link.up) throw checkFailed(`error: Container interface ${link.name} is down`);
  validateExpectedInterfaceIPs(nl, args.ifName, prev.ips ?? []);
}

async function status(args: CmdArgs): Promise<void> {
  const conf = parseConfig<DummyConf>(args.stdinData, v);
  await ipamStatus(conf.ipam?.type ?? '', args);
}

async function gc(args: CmdArgs): Promise<void> {
  const conf = parseConfig<DummyConf>(args.stdinData, v);
  if (conf.ipam?.type) await ipamGc(conf.ipam.type, args);
}

export const plugin: Plugin = { name: 'dummy', description: 'CNI dummy plugin', add, del, check, status, gc };
