// bandwidth: shapes a container's traffic on the host side of its veth (REFERENCE §3.15). Ingress
// (into the container) is shaped on the host veth; egress is redirected from the host veth's
// ingress to an ifb device and shaped there. Chained only: the host veth comes from prevResult.
import { checkFailed, CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { Interface, Result } from '../../shared/cni/types.js';
import { openContainerNetns } from '../../shared/container/netns.js';
import { isValidAttachment } from '../../shared/state/attachments.js';
import { type Link, Netlink } from '../../shared/netlink/index.js';
import { TC_H_INGRESS, TC_H_ROOT } from '../../shared/netlink/tc.js';
import { TrafficControl } from '../../shared/netlink/tc-control.js';
import { parseConfig } from '../../shared/cni/config.js';
import * as v from '../../build/generated/validators/bandwidth.js';
import { type Bandwidth, type BandwidthConf, type Direction, loadConf, withSubnets } from './config.js';
import { SysError } from '../../shared/sys/libc.js';
import { createIfb, deleteIfb, formatIfbAlias, ifbName, parseIfbAlias } from './ifb.js';
import { checkShaping } from './check.js';
import { createRedirect, createShaping, INGRESS_HANDLE, pschedClock, ROOT_HANDLE, usesHtb } from './shaping.js';
import { errorText } from '../../shared/sys/error-text.js';
import { attachmentKey, bandwidthStore, putRecord } from './state.js';
import { Rollback } from '../../shared/ipam/index.js';

const notChained = (msg: string, details: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg, details);

/**
 * The reference's getHostInterface: the peer of `<if>`'s veth, found by the peer ifindex, must be a
 * host-side interface (no sandbox) of prevResult.
 */
function hostInterface(prev: Result, ifName: string, netnsPath: string, host: Netlink): { iface: Interface; link: Link } {
  const interfaces = prev.interfaces ?? [];
  if (interfaces.length === 0) throw notChained('no interfaces provided', 'prevResult.interfaces is empty');
  let peerIndex = -1;
  let why = '';
  {
    using ns = openContainerNetns(netnsPath);
    using nl = Netlink.open(ns);
    const link = nl.findLink(ifName);
    if (!link) why = `could not look up "${ifName}": Link not found`;
    else if (link.kind !== 'veth') why = `interface "${ifName}" was not a veth interface`;
    else peerIndex = link.linkIndex ?? -1;
  }
  if (peerIndex <= 0) throw notChained(`container interface ${ifName} has no veth peer: ${why || 'no peer index'}`, `CNI_IFNAME=${JSON.stringify(ifName)}`);
  const peer = host.findLinkByIndex(peerIndex);
  if (!peer) throw notChained(`veth peer with index ${peerIndex} is not in host ns`, `CNI_IFNAME=${JSON.stringify(ifName)}`);
  const iface = interfaces.find((i) => !i.sandbox && i.name === peer.name);
  if (!iface) {
    throw notChained('no veth peer of container interface found in host ns', `host veth ${JSON.stringify(peer.name)} is not a host interface of prevResult`);
  }
  return { iface, link: peer };
}

/**
 * Runs one direction's kernel work; a refusal (e.g. a rate the kernel's tbf cannot take) stays
 * code 100 but names the configured keys and values, which the kernel's errno alone does not.
 */
function naming<T>(prefix: string, dir: 'ingress' | 'egress', d: Direction, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CniError || !(err instanceof SysError)) throw err;
    throw new CniError(ErrorCode.KernelRefused, err.message, `${prefix}${dir}Rate=${d.rateBits}, ${prefix}${dir}Burst=${d.burstBits}`);
  }
}

async function add(args: CmdArgs): Promise<Result> {
  const loaded = loadConf(args);
  const prev = args.prevResult;
  if (!loaded.bandwidth) return prev ? { ...prev, cniVersion: args.cniVersion } : { cniVersion: args.cniVersion };
  const bw = withSubnets(loaded) as Bandwidth;
  if (!prev) throw notChained('must be called as chained plugin', 'prevResult is missing');
  const { conf } = loaded;
  using host = Netlink.open();
  const { iface, link: veth } = hostInterface(prev, args.ifName, args.netns, host);
  using tc = TrafficControl.open();
  const htb = usesHtb(bw);
  const result: Result = { ...prev, cniVersion: args.cniVersion, interfaces: [...(prev.interfaces ?? [])] };
  const rollback = new Rollback();
  await rollback.guard(async () => {
    if (bw.ingress) {
      // Into the container: shaped (or, with unshapedSubnets, spared) by destination.
      const exclude = bw.unshaped.length > 0;
      const ingress = bw.ingress;
      rollback.add(naming(bw.keyPrefix, 'ingress', ingress, () => createShaping(tc, veth.index, ingress, exclude ? bw.unshaped : bw.shaped, exclude, htb)));
    }
    if (bw.egress) {
      const name = ifbName(conf.name, args.containerID);
      // The latest reference gives the ifb txqueuelen 0; its HTB line raised it to the veth's, at least 1000.
      const txQLen = htb ? Math.max(veth.txQLen, 1000) : 0;
      const alias = formatIfbAlias({ network: conf.name, containerID: args.containerID, ifName: args.ifName, hostVeth: iface.name });
      // The record first: an ADD killed between the ifb's creation and its alias leaves an ifb GC finds.
      const store = bandwidthStore(args.env);
      const key = attachmentKey(conf.name, args.containerID, args.ifName);
      if (putRecord(store, key, { ifb: name })) rollback.add(() => store.remove(key));
      const ifb = await createIfb(host, { name, mtu: veth.mtu, txQLen, alias });
      rollback.add(() => deleteIfb(host, name));
      result.interfaces?.push({ name, mac: ifb.mac ?? '' });
      rollback.add(createRedirect(tc, veth.index, ifb.index));
      const include = bw.shaped.length > 0;
      const egress = bw.egress;
      naming(bw.keyPrefix, 'egress', egress, () => createShaping(tc, ifb.index, egress, include ? bw.shaped : bw.unshaped, !include, htb));
    }
  });
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  // Only the network name is needed: a config whose rates ADD refused must not make DEL fail too
  // (the reference's DEL re-runs those checks and fails; a runtime would retry it forever).
  const conf = parseConfig<BandwidthConf>(args.stdinData, v);
  using host = Netlink.open();
  deleteIfb(host, ifbName(conf.name, args.containerID));
  bandwidthStore(args.env).remove(attachmentKey(conf.name, args.containerID, args.ifName));
}

