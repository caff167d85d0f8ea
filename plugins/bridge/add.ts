// bridge ADD (REFERENCE §3.1), in the reference's order. Every container-specific change is
// registered for rollback, so a failed ADD leaves no veth, no IPAM allocation, no firewall rule.
// Node-level state shared by every attachment (the bridge, its gateway address, the vlan gateway
// interface, forwarding sysctls) is kept, as the reference keeps it (DEL never removes it either).
import type { CmdArgs } from '../../shared/cni/plugin.js';
import { toVersion } from '../../shared/cni/convert.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { effectiveVersion, versionAtLeast } from '../../shared/cni/versions.js';
import type { Interface, IPConfig, Result, Route } from '../../shared/cni/types.js';
import { openContainerNetns } from '../../shared/container/netns.js';
import { setupIPMasq, setupMacSpoofCheck, teardownIPMasq, teardownMacSpoofCheck } from '../../shared/firewall/index.js';
import { configureIface } from '../../shared/iface/configure.js';
import { setupVeth } from '../../shared/iface/veth.js';
import { assignInterface, checkAddressesFitVersion, chooseDns, ipamAdd, ipamDelQuietly, Rollback } from '../../shared/ipam/index.js';
import { type Family, formatIP, ipFamily, mustParsePrefix, networkOf, nextIP, prefixLength } from '../../shared/ip/index.js';
import { type Link, Netlink, writeSysctl } from '../../shared/netlink/index.js';
import { type BridgeConf, isLayer3, loadConf, validateForAdd, wantsVlanFiltering } from './config.js';
import { attachPort, bridgeByName, enableForwarding, ensureAddr, ensureBridge, ensureVlanInterface, waitPortUp } from './links.js';
import { trace } from './trace.js';
import { planPortVlans } from './vlan.js';

/** Index of the container interface in the result: [bridge, host veth, container]. */
const CONTAINER_IF = 2;

/** network + 1: the gateway the reference assumes when IPAM names none. */
export function gatewayFor(cidr: string): string {
  return formatIP(nextIP(networkOf(mustParsePrefix(cidr))));
}

export interface Gateways {
  /** "gw/len" per family, in IP order. */
  v4: string[];
  v6: string[];
}

/**
 * The reference's calcGateways: every IP gets interface 2; with isGateway a missing gateway becomes
 * network+1; with isDefaultGateway a default route via that gateway is appended per family unless
 * the result already has a default route with a gateway. Mutates `ips`/`routes` in place.
 */
export function calcGateways(ips: IPConfig[], routes: Route[], conf: Pick<BridgeConf, 'isGateway' | 'isDefaultGateway'>): Gateways {
  const gws: Gateways = { v4: [], v6: [] };
  const defaultFound = { 4: false, 6: false };
  for (const ipc of ips) {
    const family = ipFamily(ipc.address);
    const defaultDst = family === 4 ? '0.0.0.0/0' : '::/0';
    ipc.interface = CONTAINER_IF;
    if (ipc.gateway === undefined && conf.isGateway) ipc.gateway = gatewayFor(ipc.address);
    if (conf.isDefaultGateway) {
      if (routes.some((r) => r.gw !== undefined && isDefaultRoute(r.dst, family))) defaultFound[family] = true;
      if (!defaultFound[family]) {
        routes.push(ipc.gateway === undefined ? { dst: defaultDst } : { dst: defaultDst, gw: ipc.gateway });
        defaultFound[family] = true;
      }
    }
    if (conf.isGateway && ipc.gateway !== undefined) {
      const prefix = ipc.address.slice(ipc.address.indexOf('/'));
      (family === 4 ? gws.v4 : gws.v6).push(`${ipc.gateway}${prefix}`);
    }
  }
  return gws;
}

function isDefaultRoute(dst: string, family: Family): boolean {
  try {
    const c = mustParsePrefix(dst);
    return c.ip.family === family && prefixLength(c) === 0;
  } catch {
    return false;
  }
}

