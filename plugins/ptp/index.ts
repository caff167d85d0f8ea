// ptp: a veth pair whose container end routes everything through a /32 (/128) gateway address
// held by the host end (REFERENCE §3.2).
import { checkFailed, CniError, ErrorCode } from '../../shared/cni/errors.js';
import { parseConfig } from '../../shared/cni/config.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { DNS, IPConfig, Result } from '../../shared/cni/types.js';
import { openContainerNetns, openContainerNetnsIfPresent } from '../../shared/container/netns.js';
import {
  checkMasqBackendUsable, gcIPMasq, type MasqBackend, parseMasqBackend, setupIPMasq, teardownIPMasq,
} from '../../shared/firewall/index.js';
import {
  checkContainerLink, checkLinkMac, containerInterfaceOf, requirePrevResult, validateExpectedInterfaceIPs, validateExpectedRoute,
} from '../../shared/iface/check.js';
import { configureIface, isExists, networkOfCidr } from '../../shared/iface/configure.js';
import { isVeth, setupVeth } from '../../shared/iface/veth.js';
import {
  assignInterface, chooseDns, ipamCheck, ipamDel, ipamGc, ipamStatus, ipamType, Rollback, withIpam,
} from '../../shared/ipam/index.js';
import { familyBits, formatIP, ipFamily, mustParsePrefix } from '../../shared/ip/index.js';
import { type Link, Netlink, readSysctl, RT_SCOPE_HOST, RT_SCOPE_LINK, writeSysctl } from '../../shared/netlink/index.js';
import * as v from '../../build/generated/validators/ptp.js';
import { errorText } from '../../shared/sys/error-text.js';
import { tracePhase } from '../../shared/sys/trace.js';

export interface PtpConf {
  cniVersion: string;
  name: string;
  ipMasq?: boolean;
  ipMasqBackend?: string;
  mtu?: number;
  ipam?: { type?: string };
  dns?: DNS;
}

/** 32 or 128: the host prefix length of an address's family. */
const hostBits = (ip: string): number => familyBits(ipFamily(ip));
/** The address of "ip/len". */
const addrOf = (cidr: string): string => formatIP(mustParsePrefix(cidr).ip);

