// firewall: a chained plugin that lets the container's addresses through the node's firewall
// (REFERENCE §3.14). Backends: iptables (the reference's rules), nftables (ours) and firewalld (over
// D-Bus); ingressPolicy same-bridge / isolated isolates bridges from each other.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { Result } from '../../shared/cni/types.js';
import { parseCIDR, type IPNet } from '../../shared/ip/index.js';
import { AttachmentStore, isValidAttachment, DEFAULT_STATE_ROOT, type AttachmentKey } from '../../shared/state/attachments.js';
import type { AttachmentId, FirewallBackend, FirewallRecord, FirewallRequest } from './backend.js';
import { loadConfig, type BackendName, type FirewallConfig } from './config.js';
import { iptablesBackend } from './iptables.js';
import { nftablesBackend } from './nftables.js';
import { backendStatus } from './status.js';
import { gcNftables } from './gc.js';

const MISSING_PREV = 'missing prevResult from earlier plugin';

/** The state root: TSCNI_STATE_DIR (tests) or /var/lib/cni/tscni. */
const storeOf = (args: CmdArgs): AttachmentStore<FirewallRecord> =>
  new AttachmentStore<FirewallRecord>('firewall', args.env.TSCNI_STATE_DIR || DEFAULT_STATE_ROOT);

function addressesOf(strings: readonly string[]): IPNet[] {
  return strings.map((s) => {
    const net = parseCIDR(s);
    if (!net) throw new CniError(ErrorCode.InvalidNetworkConfig, `prevResult: invalid address ${JSON.stringify(s)}`);
    return net;
  });
}

/**
 * The backend to use. An explicit one is used as is; otherwise the reference's rule: firewalld when
 * its name has an owner on the system bus, else iptables (no bus socket at all: iptables at once).
 */
async function openBackend(name: BackendName | undefined, args: CmdArgs): Promise<FirewallBackend> {
  if (name === 'iptables') return iptablesBackend();
  if (name === 'nftables') return nftablesBackend();
  const fw = await import('./firewalld.js');
  let conn;
  try {
    conn = await fw.connectSystemBus(args.env);
  } catch (e) {
    if (name === 'firewalld') throw new CniError(ErrorCode.IOFailure, 'failed to connect to the system bus for firewalld', (e as Error).message);
    return iptablesBackend();
  }
  if (name === 'firewalld') {
    if (!conn) throw new CniError(ErrorCode.IOFailure, 'failed to connect to the system bus for firewalld', 'no system bus socket');
    return fw.firewalldBackend(conn);
  }
  if (conn && (await fw.firewalldOwnsName(conn).catch(() => false))) return fw.firewalldBackend(conn);
  conn?.close();
  return iptablesBackend();
}

async function withBackend<T>(name: BackendName | undefined, args: CmdArgs, f: (b: FirewallBackend) => Promise<T>): Promise<T> {
  const backend = await openBackend(name, args);
  try {
    return await f(backend);
  } finally {
    backend.close();
  }
}

const attachmentOf = (config: FirewallConfig, args: CmdArgs): AttachmentId => ({
  network: config.network,
  containerID: args.containerID,
  ifName: args.ifName,
});

function requestOf(config: FirewallConfig, args: CmdArgs, prev: Result): FirewallRequest {
  const ips = addressesOf((prev.ips ?? []).map((ip) => ip.address));
  if (config.ingressPolicy === 'open') return { config, attachment: attachmentOf(config, args), ips };
  const bridge = prev.interfaces?.[0]?.name;
  if (prev.interfaces === undefined || prev.interfaces.length === 0) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `interface needs to be set for ingress policy ${JSON.stringify(config.ingressPolicy)}, make sure to chain "firewall" plugin with "bridge"`,
    );
  }
  if (!bridge) throw new CniError(ErrorCode.InvalidNetworkConfig, 'got empty bridge name');
  return { config, attachment: attachmentOf(config, args), ips, isolation: { bridge, policy: config.ingressPolicy } };
}

const keyOf = (config: FirewallConfig, args: CmdArgs): AttachmentKey => attachmentOf(config, args);