async function check(args: CmdArgs): Promise<void> {
  const loaded = loadConf(args);
  const prev = args.prevResult;
  if (!prev) throw notChained('must be called as a chained plugin', 'prevResult is missing');
  using host = Netlink.open();
  const { link: veth } = hostInterface(prev, args.ifName, args.netns, host);
  if (!loaded.bandwidth) return;
  let bw: Bandwidth;
  try {
    bw = withSubnets(loaded) as Bandwidth;
  } catch (err) {
    if (err instanceof CniError) throw new CniError(err.code, `failed to check subnets, details ${err.msg}`, err.details);
    throw err;
  }
  using tc = TrafficControl.open();
  if (bw.ingress) checkShaping(tc, veth, bw.ingress, bw);
  if (bw.egress) {
    const name = ifbName(loaded.conf.name, args.containerID);
    const ifb = host.findLink(name);
    if (!ifb) throw checkFailed(`get ifb device: Link not found`);
    checkShaping(tc, ifb, bw.egress, bw);
  }
}

/** GC: the ifbs we created for this network (found by alias) whose attachment is no longer valid. */
async function gc(args: CmdArgs): Promise<void> {
  const { conf } = loadConf(args);
  const valid = args.validAttachments ?? [];
  using host = Netlink.open();
  using tc = TrafficControl.open();
  const store = bandwidthStore(args.env);
  const errors: string[] = [];
  const links = host.listLinks();
  for (const link of links) {
    if (link.kind !== 'ifb') continue;
    const owner = parseIfbAlias(link.alias);
    if (!owner || owner.network !== conf.name) continue;
    if (isValidAttachment({ containerID: owner.containerID, ifName: owner.ifName }, valid)) continue;
    try {
      // The host veth outlived its container: remove the redirect to this ifb (a mirred action to a
      // deleted device would drop every packet) and the shaping we put on its root, then the ifb.
      const veth = links.find((l) => l.name === owner.hostVeth);
      if (veth) {
        const redirects = tc.listFilters(veth.index, INGRESS_HANDLE).some((f) => f.mirredTo.includes(link.index));
        if (redirects) {
          tc.deleteQdisc(veth.index, INGRESS_HANDLE, TC_H_INGRESS);
          const root = tc.listQdiscs(veth.index).find((q) => q.parent === TC_H_ROOT && q.handle === ROOT_HANDLE && (q.kind === 'tbf' || q.kind === 'htb'));
          if (root) tc.deleteQdisc(veth.index, ROOT_HANDLE, TC_H_ROOT);
        }
      }
      deleteIfb(host, link.name);
      store.remove(attachmentKey(conf.name, owner.containerID, owner.ifName));
    } catch (err) {
      errors.push(`${link.name}: ${errorText(err)}`);
    }
  }
  // Records of stale attachments: the ifb of an ADD killed before it got its alias (or none left).
  for (const { key, record } of store.list(conf.name)) {
    if (isValidAttachment(key, valid)) continue;
    try {
      const link = host.findLink(record.ifb);
      // Only an ifb that carries no alias, or ours for this very attachment: never someone else's.
      const owner = parseIfbAlias(link?.alias);
      const ours = !link?.alias || (owner?.network === key.network && owner.containerID === key.containerID && owner.ifName === key.ifName);
      if (link && ours) deleteIfb(host, record.ifb);
      store.remove(key);
    } catch (err) {
      errors.push(`${record.ifb}: ${errorText(err)}`);
    }
  }
  if (errors.length > 0) throw new CniError(ErrorCode.KernelRefused, 'bandwidth GC failed', errors.join('; '));
}

/** STATUS: shaping needs the kernel's packet scheduler clock; without it no TBF can be computed. */
async function status(args: CmdArgs): Promise<void> {
  loadConf(args);
  try {
    pschedClock();
  } catch (err) {
    throw new CniError(ErrorCode.NotAvailable, 'traffic control is not usable: cannot read /proc/net/psched', errorText(err));
  }
}

export const plugin: Plugin = {
  name: 'bandwidth',
  description: 'CNI bandwidth plugin',
  resultAddresses: 'prevResult',
  supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
  add,
  del,
  check,
  gc,
  status,
};