/** Sysctls of the container interface before its addresses go on (reference: errors ignored). */
function containerSysctls(cont: Netlink, ifName: string, enableDad: boolean): void {
  const set = (parts: string[], value: string): void => {
    try {
      writeSysctl(parts, value);
    } catch {
      // IPv6 disabled, or an old kernel without the knob
    }
  };
  cont.inNetns(() => {
    if (enableDad) {
      set(['net', 'ipv6', 'conf', ifName, 'enhanced_dad'], '1');
      set(['net', 'ipv6', 'conf', ifName, 'accept_dad'], '1');
    } else {
      set(['net', 'ipv6', 'conf', ifName, 'accept_dad'], '0');
    }
    set(['net', 'ipv4', 'conf', ifName, 'arp_notify'], '1');
  });
}

/**
 * Firewall changes: iptables ones run as child processes (iptables-restore), started as soon as their
 * inputs are known and awaited at the end, so they run on another core while this thread does the
 * synchronous netlink work; nftables ones are in-process netlink batches, done when started. A
 * rollback first waits for them to settle, then undoes them.
 */
class FirewallJobs {
  private readonly jobs: Promise<unknown>[] = [];

  start<T>(job: Promise<T>): Promise<T> {
    job.catch(() => undefined); // awaited in all(); never an unhandled rejection meanwhile
    this.jobs.push(job);
    return job;
  }

  settled(job: Promise<unknown>): Promise<void> {
    return job.then(
      () => undefined,
      () => undefined,
    );
  }

  async all(): Promise<void> {
    await Promise.all(this.jobs);
  }
}

export async function cmdAdd(args: CmdArgs): Promise<Result> {
  trace('add start');
  const conf = loadConf(args.stdinData, args.args);
  const masqBackend = validateForAdd(conf);
  const layer3 = isLayer3(conf);
  // An L2 result has no IP, which 0.1.0/0.2.0 cannot express: fail before changing anything.
  if (!layer3 && !versionAtLeast(effectiveVersion(args.cniVersion), '0.3.0')) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, 'cannot convert: no valid IP addresses');
  }

  // The container netns first: a bad CNI_NETNS must fail before the bridge is created.
  using ns = openContainerNetns(args.netns);
  using host = Netlink.open();
  const br = ensureBridge(host, {
    name: conf.bridge,
    mtu: conf.mtu,
    promiscMode: conf.promiscMode,
    vlanFiltering: wantsVlanFiltering(conf),
  });

  trace('bridge ready');
  using cont = Netlink.open(ns);
  const rollback = new Rollback();
  const firewall = new FirewallJobs();

  return await rollback.guard(async () => {
    const pair = setupVeth({ container: cont, host, ifName: args.ifName, mtu: conf.mtu > 0 ? conf.mtu : undefined, mac: conf.mac });
    rollback.add(() => {
      const still = cont.findLink(args.ifName);
      if (still && still.index === pair.contVeth.index) cont.deleteLink(still);
    });
    trace('veth created');
    attachPort(host, br, pair.hostVeth, {
      hairpin: conf.hairpinMode,
      isolated: conf.portIsolation,
      vlan: planPortVlans(conf.vlan, conf.trunkVlans, conf.preserveDefaultVlan),
    });
    trace('port attached');

    const hostIf: Interface = { name: pair.hostVeth.name, mac: pair.hostVeth.mac ?? '' };
    const contIf: Interface = { name: pair.contVeth.name, mac: pair.contVeth.mac ?? '', sandbox: args.netns };
    const brIf: Interface = { name: br.name, mac: br.mac ?? '' };
    const result: Result = { cniVersion: args.cniVersion, interfaces: [brIf, hostIf, contIf] };

    if (conf.macspoofchk) {
      const spoofID = { containerID: args.containerID, ifName: args.ifName };
      const job = firewall.start(setupMacSpoofCheck({ ...spoofID, hostIfName: hostIf.name, mac: contIf.mac ?? '' }));
      rollback.add(async () => {
        await firewall.settled(job);
        await teardownMacSpoofCheck(spoofID);
      });
    }

    if (layer3) {
      const ipamResult = await ipamAdd(conf.ipamType, args);
      trace('ipam done');
      rollback.add(() => ipamDelQuietly(conf.ipamType, args));
      checkAddressesFitVersion(args.cniVersion, ipamResult.ips ?? []);
      const ips = assignInterface(ipamResult.ips, CONTAINER_IF);
      const routes = [...(ipamResult.routes ?? [])];
      const gws = calcGateways(ips, routes, conf);
      result.ips = ips;
      result.routes = routes;
      if (ipamResult.dns) result.dns = ipamResult.dns;

      if (conf.ipMasq) {
        const id = { network: conf.name, containerID: args.containerID, ifName: args.ifName };
        const job = firewall.start(setupIPMasq(masqBackend, { ...id, ips: ips.map((i) => i.address) }));
        rollback.add(async () => {
          await firewall.settled(job);
          await teardownIPMasq(id);
        });
      }

      containerSysctls(cont, args.ifName, conf.enabledad);
      await configureIface(cont, args.ifName, result);
      trace('container configured');
      if (conf.isGateway) setGateways(host, br, conf, gws, result);
      trace('gateway done');
    } else if (!conf.disableContainerInterface) {
      try {
        cont.setLinkUp(pair.contVeth);
      } catch (err) {
        throw new Error(`failed to set ${JSON.stringify(args.ifName)} up: ${(err as Error).message}`, { cause: err });
      }
    }

    const hostVeth = conf.disableContainerInterface ? host.getLinkByIndex(pair.hostVeth.index) : await waitPortUp(host, pair.hostVeth.index);
    trace('port up');
    // MACs as they are now: the host end may have changed, the bridge takes a port's MAC unless pinned.
    hostIf.mac = hostVeth.mac ?? '';
    brIf.mac = bridgeByName(host, conf.bridge).mac ?? '';

    const dns = chooseDns(conf.dns, result.dns);
    if (dns) result.dns = dns;
    else delete result.dns;

    // A result the config's version cannot express fails here, inside the rollback.
    toVersion(result, args.cniVersion);
    await firewall.all();
    trace('add done');
    return result;
  });
}