async function add(args: CmdArgs): Promise<Result> {
  const config = loadConfig(args.stdinData);
  if (!args.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, MISSING_PREV);
  const req = requestOf(config, args, args.prevResult);
  const store = storeOf(args);
  await withBackend(config.backend, args, async (backend) => {
    const record: FirewallRecord = { backend: backend.name, ips: (args.prevResult?.ips ?? []).map((ip) => ip.address), zone: config.zone, adminChain: config.adminChain };
    // Recorded before the rules exist, so a DEL without prevResult or a GC finds them even if we die.
    try {
      store.put(keyOf(config, args), record);
    } catch (e) {
      throw new CniError(ErrorCode.IOFailure, `failed to record the attachment under ${store.dir}`, (e as Error).message);
    }
    try {
      // Each backend's add takes back what it did when it fails (iptables: the address rules of the
      // family written before the other failed; firewalld: the sources it added; nftables: one
      // transaction). The shared per-bridge isolation chains stay, as they do on DEL.
      await backend.add(req);
    } catch (e) {
      store.remove(keyOf(config, args));
      throw e;
    }
  });
  // The previous result, unchanged (the skel prints it in the config's version).
  return { ...args.prevResult, cniVersion: args.cniVersion };
}

async function del(args: CmdArgs): Promise<void> {
  const config = loadConfig(args.stdinData);
  const store = storeOf(args);
  const key = keyOf(config, args);
  const record = store.get(key);
  const ips = args.prevResult ? (args.prevResult.ips ?? []).map((ip) => ip.address) : (record?.ips ?? []);
  const recorded: FirewallConfig = record
    ? { ...config, zone: record.zone ?? config.zone, adminChain: record.adminChain ?? config.adminChain }
    : config;
  // What ADD used wins over what the config says now; ingress policy chains are never removed.
  await withBackend(record?.backend ?? config.backend, args, (backend) =>
    backend.del({ config: recorded, attachment: attachmentOf(config, args), ips: addressesOf(ips) }),
  );
  store.remove(key);
}

async function check(args: CmdArgs): Promise<void> {
  const config = loadConfig(args.stdinData);
  if (!args.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, MISSING_PREV);
  const req = requestOf(config, args, args.prevResult);
  await withBackend(config.backend, args, (backend) => backend.check(req));
}

/**
 * GC: the rules of this network's attachments that are not in cni.dev/valid-attachments. The ADD
 * records name them (iptables rules carry no comment, firewalld sources no owner); nftables rules
 * are also found by their comment, so they go even when a record is lost.
 */
async function gc(args: CmdArgs): Promise<void> {
  const config = loadConfig(args.stdinData);
  const store = storeOf(args);
  const valid = args.validAttachments ?? [];
  const errors: string[] = [];
  for (const { key, record } of store.list(config.network)) {
    if (isValidAttachment(key, valid)) continue;
    const recorded: FirewallConfig = { ...config, zone: record.zone ?? config.zone, adminChain: record.adminChain ?? config.adminChain };
    try {
      await withBackend(record.backend, args, (backend) =>
        backend.del({ config: recorded, attachment: { network: key.network, containerID: key.containerID, ifName: key.ifName }, ips: addressesOf(record.ips) }),
      );
      store.remove(key);
    } catch (e) {
      errors.push(`${key.containerID}/${key.ifName}: ${e instanceof CniError ? `${e.msg}${e.details ? `: ${e.details}` : ''}` : (e as Error).message}`);
    }
  }
  const nftError = await gcNftables(config.network, valid);
  if (nftError) errors.push(nftError);
  if (errors.length > 0) throw new CniError(ErrorCode.IOFailure, 'firewall GC failed', errors.join('; '));
}

async function status(args: CmdArgs): Promise<void> {
  const config = loadConfig(args.stdinData);
  const problem = await backendStatus(config.backend, args.env);
  if (problem) throw new CniError(ErrorCode.NotAvailable, problem.msg, problem.details);
}

export const plugin: Plugin = {
  name: 'firewall',
  description: 'CNI firewall plugin',
  resultAddresses: 'prevResult',
  supportedVersions: ['0.4.0', '1.0.0', '1.1.0'],
  add,
  del,
  check,
  gc,
  status,
};
