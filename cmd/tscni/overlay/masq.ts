// -ip-masq: masquerade traffic that leaves the cluster network, with flanneld's rule set
// (REFERENCE-flannel.md §2 "-ip-masq rules"), through the suite's firewall layer: iptables as one
// `iptables-restore --noflush` (nat table, chain FLANNEL-POSTRTG, comment "flanneld masq"), or
// nftables as one nf_tables netlink transaction (its own table; masq-nft-batch.ts, no `nft`).
// Re-applying replaces the rules in the same transaction, so a changed lease never leaves the old
// subnet's rules behind.
import { checkMasqBackendUsable, type MasqBackend } from '../../../shared/firewall/backend.js';
import { ToolMissingError } from '../../../shared/firewall/exec.js';
import { changeIptablesTable } from '../../../shared/firewall/iptables.js';
import { formatRuleArgs, jumpTarget, type SavedTable } from '../../../shared/firewall/iptables-save.js';
import { iptablesChainRemovalLines, NAT_TABLE } from '../../../shared/firewall/ipmasq-iptables.js';
import { commitNftBatch, isNftablesUnavailable } from '../../../shared/netfilter/nftables/index.js';
import { errorText } from '../../../shared/sys/error-text.js';
import { KUBE_MARK, MASQ_CHAIN, MASQ_COMMENT, NFT_CHAIN, NFT_TABLE } from './masq-names.js';
import { nftMasqBatch, nftMasqRemovalBatch } from './masq-nft-batch.js';

export { MASQ_CHAIN, MASQ_COMMENT, NFT_TABLE } from './masq-names.js';

const hex = (v: number): string => `0x${v.toString(16)}`;

/** The FLANNEL-POSTRTG rules, in flanneld's order (cluster = Network, pod = this node's subnet). */
export function iptablesMasqRules(cluster: string, pod: string): string[][] {
  const c = ['-m', 'comment', '--comment', MASQ_COMMENT];
  return [
    ['-m', 'mark', '--mark', `${hex(KUBE_MARK.value)}/${hex(KUBE_MARK.mask)}`, ...c, '-j', 'RETURN'],
    ['-s', pod, '-d', cluster, ...c, '-j', 'RETURN'],
    ['-s', cluster, '-d', pod, ...c, '-j', 'RETURN'],
    ['!', '-s', cluster, '-d', pod, ...c, '-j', 'RETURN'],
    ['-s', cluster, '!', '-d', '224.0.0.0/4', ...c, '-j', 'MASQUERADE', '--random-fully'],
    ['!', '-s', cluster, '-d', cluster, ...c, '-j', 'MASQUERADE', '--random-fully'],
  ];
}

/** Restore lines that make the chain hold exactly the rules and POSTROUTING jump to it once. */
export function iptablesMasqLines(t: SavedTable, cluster: string, pod: string): string[] {
  const lines = [t.chains.has(MASQ_CHAIN) ? `-F ${MASQ_CHAIN}` : `:${MASQ_CHAIN} - [0:0]`];
  for (const r of iptablesMasqRules(cluster, pod)) lines.push(`-A ${MASQ_CHAIN} ${formatRuleArgs(r)}`);
  const jumps = t.rules.some((r) => r.chain === 'POSTROUTING' && jumpTarget(r) === MASQ_CHAIN);
  if (!jumps) lines.push(`-I POSTROUTING 1 ${formatRuleArgs(['-m', 'comment', '--comment', MASQ_COMMENT, '-j', MASQ_CHAIN])}`);
  return lines;
}

/**
 * The nftables rules as nft text: the readable form of nftMasqBatch (which the agent commits over
 * netlink) and the tests' oracle. "add" first so that "delete" never fails on a missing table: the
 * three replace our table atomically.
 */
export function nftMasqScript(cluster: string, pod: string): string {
  return [
    nftMasqRemovalScript().trimEnd(),
    `table ip ${NFT_TABLE} {`,
    `  chain ${NFT_CHAIN} {`,
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    meta mark & ${hex(KUBE_MARK.mask)} == ${hex(KUBE_MARK.value)} return comment "${MASQ_COMMENT}"`,
    `    ip saddr ${pod} ip daddr ${cluster} return comment "${MASQ_COMMENT}"`,
    `    ip saddr ${cluster} ip daddr ${pod} return comment "${MASQ_COMMENT}"`,
    `    ip saddr != ${cluster} ip daddr ${pod} return comment "${MASQ_COMMENT}"`,
    `    ip saddr ${cluster} ip daddr != 224.0.0.0/4 masquerade fully-random comment "${MASQ_COMMENT}"`,
    `    ip saddr != ${cluster} ip daddr ${cluster} masquerade fully-random comment "${MASQ_COMMENT}"`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The removal as nft text (the readable form of nftMasqRemovalBatch). */
export const nftMasqRemovalScript = (): string => `add table ip ${NFT_TABLE}\ndelete table ip ${NFT_TABLE}\n`;

/** flanneld's EnableNFTables picks nftables; otherwise iptables, or nftables where iptables does not work. */
export async function chooseMasqBackend(enableNFTables: boolean): Promise<MasqBackend> {
  if (enableNFTables) return 'nftables';
  if ((await checkMasqBackendUsable('iptables')).ok) return 'iptables';
  return (await checkMasqBackendUsable('nftables')).ok ? 'nftables' : 'iptables';
}

/**
 * Installs the rules with `backend` (one transaction), then removes any left in the other backend
 * by an earlier run with another config; returns the failures of that removal as text.
 */
export async function setupMasq(backend: MasqBackend, cluster: string, pod: string): Promise<string[]> {
  if (backend === 'iptables') await changeIptablesTable(4, NAT_TABLE, (t) => iptablesMasqLines(t, cluster, pod));
  else commitNftBatch(nftMasqBatch(cluster, pod));
  return removeMasq(backend === 'iptables' ? ['nftables'] : ['iptables']);
}

/** Removes our rules from these backends; a backend that is not installed holds none. Returns failures as text. */
export async function removeMasq(backends: readonly MasqBackend[] = ['iptables', 'nftables']): Promise<string[]> {
  const errors: string[] = [];
  if (backends.includes('iptables')) {
    try {
      await changeIptablesTable(4, NAT_TABLE, (t) => iptablesChainRemovalLines(t, new Set([MASQ_CHAIN])));
    } catch (err) {
      if (!(err instanceof ToolMissingError) && (await checkMasqBackendUsable('iptables')).ok) errors.push(`iptables: ${errorText(err)}`);
    }
  }
  if (backends.includes('nftables')) {
    try {
      commitNftBatch(nftMasqRemovalBatch());
    } catch (err) {
      // A kernel without nf_tables holds no rules of ours.
      if (!isNftablesUnavailable(err) && (await checkMasqBackendUsable('nftables')).ok) errors.push(`nftables: ${errorText(err)}`);
    }
  }
  return errors;
}
