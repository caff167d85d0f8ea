// loopback: brings `lo` up in the container and reports its addresses (REFERENCE §3.7).
// CNI_IFNAME is ignored, as in the reference: the plugin always acts on `lo`.
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { IPConfig, Result } from '../../shared/cni/types.js';
import { openContainerNetns, openContainerNetnsIfPresent } from '../../shared/container/netns.js';
import { Netlink, type NetnsHandle } from '../../shared/netlink/index.js';
import * as v from '../../build/generated/validators/loopback.js';

const LOOPBACK = 'lo';

/** The config is only checked (code 7 on a wrong type), as the reference decodes types.NetConf. */
const loadConf = (args: CmdArgs): void => void parseConfig(args.stdinData, v);

function withLoopback<T>(ns: NetnsHandle, fn: (nl: Netlink, index: number) => T): T {
  const nl = Netlink.open(ns);
  try {
    return fn(nl, nl.getLink(LOOPBACK).index);
  } finally {
    nl.close();
  }
}

/** Every address on lo must be a loopback address; report the first of each family. */
function loopbackIPs(nl: Netlink, index: number): IPConfig[] {
  const ips: IPConfig[] = [];
  for (const family of [4, 6] as const) {
    const addrs = nl.listAddresses({ ifindex: index, family });
    for (const a of addrs) {
      const isLoopback = family === 4 ? a.ip.startsWith('127.') : a.ip === '::1';
      if (!isLoopback) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, `loopback interface found with non-loopback address "${a.address}"`);
      }
    }
    if (addrs[0]) ips.push({ interface: 0, address: addrs[0].address });
  }
  return ips;
}

async function add(args: CmdArgs): Promise<Result> {
  loadConf(args);
  using ns = openContainerNetns(args.netns);
  const ips = withLoopback(ns, (nl, index) => {
    nl.setLinkUp(index);
    return loopbackIPs(nl, index);
  });
  // A chained loopback passes the previous result through untouched.
  if (args.prevResult) return { ...args.prevResult, cniVersion: args.cniVersion };
  return {
    cniVersion: args.cniVersion,
    interfaces: [{ name: LOOPBACK, mac: '00:00:00:00:00:00', sandbox: args.netns }],
    ips,
  };
}

async function del(args: CmdArgs): Promise<void> {
  loadConf(args);
  using ns = openContainerNetnsIfPresent(args.netns);
  if (!ns) return; // the namespace is gone: nothing left to undo
  withLoopback(ns, (nl, index) => nl.setLinkDown(index));
}

async function check(args: CmdArgs): Promise<void> {
  loadConf(args);
  using ns = openContainerNetns(args.netns);
  const up = withLoopback(ns, (nl, index) => nl.getLinkByIndex(index).up);
  if (!up) throw new CniError(ErrorCode.InvalidNetworkConfig, 'loopback interface "lo" is down');
}

export const plugin: Plugin = { name: 'loopback', description: 'CNI loopback plugin', resultAddresses: 'self', add, del, check };