export function loadConf(args: Pick<CmdArgs, 'stdinData'>): { conf: PtpConf; backend: MasqBackend | undefined } {
  const conf = parseConfig<PtpConf>(args.stdinData, v);
  const backend = parseMasqBackend(conf.ipMasqBackend);
  if (conf.mtu !== undefined && conf.mtu < 0) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid MTU ${conf.mtu}: must be 0 (kernel default) or positive`);
  }
  return { conf, backend };
}

/** The reference's ip.EnableForward: ip_forward / conf/all/forwarding = 1 for each family present. */
export function enableForwarding(ips: readonly IPConfig[]): void {
  const families = new Set(ips.map((ip) => ipFamily(ip.address)));
  for (const family of families) {
    const key = family === 4 ? ['net', 'ipv4', 'ip_forward'] : ['net', 'ipv6', 'conf', 'all', 'forwarding'];
    try {
      if (readSysctl(key) !== '1') writeSysctl(key, '1');
    } catch (err) {
      throw new Error(`Could not enable IP forwarding: ${errorText(err)}`, { cause: err });
    }
  }
}

/** In the container: replace each subnet route by "gw/32 dev <if> scope link" + "<subnet> via gw". */
function ptpContainerRoutes(nl: Netlink, link: Link, ips: readonly IPConfig[]): void {
  for (const ipc of ips) {
    const gw = ipc.gateway as string;
    const subnet = networkOfCidr(ipc.address);
    const src = addrOf(ipc.address);
    try {
      nl.deleteRoute({ dst: subnet, ifindex: link.index });
    } catch (err) {
      throw new Error(`failed to delete route ${subnet} dev ${link.name}: ${errorText(err)}`, { cause: err });
    }
    const routes = [
      { dst: `${gw}/${hostBits(gw)}`, ifindex: link.index, scope: RT_SCOPE_LINK, src },
      { dst: subnet, ifindex: link.index, gw, src },
    ];
    for (const r of routes) {
      try {
        nl.addRoute(r);
      } catch (err) {
        throw new Error(`failed to add route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} dev ${link.name} src ${src}: ${errorText(err)}`, { cause: err });
      }
    }
  }
}

/** On the host end: the gateway as /32 (/128) and a host route to each container address. */
function ptpHostVeth(host: Netlink, hostVethName: string, ips: readonly IPConfig[]): void {
  let veth: Link;
  try {
    veth = host.getLink(hostVethName);
  } catch (err) {
    throw new Error(`failed to lookup "${hostVethName}": ${errorText(err)}`, { cause: err });
  }
  for (const ipc of ips) {
    const gw = ipc.gateway as string;
    const bits = hostBits(gw);
    try {
      host.addAddress(veth, `${gw}/${bits}`);
    } catch (err) {
      if (!isExists(err)) throw new Error(`failed to add IP addr ${gw}/${bits} to veth: ${errorText(err)}`, { cause: err });
    }
    try {
      host.addRoute({ dst: `${addrOf(ipc.address)}/${bits}`, ifindex: veth.index, scope: RT_SCOPE_HOST });
    } catch (err) {
      if (!isExists(err)) throw new Error(`failed to add route on host: ${errorText(err)}`, { cause: err });
    }
  }
}

async function add(args: CmdArgs): Promise<Result> {
  const { conf, backend } = loadConf(args);
  const type = ipamType(conf);
  if (type === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'ptp requires an "ipam" configuration with a "type"');
  return withIpam(type, args, async (ipamResult) => {
    const ips = assignInterface(ipamResult.ips, 1);
    for (const ipc of ips) {
      if (!ipc.gateway) throw new CniError(ErrorCode.InvalidNetworkConfig, `ptp: IPAM returned address ${ipc.address} without a gateway`);
    }
    enableForwarding(ips);
    using ns = openContainerNetns(args.netns);
    using host = Netlink.open();
    using nl = Netlink.open(ns);
    const pair = setupVeth({ container: nl, host, ifName: args.ifName, ...(conf.mtu ? { mtu: conf.mtu } : {}) });
    const rollback = new Rollback();
    // Deleting the container end removes the host end too.
    rollback.add(() => {
      const l = nl.findLink(args.ifName);
      if (l) nl.deleteLink(l);
    });
    const result: Result = {
      cniVersion: args.cniVersion,
      interfaces: [
        { name: pair.hostVeth.name, mac: pair.hostVeth.mac ?? '' },
        { name: pair.contVeth.name, mac: pair.contVeth.mac ?? '', sandbox: args.netns },
      ],
      ips,
      ...(ipamResult.routes ? { routes: ipamResult.routes } : {}),
    };
    await rollback.guard(async () => {
      await configureIface(nl, args.ifName, result);
      ptpContainerRoutes(nl, nl.getLink(args.ifName), ips);
      ptpHostVeth(host, pair.hostVeth.name, ips);
      if (conf.ipMasq) {
        await setupIPMasq(backend, { network: conf.name, containerID: args.containerID, ifName: args.ifName, ips: ips.map((i) => i.address) });
      }
    });
    const dns = chooseDns(conf.dns, ipamResult.dns);
    if (dns) result.dns = dns;
    return result;
  });
}

async function del(args: CmdArgs): Promise<void> {
  const { conf } = loadConf(args);
  const type = ipamType(conf);
  // The reference releases the address first; a missing netns or link is not an error.
  if (type !== '') await ipamDel(type, args);
  {
    using ns = openContainerNetnsIfPresent(args.netns);
    if (ns) {
      using nl = Netlink.open(ns);
      const link = nl.findLink(args.ifName);
      if (link) {
        // TSCNI_TRACE=1: the kernel's own veth delete (most of a DEL) apart from our work.
        tracePhase('ptp', 'link found');
        try {
          nl.deleteLink(link);
        } catch (err) {
          throw new Error(`failed to delete "${args.ifName}": ${errorText(err)}`, { cause: err });
        }
        tracePhase('ptp', 'link deleted');
      }
    }
  }
  // Rules are found by comment/chain name, so they go even when the link (and its addresses) is gone.
  if (conf.ipMasq) await teardownIPMasq({ network: conf.name, containerID: args.containerID, ifName: args.ifName });
}

async function check(args: CmdArgs): Promise<void> {
  const { conf } = loadConf(args);
  const prev = requirePrevResult(args.prevResult, 'ptp: Required prevResult missing');
  using ns = openContainerNetns(args.netns);
  await ipamCheck(ipamType(conf), args);
  const intf = containerInterfaceOf(prev, args.ifName, args.netns, true);
  using nl = Netlink.open(ns);
  const link = checkContainerLink(nl, intf, 'ptp: ', true);
  if (!isVeth(link)) throw checkFailed(`Error: Container interface ${link.name} not of type veth/p2p`);
  checkLinkMac(link, intf, 'ptp: ', 'Interface');
  validateExpectedInterfaceIPs(nl, args.ifName, prev.ips ?? []);
  validateExpectedRoute(nl, prev.routes ?? []);
}

async function status(args: CmdArgs): Promise<void> {
  const { conf, backend } = loadConf(args);
  await ipamStatus(ipamType(conf), args);
  if (conf.ipMasq) {
    const usable = backend
      ? await checkMasqBackendUsable(backend)
      : ((await checkMasqBackendUsable('iptables')).ok ? { ok: true as const } : await checkMasqBackendUsable('nftables'));
    if (!usable.ok) throw new CniError(ErrorCode.NotAvailable, 'ipMasq is configured but no usable masquerade backend was found', usable.reason);
  }
}

async function gc(args: CmdArgs): Promise<void> {
  const { conf } = loadConf(args);
  const errors: string[] = [];
  try {
    await ipamGc(ipamType(conf), args);
  } catch (err) {
    errors.push(err instanceof CniError ? err.msg : errorText(err));
  }
  // Masquerade rules of this network whose attachment is no longer valid, whatever ipMasq says now.
  try {
    await gcIPMasq(conf.name, args.validAttachments ?? []);
  } catch (err) {
    errors.push(err instanceof CniError ? `${err.msg}${err.details ? `: ${err.details}` : ''}` : errorText(err));
  }
  if (errors.length > 0) throw new CniError(ErrorCode.IOFailure, 'ptp GC failed', errors.join('; '));
}

export const plugin: Plugin = { name: 'ptp', description: 'CNI ptp plugin', add, del, check, status, gc };