/** Gateway addresses on the bridge (or the vlan gateway interface), then forwarding per family. */
function setGateways(host: Netlink, br: Link, conf: BridgeConf, gws: Gateways, result: Result): void {
  let vlanIf: Link | undefined;
  for (const [family, list] of [[4, gws.v4], [6, gws.v6]] as const) {
    for (const gw of list) {
      if (conf.vlan !== 0) {
        try {
          vlanIf ??= ensureVlanInterface(host, br, conf.vlan, conf.preserveDefaultVlan);
        } catch (err) {
          throw new Error(`failed to create vlan interface: ${(err as Error).message}`, { cause: err });
        }
        const name = vlanIf.name;
        if (!result.interfaces?.some((i) => i.name === name)) result.interfaces?.push({ name, mac: vlanIf.mac ?? '' });
        try {
          ensureAddr(host, vlanIf, gw, conf.forceAddress);
        } catch (err) {
          throw err instanceof CniError ? new CniError(err.code, `failed to set vlan interface for bridge with addr: ${err.msg}`, err.details) : new Error(`failed to set vlan interface for bridge with addr: ${(err as Error).message}`, { cause: err });
        }
      } else {
        try {
          ensureAddr(host, br, gw, conf.forceAddress);
        } catch (err) {
          throw err instanceof CniError ? new CniError(err.code, `failed to set bridge addr: ${err.msg}`, err.details) : new Error(`failed to set bridge addr: ${(err as Error).message}`, { cause: err });
        }
      }
    }
    if (list.length > 0) {
      try {
        enableForwarding(host, family);
      } catch (err) {
        throw new Error(`failed to enable forwarding: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
