// bridge CHECK (REFERENCE §3.1): IPAM CHECK (L3 only: an L2 config has no IPAM to ask, where the
// reference fails on the empty type), then the links of prevResult against the kernel, then the
// container's addresses and routes. Messages are the reference's.
import { checkFailed } from '../../shared/cni/errors.js';
import type { CmdArgs } from '../../shared/cni/plugin.js';
import type { Interface, Result } from '../../shared/cni/types.js';
import { openContainerNetns } from '../../shared/container/netns.js';
import { requirePrevResult, validateExpectedInterfaceIPs, validateExpectedRoute } from '../../shared/iface/check.js';
import { isVeth } from '../../shared/iface/veth.js';
import { ipamCheck } from '../../shared/ipam/index.js';
import { type Link, Netlink } from '../../shared/netlink/index.js';
import { type BridgeConf, isLayer3, loadConf } from './config.js';

interface Found {
  link: Link;
}

/** validateInterface: the prevResult entry must name a link here, in or out of a sandbox as expected. */
function lookup(nl: Netlink, intf: Interface, expectInSandbox: boolean): Link {
  if (!intf.name) throw checkFailed('Interface name missing ');
  const link = nl.findLink(intf.name);
  if (!link) throw checkFailed(`Interface name ${intf.name} not found`);
  if (expectInSandbox && !intf.sandbox) throw checkFailed(`Interface ${intf.name} is expected to be in a sandbox`);
  if (!expectInSandbox && intf.sandbox) throw checkFailed(`Interface ${intf.name} should not be in sandbox`);
  return link;
}

function checkBridge(host: Netlink, intf: Interface, conf: BridgeConf): Found {
  const link = lookup(host, intf, false);
  if (link.kind !== 'bridge') throw checkFailed(`Interface ${intf.name} does not have link type of bridge`);
  if (intf.mac && intf.mac !== link.mac) throw checkFailed(`Bridge interface ${intf.name} Mac doesn't match: ${intf.mac}`);
  if (link.promisc !== conf.promiscMode) {
    throw checkFailed(`Bridge interface ${intf.name} configured Promisc Mode ${conf.promiscMode} doesn't match current state: ${link.promisc} `);
  }
  return { link };
}

function checkContainer(cont: Netlink, intf: Interface): Found {
  const link = lookup(cont, intf, true);
  if (!isVeth(link)) throw checkFailed(`Error: Container interface ${link.name} not of type veth`);
  if (intf.mac && intf.mac !== link.mac) {
    throw checkFailed(`Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac ?? ''}`);
  }
  return { link };
}

/** The host veth: a veth whose peer is the container link and whose master is the bridge. */
function isOurVeth(host: Netlink, intf: Interface, br: Link, contLink: Link): boolean {
  const link = lookup(host, intf, false);
  if (!isVeth(link)) return false;
  if (link.index !== contLink.linkIndex || link.linkIndex !== contLink.index || link.masterIndex !== br.index) return false;
  if (intf.mac && intf.mac !== link.mac) throw checkFailed(`Interface ${intf.name} Mac doesn't match: ${intf.mac} not found`);
  return true;
}

export async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData, args.args);
  const prev: Result = requirePrevResult(args.prevResult, 'Required prevResult missing');
  using ns = openContainerNetns(args.netns);
  if (isLayer3(conf)) await ipamCheck(conf.ipamType, args);

  const interfaces = prev.interfaces ?? [];
  let brMap: Interface = { name: '' };
  let contMap: Interface = { name: '' };
  for (const intf of interfaces) {
    if (intf.name === conf.bridge) brMap = intf;
    else if (intf.name === args.ifName && intf.sandbox === args.netns) contMap = intf;
  }

  using host = Netlink.open();
  using cont = Netlink.open(ns);
  const br = checkBridge(host, brMap, conf);
  if (args.netns !== contMap.sandbox) {
    throw checkFailed(`Sandbox in prevResult ${contMap.sandbox ?? ''} doesn't match configured netns: ${args.netns}`);
  }
  const contFound = checkContainer(cont, contMap);

  let vethFound = false;
  for (const intf of interfaces) {
    if (intf.name === brMap.name || intf.name === contMap.name) continue;
    if (isOurVeth(host, intf, br.link, contFound.link)) {
      vethFound = true;
      break;
    }
  }
  if (!vethFound) throw checkFailed(`CNI veth created for bridge ${conf.bridge} was not found`);

  validateExpectedInterfaceIPs(cont, args.ifName, prev.ips ?? []);
  validateExpectedRoute(cont, prev.routes ?? []);
}
