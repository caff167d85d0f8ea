// macvlan: a macvlan link over a master, created directly in the container netns (REFERENCE §3.3).
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
import { type Link, Netlink, type NetnsHandle } from '../../shared/netlink/index.js';
import type { MacvlanMode, MacvlanOptions } from '../../shared/netlink/link-types.js';
import * as v from '../../build/generated/validators/macvlan.js';
import {
  checkMtu, chooseMac, createAndRename, defaultRouteInterface, deleteContainerLink, deleteLinkIfPresent, invalid, lookupMaster, setNotify,
} from './lib.js';

export interface MacvlanConf {
  cniVersion: string;
  name: string;
  master?: string;
  mode?: string;
  mtu?: number;
  mac?: string;
  linkInContainer?: boolean;
  bcqueuelen?: number;
  ipam?: { type?: string };
  dns?: DNS;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
}

const MODES: readonly string[] = ['bridge', 'private', 'vepa', 'passthru'];

export function parseMode(mode: string | undefined): MacvlanMode {
  const m = mode ?? '';
  if (m === '') return 'bridge';
  if (!MODES.includes(m)) throw invalid(`unknown macvlan mode: ${JSON.stringify(m)}`);
  return m as MacvlanMode;
}

export function loadConf(args: CmdArgs): MacvlanConf {
  return parseConfig<MacvlanConf>(args.stdinData, v);
}

/** Where the master lives: the container netns with linkInContainer, else the plugin's own. */
function masterHandle(conf: MacvlanConf, ns: NetnsHandle): Netlink {
  return conf.linkInContainer ? Netlink.open(ns) : Netlink.open();
}

/** The master link, by name or as the default-route interface, MTU-checked. */
function resolveMaster(conf: MacvlanConf, nl: Netlink): Link {
  const name = conf.master || defaultRouteInterface(nl, conf.linkInContainer ? 'the container netns' : 'the host netns');
  const master = lookupMaster(nl, name);
  checkMtu(conf.mtu, master);
  return master;
}

/**
 * The link to create, named `name`: an `mtu` or `bcqueuelen` of 0 means "inherit / kernel default", so
 * it is left out. No txqueuelen either: the kernel default (1000), as the latest reference
 * (containernetworking/plugins#1100); Debian's 1.1.1 created macvlans with 0.
 */
export function macvlanOptions(conf: MacvlanConf, name: string, masterIndex: number, mode: MacvlanMode, mac: string | undefined): MacvlanOptions {
  return {
    name,
    masterIndex,
    mode,
    ...(conf.mtu ? { mtu: conf.mtu } : {}),
    ...(mac ? { mac } : {}),
    ...(conf.bcqueuelen ? { bcQueueLen: conf.bcqueuelen } : {}),
  };
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args);
  const mode = parseMode(conf.mode);
  using ns = openContainerNetns(args.netns);
  using hostNl = masterHandle(conf, ns);
  const master = resolveMaster(conf, hostNl);
  const mac = chooseMac(conf, args.args);
  using nl = Netlink.open(ns);

  const link = createAndRename(nl, args.ifName, 'macvlan', (tmp) =>
    hostNl.createMacvlan({
      ...macvlanOptions(conf, tmp, master.index, mode, mac),
      // Created from the master's netns straight into the container's (no move afterwards).
      ...(conf.linkInContainer ? {} : { netns: ns }),
    }),
  );
  const rollback = new Rollback();
  rollback.add(() => deleteLinkIfPresent(nl, args.ifName));

  const result: Result = {
    cniVersion: args.cniVersion,
    interfaces: [{ name: args.ifName, mac: link.mac ?? '', sandbox: args.netns }],
  };
  await rollback.guard(async () => {
    if (hasIpam(conf)) {
      await withIpam(ipamType(conf), args, async (ipamResult) => {
        await applyIpamResult(nl, args.ifName, result, ipamResult, () => setNotify(nl, args.ifName));
      });
    } else {
      nl.setLinkUp(link);
    }
  });
  // macvlan reports the conf's DNS only: the IPAM's is dropped, as the reference does.
  if (conf.dns) result.dns = conf.dns;
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  // DEL reads the config without the ADD-time checks: the master may be gone already.
  const conf = loadConf(args);
  if (hasIpam(conf)) await ipamDel(ipamType(conf), args);
  deleteContainerLink(args.netns, args.ifName, 'macvlan');
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args);
  const mode = parseMode(conf.mode);
  const prev = requirePrevResult(args.prevResult);
  using ns = openContainerNetns(args.netns);
  {
    using hostNl = masterHandle(conf, ns);
    resolveMaster(conf, hostNl);
  }
  chooseMac(conf, args.args);
  if (hasIpam(conf)) await ipamCheck(ipamType(conf), args);
  const intf = containerInterfaceOf(prev, args.ifName, args.netns);
  using nl = Netlink.open(ns);
  const link = checkContainerLink(nl, intf);
  if (link.kind !== 'macvlan') throw checkFailed(`error: Container interface ${link.name} not of type macvlan`);
  if (link.macvlanMode !== mode) {
    throw checkFailed(`container macvlan mode ${link.macvlanMode ?? 'unknown'} does not match expected value: ${mode}`);
  }
  checkLinkMac(link, intf);
  validateExpectedInterfaceIPs(nl, args.ifName, prev.ips ?? []);
  validateExpectedRoute(nl, prev.routes ?? []);
}

export const plugin: Plugin = {
  name: 'macvlan',
  description: 'CNI macvlan plugin',
  add,
  del,
  check,
  ...forwardStatusAndGcToIpam(loadConf),
};
