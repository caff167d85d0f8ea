// host-device: moves an existing host link into the container as `<if>` and back on DEL
// (REFERENCE §3.6). The move goes through a temporary netns so neither name ever clashes: the link
// is renamed (and given its host name as alias) where nothing else lives.
import { checkFailed, CniError, ErrorCode, ifnameTaken } from '../../shared/cni/errors.js';
import { parseConfig } from '../../shared/cni/config.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import { runtimeDeviceID } from '../../shared/cni/runtime-config.js';
import type { DNS, Result } from '../../shared/cni/types.js';
import { openContainerNetns, openContainerNetnsIfPresent } from '../../shared/container/netns.js';
import { checkLinkMac, containerInterfaceOf, requirePrevResult, validateExpectedInterfaceIPs, validateExpectedRoute } from '../../shared/iface/check.js';
import { applyIpamResult } from '../../shared/iface/configure.js';
import {
  assignInterface, forwardStatusAndGcToIpam, hasIpam, ipamCheck, ipamDel, ipamType, Rollback, withIpam,
} from '../../shared/ipam/index.js';
import { type Link, Netlink, type NetnsHandle } from '../../shared/netlink/index.js';
import * as v from '../../build/generated/validators/host-device.js';
import {
  isDpdkDriver, isPciAddress, linkFromAuxDevice, linkFromKernelPath, linkFromPci, pciDriver,
} from './sysfs.js';
import { createTempNetns } from './tempns.js';
import { errorText } from '../../shared/sys/error-text.js';

export interface HostDeviceConf {
  cniVersion: string;
  name: string;
  device?: string;
  hwaddr?: string;
  kernelpath?: string;
  pciBusID?: string;
  DPDKMode?: boolean;
  ipam?: { type?: string };
  dns?: DNS;
  runtimeConfig?: Record<string, unknown>;
}

const invalid = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg);

/** Validates the selectors; a PCI deviceID overrides pciBusID and decides DPDK mode (as the reference). */
export function loadConf(stdinData: Buffer | string, sysfsRoot = '/sys'): HostDeviceConf & { auxDevice?: string } {
  const conf = parseConfig<HostDeviceConf & { auxDevice?: string }>(stdinData, v);
  const deviceID = runtimeDeviceID(conf);
  if (deviceID) {
    if (isPciAddress(deviceID)) conf.pciBusID = deviceID;
    else conf.auxDevice = deviceID;
  }
  if (conf.pciBusID) conf.DPDKMode = isDpdkDriver(pciDriver(conf.pciBusID, sysfsRoot));
  if (!conf.device && !conf.hwaddr && !conf.kernelpath && !conf.pciBusID && !conf.auxDevice) {
    throw invalid('specify either "device", "hwaddr", "kernelpath" or "pciBusID"');
  }
  return conf;
}

/** The host link the selectors name: device > hwaddr > kernelpath > pciBusID > auxiliary device. */
export function findHostLink(nl: Netlink, conf: HostDeviceConf & { auxDevice?: string }, sysfsRoot = '/sys'): Link {
  let name: string | undefined;
  if (conf.device) name = conf.device;
  else if (conf.hwaddr) {
    const want = conf.hwaddr.toLowerCase();
    const found = nl.listLinks().find((l) => l.mac === want);
    if (!found) throw invalid(`failed to find host device: no link with hwaddr ${conf.hwaddr}`);
    return found;
  } else if (conf.kernelpath) name = linkFromKernelPath(conf.kernelpath, sysfsRoot);
  else if (conf.pciBusID) name = linkFromPci(conf.pciBusID, sysfsRoot);
  else if (conf.auxDevice) name = linkFromAuxDevice(conf.auxDevice, sysfsRoot);
  const link = name === undefined ? undefined : nl.findLink(name);
  if (!link) throw invalid(`failed to find host device: no link named "${name ?? ''}" in the host netns`);
  return link;
}

/** This process's own netns (the host's): opened while the main thread is in it. */
const HOST_NETNS = '/proc/thread-self/ns/net';

/** host -> temp netns -> rename to ifName, alias = host name -> container netns, UP. Undone on error. */
function moveIn(host: Netlink, link: Link, ifName: string, ns: NetnsHandle): Link {
  using tmpns = createTempNetns();
  host.moveToNetns(link, tmpns);
  {
    using tmp = Netlink.open(tmpns);
    try {
      const inTmp = tmp.getLink(link.name);
      if (ifName !== link.name) tmp.rename(inTmp, ifName);
      tmp.setAlias(inTmp, link.name);
      tmp.moveToNetns(inTmp, ns);
    } catch (err) {
      // Back to the host under its own name, before the temporary netns goes away.
      try {
        const l = tmp.listLinks().find((x) => x.name === ifName || x.name === link.name);
        if (l) {
          if (l.name !== link.name) tmp.rename(l, link.name);
          tmp.setAlias(l, '');
          tmp.moveToNetns(l, HOST_NETNS);
        }
      } catch {
        // nothing more to try
      }
      throw new Error(`failed to move link ${link.name} into the container as "${ifName}": ${errorText(err)}`, { cause: err });
    }
  }
  using cont = Netlink.open(ns);
  const moved = cont.getLink(ifName);
  cont.setLinkUp(moved);
  return cont.getLink(ifName);
}

