// The iptables form of ipMasq, identical to the reference's so either implementation can remove what
// the other created: per (network, containerID) a nat chain "CNI-<hash>" holding
//   -d <subnet> -j ACCEPT            (traffic within the container's subnet is left alone)
//   ! -d <multicast> -j MASQUERADE   (everything else but multicast is masqueraded)
// and in POSTROUTING a jump "-s <ip> -j CNI-<hash>", every rule commented `name: "<net>" id: "<cid>"`.
// Like the reference, this form ignores the interface name (its comment has no room for it).
// All functions here are pure: they turn an iptables-save dump into iptables-restore input.
import { formatCIDR, formatNetwork, hostNetOf, type Family, type IPNet } from '../ip/index.js';
import { goQuote } from './goquote.js';
import { formatChainName } from './hash.js';
import { formatRuleArgs, jumpTarget, ruleComment, ruleKey, type SavedTable } from './iptables-save.js';

export const NAT_TABLE = 'nat';
const POSTROUTING = 'POSTROUTING';
const MULTICAST: Readonly<Record<Family, string>> = { 4: '224.0.0.0/4', 6: 'ff00::/8' };
/** Chains this module creates look like this; nothing else is ever deleted by GC. */
const MASQ_CHAIN_PATTERN = /^CNI-[0-9a-f]{24}$/;

export const iptablesMasqChain = formatChainName;

/** The reference's FormatComment: `name: %q id: %q`. */
export function iptablesMasqComment(network: string, containerID: string): string {
  return `name: ${goQuote(network)} id: ${goQuote(containerID)}`;
}

const commented = (comment: string): string[] => ['-m', 'comment', '--comment', comment];

/** The three rules of one address, in the order the reference appends them. */
export function masqRulesFor(ip: IPNet, chain: string, comment: string): { chain: string; args: string[] }[] {
  const family = ip.ip.family;
  return [
    { chain, args: ['-d', formatNetwork(ip), ...commented(comment), '-j', 'ACCEPT'] },
    { chain, args: ['!', '-d', MULTICAST[family], ...commented(comment), '-j', 'MASQUERADE'] },
    { chain: POSTROUTING, args: ['-s', formatCIDR(hostNetOf(ip.ip)), ...commented(comment), '-j', chain] },
  ];
}

/**
 * Restore lines that add the masquerade rules of `ips` (all of one family) to `table`, with the
 * reference's "append unless already present" semantics: a repeated ADD, or an ADD over rules the
 * reference created, adds nothing. Returns [] when everything is already in place.
 */
export function iptablesMasqSetupLines(table: SavedTable, ips: readonly IPNet[], chain: string, comment: string): string[] {
  const declare = table.chains.has(chain) ? [] : [`:${chain} - [0:0]`];
  // A chain that exists and already holds every rule needs no transaction at all.
  return [...declare, ...masqAppendLines(new Set(table.rules.map((r) => ruleKey(r.chain, r.args))), ips, chain, comment)];
}

/** `-A` lines of the masquerade rules not in `present` (rule keys), each once. */
function masqAppendLines(present: Set<string>, ips: readonly IPNet[], chain: string, comment: string): string[] {
  const lines: string[] = [];
  for (const ip of ips) {
    for (const rule of masqRulesFor(ip, chain, comment)) {
      const key = ruleKey(rule.chain, rule.args);
      if (present.has(key)) continue;
      present.add(key);
      lines.push(`-A ${rule.chain} ${formatRuleArgs(rule.args)}`);
    }
  }
  return lines;
}

/**
 * The lines iptablesMasqSetupLines returns for a table without `chain` (a new container): the chain
 * created with `-N`, which makes the restore fail as a whole when the chain exists after all (see
 * iptables.ts tryIptablesRestore). A jump to a chain cannot exist without the chain, so nothing else
 * needs checking.
 */
export function iptablesMasqNewChainLines(ips: readonly IPNet[], chain: string, comment: string): string[] {
  return [`-N ${chain}`, ...masqAppendLines(new Set(), ips, chain, comment)];
}

/**
 * Restore lines that delete `chains` from `table`: first every rule anywhere in the table that jumps
 * to one of them (the POSTROUTING jumps, whatever source address they match, so no address is needed),
 * then flush and delete the chains. Returns [] when none of them exists.
 */
export function iptablesChainRemovalLines(table: SavedTable, chains: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  for (const rule of table.rules) {
    const target = jumpTarget(rule);
    if (target !== undefined && chains.has(target) && !chains.has(rule.chain)) {
      lines.push(`-D ${rule.chain} ${formatRuleArgs(rule.args)}`);
    }
  }
  const existing = [...chains].filter((c) => table.chains.has(c));
  for (const c of existing) lines.push(`-F ${c}`);
  for (const c of existing) lines.push(`-X ${c}`);
  return lines;
}

/**
 * The masquerade chains of `network` that GC should delete: chains named like ours whose rules carry
 * this network's comment for a container ID that is not valid. The comment holds no interface name,
 * so a chain is kept when its container ID is valid with any interface name.
 */
export function staleIptablesMasqChains(table: SavedTable, network: string, validContainerIDs: Iterable<string>): Set<string> {
  const prefix = `name: ${goQuote(network)} id: `;
  const validComments = new Set([...validContainerIDs].map((cid) => iptablesMasqComment(network, cid)));
  const stale = new Set<string>();
  for (const rule of table.rules) {
    if (!MASQ_CHAIN_PATTERN.test(rule.chain)) continue;
    const comment = ruleComment(rule);
    if (comment === undefined || !comment.startsWith(prefix)) continue;
    if (!validComments.has(comment)) stale.add(rule.chain);
  }
  return stale;
}
