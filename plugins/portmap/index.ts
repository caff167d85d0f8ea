// portmap: forwards host ports to a container (REFERENCE §3.13). Chained after a main plugin, it reads
// the container's addresses from prevResult, DNATs each runtimeConfig.portMappings entry to them with
// iptables or nftables, marks hairpin and localhost traffic for masquerading, and passes prevResult on.
// Beyond the reference: GC and STATUS, per-attachment records for them, conntrack cleanup on DEL too.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { Result } from '../../shared/cni/types.js';
import { checkMasqBackendUsable } from '../../shared/firewall/backend.js';
import { ToolMissingError } from '../../shared/firewall/exec.js';
import { type Family, formatCIDR, formatIP, type IPNet, parseCIDR } from '../../shared/ip/index.js';
import { type AttachmentKey, isValidAttachment } from '../../shared/state/attachments.js';
import { type Backend, containerIPs, loadConf, type PortMapping, requireChained, resolveBackend } from './config.js';
import { containersWithChains, readIptablesTable } from './iptables.js';
import { checkPorts, forwardPorts, unforwardPorts } from './mapper.js';
import { deleteStaleUdpConntrack, enableLocalnetRouting } from './node.js';
import { attachmentKey, type PortmapRecord, portmapStore } from './state.js';
import { errorText } from '../../shared/sys/error-text.js';

const describe = (e: unknown): string => (e instanceof CniError ? `${e.msg}${e.details ? `: ${e.details}` : ''}` : errorText(e));

/** The addresses to forward to, v4 first (the reference's order). */
function targets(prev: Result, ifName: string): IPNet[] {
  const ips = containerIPs(prev, ifName);
  return [ips.v4, ips.v6].filter((ip): ip is IPNet => ip !== undefined);
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdinData);
  const prev = requireChained(args.prevResult);
  const result: Result = { ...prev, cniVersion: args.cniVersion };
  if (conf.mappings.length === 0) return result;

  const backend = await resolveBackend(conf);
  const containers = targets(prev, args.ifName);
  if (containers.length === 0) return result;

  const store = portmapStore(args.env);
  const key = attachmentKey(conf.name, args.containerID, args.ifName);
  // Recorded before the kernel changes: a crash in between leaves a record that GC can act on.
  try {
    store.put(key, { backend, containerIPs: containers.map(formatCIDR), mappings: conf.mappings });
  } catch (e) {
    // Before any rule: nothing to undo. E.g. a network name too long for a directory (ENAMETOOLONG).
    throw new CniError(ErrorCode.IOFailure, `failed to record the attachment under ${store.dir}`, describe(e));
  }
  try {
    await forwardPorts(backend, conf, args.containerID, containers);
    // After the rules, so new UDP packets of a flow that went elsewhere are DNATed to this container.
    deleteStaleUdpConntrack(conf.mappings, containers.map((c) => c.ip.family));
    const v4 = containers.find((c) => c.ip.family === 4);
    if (v4 && conf.snat) enableLocalnetRouting(formatIP(v4.ip));
  } catch (e) {
    // A failed ADD leaves nothing behind (the reference leaves whatever it got to).
    try {
      await unforwardPorts(backend, conf.name, args.containerID, containers.map((c) => formatIP(c.ip)));
      store.remove(key);
    } catch (undo) {
      process.stderr.write(`portmap: undoing the failed ADD: ${describe(undo)}\n`);
    }
    throw e;
  }
  return result;
}

/** The container addresses a record names, or undefined without a record. */
function addressesOf(record: PortmapRecord | undefined): IPNet[] | undefined {
  return record?.containerIPs.flatMap((c) => {
    const net = parseCIDR(c);
    return net ? [net] : [];
  });
}

/**
 * Removes what one attachment installed (rules, UDP conntrack entries of its ports), then its record.
 * Without a record (an ADD by the reference, or state lost) every rule of the container ID goes.
 */
async function teardown(env: NodeJS.ProcessEnv, key: AttachmentKey, backend: Backend, mappings: readonly PortMapping[], record: PortmapRecord | undefined): Promise<void> {
  const addresses = addressesOf(record);
  await unforwardPorts(backend, key.network, key.containerID, addresses?.map((a) => formatIP(a.ip)));
  const families: Family[] = addresses && addresses.length > 0 ? addresses.map((a) => a.ip.family) : [4, 6];
  deleteStaleUdpConntrack(mappings, families);
  portmapStore(env).remove(key);
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const key = attachmentKey(conf.name, args.containerID, args.ifName);
  const record = portmapStore(args.env).get(key);
  // Nothing configured and nothing recorded: nothing of ours can exist (and no tool runs).
  if (conf.mappings.length === 0 && !record) return;
  const backend = record?.backend ?? (await resolveBackend(conf));
  await teardown(args.env, key, backend, [...(record?.mappings ?? []), ...conf.mappings], record);
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const prev = args.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'Required prevResult missing', 'prevResult: missing');
  if (conf.mappings.length === 0) return;
  const backend = await resolveBackend(conf);
  for (const container of targets(prev, args.ifName)) await checkPorts(backend, conf, args.containerID, container);
}

/**
 * GC: tears down every recorded attachment of this network that is not in cni.dev/valid-attachments,
 * and (iptables) every container chain whose dnat comment names this network and a container ID that
 * has no valid attachment, e.g. left by the reference plugin, which keeps no records.
 */
async function gc(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  const valid = args.validAttachments ?? [];
  const errors: string[] = [];
  for (const { key, record } of portmapStore(args.env).list(conf.name)) {
    if (isValidAttachment(key, valid)) continue;
    try {
      await teardown(args.env, key, record.backend, record.mappings, record);
    } catch (e) {
      errors.push(`${key.containerID}/${key.ifName}: ${describe(e)}`);
    }
  }
  // Chains without a record (the reference's ADDs): read after the teardowns above, so only those remain.
  const validIDs = new Set(valid.map((a) => a.containerID));
  const stale = new Set<string>();
  for (const family of [4, 6] as const) {
    try {
      const table = await readIptablesTable(family, 'nat');
      for (const id of containersWithChains(table, conf.name)) if (!validIDs.has(id)) stale.add(id);
    } catch (e) {
      // An iptables that cannot be read (not installed, no IPv6 netfilter) holds nothing we could remove.
      if (!(e instanceof ToolMissingError)) process.stderr.write(`portmap GC: IPv${family} nat table not read: ${describe(e)}\n`);
    }
  }
  for (const id of stale) {
    try {
      await unforwardPorts('iptables', conf.name, id);
    } catch (e) {
      errors.push(`${id}: ${describe(e)}`);
    }
  }
  if (errors.length > 0) throw new CniError(ErrorCode.IOFailure, 'portmap GC failed', errors.join('; '));
}

/** STATUS: code 50 when the configured backend (or, unset, both backends) cannot be used. */
async function status(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdinData);
  if (conf.backend) {
    const r = await checkMasqBackendUsable(conf.backend);
    if (!r.ok) throw new CniError(ErrorCode.NotAvailable, `portmap backend ${conf.backend} is not usable`, r.reason);
    return;
  }
  const [ipt, nft] = await Promise.all([checkMasqBackendUsable('iptables'), checkMasqBackendUsable('nftables')]);
  if (!ipt.ok && !nft.ok) throw new CniError(ErrorCode.NotAvailable, 'no portmap backend is usable', `${ipt.reason}; ${nft.reason}`);
}

export const plugin: Plugin = { name: 'portmap', description: 'CNI portmap plugin', resultAddresses: 'prevResult', add, del, check, gc, status };