/** container -> temp netns -> rename to alias, clear alias, DOWN -> host. */
function moveOut(cont: Netlink, link: Link, host: Netlink): void {
  const hostName = link.alias || link.name;
  if (!link.alias) process.stderr.write(`host-device: ${link.name} has no alias; returning it under its container name\n`);
  if (host.findLink(hostName)) {
    throw new Error(`failed to return "${link.name}" to the host as "${hostName}": a link with that name already exists in the host netns`);
  }
  using tmpns = createTempNetns();
  cont.moveToNetns(link, tmpns);
  using tmp = Netlink.open(tmpns);
  const inTmp = tmp.getLink(link.name);
  try {
    tmp.setLinkDown(inTmp);
    if (hostName !== inTmp.name) tmp.rename(inTmp, hostName);
    tmp.setAlias(inTmp, '');
    tmp.moveToNetns(inTmp, HOST_NETNS);
  } catch (err) {
    // Put it back where it was rather than let the temporary netns take it.
    try {
      const l = tmp.getLinkByIndex(inTmp.index);
      if (l.name !== link.name) tmp.rename(l, link.name);
      tmp.moveToNetns(l, cont.netns as NetnsHandle);
    } catch {
      // nothing more to try
    }
    throw new Error(`failed to return "${link.name}" to the host: ${errorText(err)}`, { cause: err });
  }
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdinData);
  using ns = openContainerNetns(args.netns);
  const result: Result = { cniVersion: args.cniVersion };
  if (conf.DPDKMode) {
    // A DPDK-bound device has no kernel link: nothing moves; IPAM addresses are reported, not applied.
    result.interfaces = [{ name: args.ifName, sandbox: args.netns }];
    if (hasIpam(conf)) {
      const r = await withIpam(ipamType(conf), args, async (ipamResult) => ipamResult);
      result.ips = assignInterface(r.ips, 0);
      if (r.routes) result.routes = r.routes;
    }
    if (conf.dns) result.dns = conf.dns;
    return result;
  }
  using host = Netlink.open();
  const hostLink = findHostLink(host, conf);
  {
    using cont = Netlink.open(ns);
    if (cont.findLink(args.ifName)) throw ifnameTaken(`container already has an interface named "${args.ifName}"`, args.ifName);
  }
  const moved = moveIn(host, hostLink, args.ifName, ns);
  result.interfaces = [{ name: args.ifName, mac: moved.mac ?? '', sandbox: args.netns }];
  if (hasIpam(conf)) {
    using cont = Netlink.open(ns);
    const rollback = new Rollback();
    rollback.add(() => moveOut(cont, cont.getLink(args.ifName), host));
    await rollback.guard(() =>
      withIpam(ipamType(conf), args, async (ipamResult) => {
        await applyIpamResult(cont, args.ifName, result, ipamResult);
      }),
    );
  }
  if (conf.dns) result.dns = conf.dns;
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  // Spec DEL (the reference is not idempotent here): IPAM is released even without a netns, and a
  // missing netns or link is success.
  const conf = parseConfig<HostDeviceConf>(args.stdinData, v);
  if (hasIpam(conf)) await ipamDel(ipamType(conf), args);
  using ns = openContainerNetnsIfPresent(args.netns);
  if (!ns) return;
  using cont = Netlink.open(ns);
  const link = cont.findLink(args.ifName);
  if (!link) return;
  using host = Netlink.open();
  moveOut(cont, link, host);
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const prev = requirePrevResult(args.prevResult, 'Required prevResult missing');
  using ns = openContainerNetns(args.netns);
  if (hasIpam(conf)) await ipamCheck(ipamType(conf), args);
  if (conf.DPDKMode) return;
  const intf = containerInterfaceOf(prev, args.ifName, args.netns, true);
  using cont = Netlink.open(ns);
  const link = cont.findLink(args.ifName);
  if (!link) throw checkFailed(`Container Interface name in prevResult: ${args.ifName} not found`);
  checkLinkMac(link, intf, '', 'Interface');
  validateExpectedInterfaceIPs(cont, args.ifName, prev.ips ?? []);
  validateExpectedRoute(cont, prev.routes ?? []);
}

export const plugin: Plugin = {
  name: 'host-device',
  description: 'CNI host-device plugin',
  add,
  del,
  check,
  ...forwardStatusAndGcToIpam((args) => parseConfig<HostDeviceConf>(args.stdinData, v)),
};
