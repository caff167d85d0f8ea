// -ip-masq: masquerade traffic that leaves the cluster network, with flanneld's rule set
// (REFERENCE-flannel.md §2 "-ip-masq rules"), through the suite's firewall layer: iptables as one
// `iptables-restore --noflush` (nat table, chain FLANNEL-POSTRTG, comment "flanneld masq"), or
// nftables as one `nft -f -` (its own table). Re-applying replaces the chain's rules in the same
// transaction, so a changed lease never leaves the old subnet's rules behind.
import { checkMasqBackendUsable, type MasqBackend } from '../../../shared/firewall/backend.js';
import { ToolMissingError } from '../../../shared/firewall/exec.js';
import { changeIptablesTable } from '../../../shared/firewall/iptables.js';
import { formatRuleArgs, jumpTarget, type SavedTable } from '../../../shared/firewall/iptables-save.js';
import { iptablesChainRemovalLines, NAT_TABLE } from '../../../shared/firewall/ipmasq-iptables.js';
import { nftApply } from '../../../shared/firewall/nft.js';
import { errorText } from '../../../shared/sys/error-text.js';

export const MASQ_CHAIN = 'FLANNEL-POSTRTG';
export const MASQ_COMMENT = 'flanneld masq';
export const NFT_TABLE = 'tscni-overlay';
/** Packets kube-proxy marked for masquerading are left to kube-proxy's own rule. */
const KUBE_MARK = '0x4000/0x4000';

/** The FLANNEL-POSTRTG rules, in flanneld's order (cluster = Network, pod = this node's subnet). */
export function iptablesMasqRules(cluster: string, pod: string): string[][] {
  const c = ['-m', 'comment', '--comment', MASQ_COMMENT];
  return [
    ['-m', 'mark', '--mark', KUBE_MARK, ...c, '-j', 'RETURN'],
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

/** One nft script: (re)create our table with flanneld's rules in a srcnat postrouting chain. */
export function nftMasqScript(cluster: string, pod: string): string {
  return [
    // "add" first so that "delete" never fails on a missing table: the pair replaces it atomically.
    `add table ip ${NFT_TABLE}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    '  chain postrtg {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    meta mark & 0x4000 == 0x4000 return comment "${MASQ_COMMENT}"`,
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
  else await nftApply(nftMasqScript(cluster, pod));
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
      await nftApply(`add table ip ${NFT_TABLE}\ndelete table ip ${NFT_TABLE}\n`);
    } catch (err) {
      if (!(err instanceof ToolMissingError) && (await checkMasqBackendUsable('nftables')).ok) errors.push(`nftables: ${errorText(err)}`);
    }
  }
  return errors;
}
