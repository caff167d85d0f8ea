// ipMasq for bridge and ptp: set up, tear down and garbage-collect masquerading of container
// addresses, with the reference's iptables and nftables rule forms. Every ADD or DEL is one
// transaction per firewall (iptables: one restore per address family; nftables: one nf_tables
// netlink batch, in-process), computed from the state read just before.
import type { Attachment } from '../cni/types.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import { familyBits, parseCIDR, type Family, type IPNet } from '../ip/index.js';
import { checkIptablesFamilyUsable, checkMasqBackendUsable, type BackendUsability, type MasqBackend } from './backend.js';
import { firewallError } from './errors.js';
import { ToolMissingError } from './exec.js';
import { changeIptablesTable, tryIptablesRestore } from './iptables.js';
import type { SavedTable } from './iptables-save.js';
import { iptablesChainMayExist } from './iptables-presence.js';
import {
  iptablesChainRemovalLines,
  iptablesMasqChain,
  iptablesMasqComment,
  iptablesMasqNewChainLines,
  iptablesMasqSetupLines,
  NAT_TABLE,
  staleIptablesMasqChains,
} from './ipmasq-iptables.js';
import {
  NFT_MASQ_CHAIN,
  NFT_MASQ_TABLE,
  nftInstanceHash,
  nftMasqComment,
  nftRulesWithCommentPrefix,
  staleNftMasqHandles,
} from './ipmasq-nftables.js';
import { nftMasqDeleteBatch, nftMasqSetupBatch } from './ipmasq-nft-batch.js';
import type { NftRuleInfo } from './nft-json.js';
import { changeNftables, listNftRules, type NftBatch } from '../netfilter/nftables/index.js';

/** Which masquerade rules: the reference keys them by network name, container ID and interface. */
export interface MasqIdentity {
  readonly network: string;
  readonly containerID: string;
  readonly ifName: string;
}

export interface MasqAttachment extends MasqIdentity {
  /** The container's addresses as CIDRs with host bits, e.g. "10.1.2.3/24". */
  readonly ips: readonly string[];
}

const FAMILIES: readonly Family[] = [4, 6];

function parseAddresses(ips: readonly string[]): IPNet[] {
  return ips.map((text) => {
    const net = parseCIDR(text);
    // The callers pass IPAM results they already validated: a bad value here is a bug.
    if (!net || net.maskBits !== familyBits(net.ip.family)) {
      throw new CniError(ErrorCode.Internal, `ipMasq: invalid container address ${JSON.stringify(text)}`);
    }
    return net;
  });
}

const ofFamily = (nets: readonly IPNet[], family: Family): IPNet[] => nets.filter((n) => n.ip.family === family);

async function setupIptables(att: MasqAttachment, nets: readonly IPNet[]): Promise<void> {
  const chain = iptablesMasqChain(att.network, att.containerID);
  const comment = iptablesMasqComment(att.network, att.containerID);
  await Promise.all(
    FAMILIES.filter((f) => ofFamily(nets, f).length > 0).map(async (family) => {
      // A new container (the usual ADD) first, without reading the table; a repeated ADD, or one
      // over the reference's rules, finds its chain there and goes the read-compute-write way.
      if (await tryIptablesRestore(family, NAT_TABLE, iptablesMasqNewChainLines(ofFamily(nets, family), chain, comment))) return;
      await changeIptablesTable(family, NAT_TABLE, (t) => iptablesMasqSetupLines(t, ofFamily(nets, family), chain, comment));
    }),
  );
}

/** Read-compute-commit on masq_checks (re-read when a handle vanished in between). */
async function changeNftMasq(batch: (rules: readonly NftRuleInfo[]) => NftBatch): Promise<void> {
  changeNftables((sock) => listNftRules(sock, 'inet', NFT_MASQ_TABLE, NFT_MASQ_CHAIN), batch);
}

async function setupNftables(att: MasqAttachment, nets: readonly IPNet[]): Promise<void> {
  const prefix = nftInstanceHash(att.network, att.ifName, att.containerID);
  const comment = nftMasqComment(att.network, att.ifName, att.containerID);
  await changeNftMasq((rules) =>
    nftMasqSetupBatch(
      nftRulesWithCommentPrefix(rules, prefix).map((r) => r.handle),
      nets,
      comment,
    ),
  );
}

/**
 * Masquerade traffic from `att.ips` to anything outside their subnets (multicast excepted).
 * Idempotent. `backend` undefined applies the reference's default: iptables, unless iptables does
 * not work (its tools are missing or cannot read the nat table) and nftables does. Resolves with
 * the backend used. Throws CniError 5 when the firewall refuses the change.
 */
