// The firewall side of portmap behind one interface (as the reference's PortMapper): install, verify
// and remove the forwarding of one container, with either backend. Tool failures become CniError 5.
import { checkFailed, CniError, ErrorCode } from '../../shared/cni/errors.js';
import { firewallError } from '../../shared/firewall/errors.js';
import { isNftablesUnavailable } from '../../shared/netfilter/nftables/index.js';
import type { SavedTable } from '../../shared/firewall/iptables-save.js';
import type { Family, IPNet } from '../../shared/ip/index.js';
import type { Backend, PortmapConf } from './config.js';
import { iptablesChainMayExist } from '../../shared/firewall/iptables-presence.js';
import { dnatChainName, iptablesCheck, iptablesPlan, iptablesSetup, iptablesTeardown, oldSnatChainName, readIptablesTable } from './iptables.js';
import { type HostportRule, nftCheck } from './nftables.js';
import { nftListTable, nftSetup, nftTeardown } from './nftables-apply.js';
import { errorText } from '../../shared/sys/error-text.js';

/** Installs the forwarding to each container address (ADD). */
export async function forwardPorts(backend: Backend, conf: PortmapConf, containerID: string, containers: readonly IPNet[]): Promise<void> {
  if (backend === 'nftables') {
    try {
      await nftSetup(conf, containerID, containers);
    } catch (e) {
      throw firewallError('unable to set up nftables rules for port mappings', e);
    }
    return;
  }
  for (const c of containers) {
    try {
      await iptablesSetup(iptablesPlan(conf, containerID, c));
    } catch (e) {
      throw firewallError(`unable to setup DNAT (IPv${c.ip.family})`, e);
    }
  }
}

/** The given families' nat tables, or why one cannot be read (no ip6tables, IPv6 disabled ...). */
async function readNatTables(families: readonly Family[] = [4, 6]): Promise<Map<Family, SavedTable | Error>> {
  const out = new Map<Family, SavedTable | Error>();
  for (const family of families) {
    try {
      out.set(family, await readIptablesTable(family, 'nat'));
    } catch (e) {
      out.set(family, e instanceof Error ? e : new Error(String(e)));
    }
  }
  return out;
}

/**
 * Removes the container's forwarding in both families (DEL, GC, a failed ADD). iptables finds it by
 * chain name; nftables by the container ID, limited to `addresses` when they are known (the record).
 * As the reference: a family whose iptables is unusable is skipped, both unusable is an error.
 */
export async function unforwardPorts(backend: Backend, network: string, containerID: string, addresses?: readonly string[]): Promise<void> {
  if (backend === 'nftables') {
    try {
      await nftTeardown(containerID, addresses);
    } catch (e) {
      // As the reference, whose DEL skips a family it cannot open: without nf_tables there is nothing to do.
      if (isNftablesUnavailable(e)) return;
      throw firewallError('error deleting nftables rules', e);
    }
    return;
  }
  // A family where neither of the container's chains can exist holds nothing to remove: its
  // iptables-save is skipped (iptables-presence.ts). Jumps to a chain cannot outlive the chain.
  const chains = [dnatChainName(network, containerID), oldSnatChainName(network, containerID)];
  const families = ([4, 6] as const).filter((f) => chains.some((c) => iptablesChainMayExist(f, 'nat', c)));
  if (families.length === 0) return;
  const tables = await readNatTables(families);
  const usable = [...tables].filter((entry): entry is [Family, SavedTable] => !(entry[1] instanceof Error));
  if (usable.length === 0) {
    const why = [...tables].map(([f, e]) => `(ip${f === 6 ? '6' : ''}tables) ${errorText(e)}`).join(', ');
    throw new CniError(ErrorCode.IOFailure, 'neither iptables nor ip6tables is usable', why);
  }
  for (const [family, table] of usable) {
    try {
      await iptablesTeardown(family, network, containerID, table);
    } catch (e) {
      throw firewallError(`could not teardown ipv${family} dnat`, e);
    }
  }
}

/**
 * CHECK: the container's rules for one address. A family whose firewall cannot be read at all (a node
 * without IPv6 netfilter) is not checked: there is nothing there the ADD could have written.
 */
export async function checkPorts(backend: Backend, conf: PortmapConf, containerID: string, container: IPNet): Promise<void> {
  const family = container.ip.family;
  if (backend === 'nftables') {
    let rules: HostportRule[];
    try {
      rules = nftListTable(family);
    } catch (e) {
      if (isNftablesUnavailable(e)) throw firewallError('nftables is not usable', e);
      if (family === 6) return;
      throw firewallError('could not list nftables rules', e);
    }
    const missing = nftCheck(conf, containerID, container, rules);
    if (missing) throw checkFailed(missing);
    return;
  }
  let table: SavedTable;
  try {
    table = await readIptablesTable(family, 'nat');
  } catch (e) {
    if (family === 6) return;
    throw firewallError('could not read the iptables nat table', e);
  }
  const missing = iptablesCheck(table, iptablesPlan(conf, containerID, container));
  if (missing) throw checkFailed(`could not check ipv${family} dnat: ${missing}`);
}
