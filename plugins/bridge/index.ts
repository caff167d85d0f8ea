// bridge: containers on a Linux bridge through veth pairs (REFERENCE §3.1), plus GC and STATUS
// (CNI 1.1), which the reference leaves to IPAM only.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import { checkMasqBackendUsable, gcIPMasq, parseMasqBackend, type MasqBackend } from '../../shared/firewall/index.js';
import { ipamGc, ipamStatus } from '../../shared/ipam/index.js';
import { cmdAdd } from './add.js';
import { cmdCheck } from './check.js';
import { isLayer3, loadConf } from './config.js';
import { cmdDel } from './del.js';
import { errorText } from '../../shared/sys/error-text.js';

/**
 * GC: forwards to IPAM, and removes the masquerade rules of this network whose attachment is not in
 * cni.dev/valid-attachments (whatever the current ipMasq setting: rules left by an earlier config
 * are stale too). Keeps going past a failure and reports every one.
 */
async function gc(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData, args.args);
  const valid = args.validAttachments ?? [];
  const errors: string[] = [];
  const jobs: Promise<void>[] = [gcIPMasq(conf.name, valid).catch((e: unknown) => void errors.push(errorText(e)))];
  if (isLayer3(conf)) jobs.push(ipamGc(conf.ipamType, args).catch((e: unknown) => void errors.push(errorText(e))));
  await Promise.all(jobs);
  if (errors.length > 0) throw new CniError(ErrorCode.IOFailure, 'bridge GC failed', errors.join('; '));
}

/** Which backend an ADD would use, or why none works. */
async function masqUsability(configured: MasqBackend | undefined): Promise<string | undefined> {
  if (configured) {
    const r = await checkMasqBackendUsable(configured);
    return r.ok ? undefined : `ipMasq backend ${configured} is not usable: ${r.reason}`;
  }
  const [ipt, nft] = await Promise.all([checkMasqBackendUsable('iptables'), checkMasqBackendUsable('nftables')]);
  if (ipt.ok || nft.ok) return undefined;
  return `no ipMasq backend is usable: ${ipt.reason}; ${nft.reason}`;
}

/** STATUS: code 50 when ipMasq is on and its firewall cannot be used; then IPAM's STATUS. */
async function status(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData, args.args);
  if (conf.ipMasq && isLayer3(conf)) {
    const problem = await masqUsability(parseMasqBackend(conf.ipMasqBackend));
    if (problem) throw new CniError(ErrorCode.NotAvailable, problem);
  }
  if (isLayer3(conf)) await ipamStatus(conf.ipamType, args);
}

export const plugin: Plugin = {
  name: 'bridge',
  description: 'CNI bridge plugin',
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  gc,
  status,
};
