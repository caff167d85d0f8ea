// bridge DEL: idempotent and best effort (REFERENCE §3.1, §1.10). The container link is deleted if
// the netns and the link are still there; IPAM is released and the firewall state is removed in
// every case (found by comment / chain name, so no addresses are needed).
import type { CmdArgs } from '../../shared/cni/plugin.js';
import { openContainerNetnsIfPresent } from '../../shared/container/netns.js';
import { teardownIPMasq, teardownMacSpoofCheck } from '../../shared/firewall/index.js';
import { ipamDel } from '../../shared/ipam/index.js';
import { isErrno, Netlink } from '../../shared/netlink/index.js';
import { isLayer3, loadConf } from './config.js';
import { trace } from './trace.js';

function deleteContainerLink(netnsPath: string, ifName: string): void {
  using ns = openContainerNetnsIfPresent(netnsPath);
  if (!ns) return;
  using cont = Netlink.open(ns);
  const link = cont.findLink(ifName);
  if (!link) return;
  trace('link found');
  try {
    // The kernel's own veth teardown (synchronize_net) is most of a DEL's time.
    cont.deleteLink(link);
  } catch (err) {
    if (!isErrno(err, 'ENODEV')) throw new Error(`failed to delete ${JSON.stringify(ifName)}: ${(err as Error).message}`, { cause: err });
  }
}

export async function cmdDel(args: CmdArgs): Promise<void> {
  trace('del start');
  const conf = loadConf(args.stdinData, args.args);
  const tasks: Promise<void>[] = [];
  // The firewall teardowns need no addresses (rules are found by chain name and comment), so their
  // tool processes start first and run on another core while this thread deletes the link.
  if (isLayer3(conf) && conf.ipMasq) {
    tasks.push(teardownIPMasq({ network: conf.name, containerID: args.containerID, ifName: args.ifName }));
  }
  if (conf.macspoofchk) {
    tasks.push(
      teardownMacSpoofCheck({ containerID: args.containerID, ifName: args.ifName }).catch((err: unknown) => {
        // As the reference: a spoof-check teardown failure is reported, not fatal.
        process.stderr.write(`${(err as Error).message}\n`);
      }),
    );
  }
  for (const t of tasks) t.catch(() => undefined);
  try {
    deleteContainerLink(args.netns, args.ifName);
    trace('link deleted');
  } finally {
    // The IPAM release must happen even if the link could not be deleted (spec: DEL is best effort).
    if (isLayer3(conf)) tasks.push(ipamDel(conf.ipamType, args));
    const outcomes = await Promise.allSettled(tasks);
    trace('del done');
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