export async function setupIPMasq(backend: MasqBackend | undefined, att: MasqAttachment): Promise<MasqBackend> {
  const nets = parseAddresses(att.ips);
  if (nets.length === 0) return backend ?? 'iptables';
  if (backend === undefined) {
    // The reference's default: iptables, unless it does not work and nftables does. Trying the change
    // is the probe (no process of its own when iptables works); only a failure asks whether iptables
    // works at all.
    try {
      await setupIptables(att, nets);
      return 'iptables';
    } catch (e) {
      if ((await checkMasqBackendUsable('iptables')).ok || !(await checkMasqBackendUsable('nftables')).ok) {
        throw firewallError('failed to set up IP masquerade (iptables)', e);
      }
    }
  }
  const chosen: MasqBackend = backend ?? 'nftables';
  try {
    if (chosen === 'iptables') await setupIptables(att, nets);
    else await setupNftables(att, nets);
  } catch (e) {
    throw firewallError(`failed to set up IP masquerade (${chosen})`, e);
  }
  return chosen;
}

/**
 * A firewall whose tool is missing, or that fails its usability probe, holds nothing of ours: its
 * failure is not an error (the reference ignores teardown errors of unsupported backends too).
 */
async function unlessUnusable(
  label: string,
  probe: () => Promise<BackendUsability>,
  action: () => Promise<void>,
): Promise<string | undefined> {
  try {
    await action();
    return undefined;
  } catch (e) {
    if (e instanceof ToolMissingError) return undefined;
    if (!(await probe()).ok) return undefined;
    return `${label}: ${(e as Error).message}`;
  }
}

const nftUsable = (): Promise<BackendUsability> => checkMasqBackendUsable('nftables');

/**
 * Removes the chains `chainsOf` picks from each family's nat table. With `known` (a DEL, which knows
 * its chain's name), a family where that chain certainly does not exist is skipped without running
 * iptables-save (see iptables-presence.ts).
 */
async function removeIptablesChains(chainsOf: (t: SavedTable) => ReadonlySet<string>, known?: string): Promise<string | undefined> {
  const errors = await Promise.all(
    FAMILIES.filter((family) => known === undefined || iptablesChainMayExist(family, NAT_TABLE, known)).map((family) =>
      unlessUnusable(family === 4 ? 'iptables' : 'ip6tables', () => checkIptablesFamilyUsable(family), () =>
        changeIptablesTable(family, NAT_TABLE, (t) => iptablesChainRemovalLines(t, chainsOf(t))),
      ),
    ),
  );
  const failed = errors.filter((e): e is string => e !== undefined);
  return failed.length > 0 ? failed.join('; ') : undefined;
}

function throwIfAny(what: string, errors: readonly (string | undefined)[]): void {
  const failed = errors.filter((e): e is string => e !== undefined);
  if (failed.length > 0) throw new CniError(ErrorCode.IOFailure, what, failed.join('\n'));
}

/**
 * Remove the masquerade rules of one attachment from both backends (it may have been created by
 * another version or config). Needs no addresses: iptables rules are found by chain name (every jump
 * to CNI-<hash>, whatever its source address), nftables rules by comment prefix. Succeeds when
 * nothing is there and when a backend is not installed or not supported by the kernel.
 */
export async function teardownIPMasq(id: MasqIdentity): Promise<void> {
  const chain = iptablesMasqChain(id.network, id.containerID);
  const prefix = nftInstanceHash(id.network, id.ifName, id.containerID);
  const errors = await Promise.all([
    removeIptablesChains(() => new Set([chain]), chain),
    unlessUnusable('nftables', nftUsable, () =>
      changeNftMasq((rules) => nftMasqDeleteBatch(nftRulesWithCommentPrefix(rules, prefix).map((r) => r.handle))),
    ),
  ]);
  throwIfAny('failed to tear down IP masquerade', errors);
}

/**
 * GC: remove the masquerade rules of `network` whose attachment is not in `valid`.
 * nftables rules are matched per (containerID, ifname). The iptables comment carries no interface
 * name, so an iptables chain is kept when its container ID is valid with any interface name.
 */
export async function gcIPMasq(network: string, valid: readonly Attachment[]): Promise<void> {
  const validIDs = valid.map((a) => a.containerID);
  const errors = await Promise.all([
    removeIptablesChains((t) => staleIptablesMasqChains(t, network, validIDs)),
    unlessUnusable('nftables', nftUsable, () => changeNftMasq((rules) => nftMasqDeleteBatch(staleNftMasqHandles(rules, network, valid)))),
  ]);
  throwIfAny('failed to garbage-collect IP masquerade', errors);
}
