// vrf: puts a chained interface into a VRF device of the container netns, creating the VRF on
// first use and deleting it with its last interface (REFERENCE §3.18).
import { checkFailed, CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { Result } from '../../shared/cni/types.js';
import { openContainerNetns, openContainerNetnsIfPresent } from '../../shared/container/netns.js';
import { type Link, Netlink } from '../../shared/netlink/index.js';
import { writeStderr } from '../../shared/sys/stdio.js';
import { loadConf } from './config.js';
import { addInterface, createVrf, findVrf, slavesOf } from './vrf.js';
import { errorText } from '../../shared/sys/error-text.js';

const missingPrev = (): CniError => new CniError(ErrorCode.InvalidNetworkConfig, 'missing prevResult from earlier plugin');

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdinData);
  const prev = args.prevResult;
  if (!prev) throw missingPrev();
  const wantTable = conf.table ?? 0;
  using ns = openContainerNetns(args.netns);
  using nl = Netlink.open(ns);
  let vrf = findVrf(nl, conf.vrfname);
  if (vrf && wantTable !== 0 && vrf.vrfTable !== wantTable) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `VRF ${conf.vrfname} already exist with different routing table ${vrf.vrfTable ?? 0}`, `table: ${wantTable}`);
  }
  const created = !vrf;
  vrf ??= createVrf(nl, conf.vrfname, wantTable);
  let enslaved: Link | undefined;
  try {
    await addInterface(nl, vrf, conf.vrfname, args.ifName, () => {
      enslaved = nl.findLink(args.ifName);
    });
  } catch (err) {
    undoAdd(nl, vrf, enslaved, created);
    throw err;
  }
  return { ...prev, cniVersion: args.cniVersion };
}

/** A failed ADD: release the interface if we enslaved it, and drop a VRF we created that is now empty. */
function undoAdd(nl: Netlink, vrf: Link, enslaved: Link | undefined, created: boolean): void {
  try {
    if (enslaved) nl.setMaster(enslaved, 0);
    if (created && slavesOf(nl, vrf).length === 0) nl.deleteLink(vrf);
  } catch (err) {
    writeStderr(`vrf: undoing a failed ADD: ${errorText(err)}\n`);
  }
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  using ns = openContainerNetnsIfPresent(args.netns);
  if (!ns) return;
  using nl = Netlink.open(ns);
  const vrf = nl.findLink(conf.vrfname);
  // No VRF of that name: nothing of ours to undo (a link of another kind is not ours either).
  if (!vrf || vrf.kind !== 'vrf') return;
  const link = nl.findLink(args.ifName);
  if (link && link.masterIndex === vrf.index) {
    try {
      nl.setMaster(link, 0);
    } catch (err) {
      throw new Error(`resetMaster: could not reset master to ${args.ifName}: ${errorText(err)}`, { cause: err });
    }
  }
  if (slavesOf(nl, vrf).length === 0) nl.deleteLink(vrf);
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  if (!args.prevResult) throw missingPrev();
  using ns = openContainerNetns(args.netns);
  using nl = Netlink.open(ns);
  const vrf = nl.findLink(conf.vrfname);
  if (!vrf) throw checkFailed(`VRF ${conf.vrfname} not found`);
  if (vrf.kind !== 'vrf') throw checkFailed(`Netlink ${conf.vrfname} is not a VRF`);
  if (!slavesOf(nl, vrf).some((l) => l.name === args.ifName)) {
    throw checkFailed(`Failed to find ${args.ifName} associated to vrf ${conf.vrfname}`);
  }
}

export const plugin: Plugin = {
  name: 'vrf',
  description: 'CNI vrf plugin',
  resultAddresses: 'prevResult',
  supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'],
  add,
  del,
  check,
};
