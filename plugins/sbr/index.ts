// sbr: source-based routing for a chained interface. Each prevResult address gets a policy rule
// `from <ip> lookup <table>` and its own table holding the interface's routes, so replies leave
// through the interface their source address belongs to (REFERENCE §3.17).
import { checkFailed, CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { IPConfig, Result } from '../../shared/cni/types.js';
import { openContainerNetns, openContainerNetnsIfPresent } from '../../shared/container/netns.js';
import { withFileLock } from '../../shared/lock/flock.js';
import { Netlink } from '../../shared/netlink/index.js';
import { writeStderr } from '../../shared/sys/stdio.js';
import { addressesOf, loadConf, parseGateways } from './config.js';
import { addRulesOnly, addTables, deleteRules, missingRules, UndoLog } from './routing.js';

// The reference's message; the details name the missing key.
const chainedOnly = (): CniError => new CniError(ErrorCode.InvalidNetworkConfig, 'This plugin must be called as chained plugin', 'prevResult is missing');

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdinData);
  const prev = args.prevResult;
  if (!prev) throw chainedOnly();
  const ips = addressesOf(prev, args.ifName);
  // Checked before the kernel is touched; only used (and so only checked) without `table`, as the reference.
  const gateways = conf.table === undefined ? parseGateways(conf.gateways) : {};
  using ns = openContainerNetns(args.netns);
  // The reference serialises every sbr call on one container by an flock on the netns file.
  withFileLock(args.netns, () => {
    using nl = Netlink.open(ns);
    const undo = new UndoLog();
    try {
      if (conf.table !== undefined) addRulesOnly(nl, ips, conf.table, undo);
      else addTables(nl, args.ifName, ips, { gateways, addSourceHints: conf.addSourceHints === true, warn: (l) => writeStderr(`sbr: ${l}\n`) }, undo);
    } catch (err) {
      const left = undo.rollback();
      if (left.length > 0) writeStderr(`sbr: undoing a failed ADD: ${left.join('; ')}\n`);
      throw err;
    }
  });
  return { ...prev, cniVersion: args.cniVersion };
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  // Nothing to undo when the namespace is gone: the rules lived inside it.
  using ns = openContainerNetnsIfPresent(args.netns);
  if (!ns) return;
  withFileLock(args.netns, () => {
    using nl = Netlink.open(ns);
    const link = nl.findLink(args.ifName);
    if (!link) return;
    deleteRules(nl, link, conf.table, prevAddresses(args));
  });
}

/** The prevResult's addresses of this interface, for DEL ([] without a usable prevResult). */
function prevAddresses(args: CmdArgs): IPConfig[] {
  if (!args.prevResult?.ips?.length) return [];
  try {
    return addressesOf(args.prevResult, args.ifName);
  } catch {
    return []; // DEL is best effort: a prevResult it cannot use must not block the teardown
  }
}

/** The reference's CHECK does nothing; ours verifies that each address still has its rule. */
async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const prev = args.prevResult;
  if (!prev) return;
  const ips = addressesOf(prev, args.ifName);
  using ns = openContainerNetns(args.netns);
  using nl = Netlink.open(ns);
  const missing = missingRules(nl, ips, conf.table);
  if (missing.length > 0) throw checkFailed(`sbr: rule ${missing.join(', ')} not found in the container netns`);
}

export const plugin: Plugin = { name: 'sbr', description: 'CNI sbr plugin', resultAddresses: 'prevResult', add, del, check };
