// The nftables form of ipMasq, identical to the reference's (knftables based):
//   table inet cni_plugins_masquerade
//     chain postrouting (nat hook, srcnat): multicast returns, then `goto masq_checks`
//     chain masq_checks: per address `ip saddr == <ip> ip daddr != <subnet> masquerade comment "..."`
// The comment starts with "<h16(net)>-<h16(if:cid)>" so rules are found again by prefix: the instance
// prefix for teardown, the network prefix for GC. All functions here are pure.
import { formatIP, formatNetwork, type IPNet } from '../ip/index.js';
import { formatHashWithPrefix } from './hash.js';
import type { NftRuleInfo } from './nft-json.js';

export const NFT_MASQ_TABLE = 'cni_plugins_masquerade';
export const NFT_MASQ_CHAIN = 'masq_checks';
/** knftables' CommentLengthMax: the kernel keeps at most this many bytes of a rule comment. */
export const NFT_COMMENT_MAX_BYTES = 128;

export const NFT_MASQ_TABLE_COMMENT = 'Masquerading for plugins from github.com/containernetworking/plugins';
export const NFT_MASQ_CHAIN_COMMENT = 'Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet';
const TABLE = `inet ${NFT_MASQ_TABLE}`;

export function nftNetworkHash(network: string): string {
  return formatHashWithPrefix(16, '', network);
}

export function nftInstanceHash(network: string, ifName: string, containerID: string): string {
  return `${nftNetworkHash(network)}-${formatHashWithPrefix(16, '', `${ifName}:${containerID}`)}`;
}

/** Cut to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= max) return s;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * "<hash>, net: <net>, if: <if>, id: <cid>" with double quotes removed (nft comments cannot escape
 * them), cut to 128 bytes. The hash prefix alone identifies the instance.
 */
export function nftMasqComment(network: string, ifName: string, containerID: string): string {
  const noQuotes = (s: string): string => s.replaceAll('"', '');
  const full = `${nftInstanceHash(network, ifName, containerID)}, net: ${noQuotes(network)}, if: ${noQuotes(ifName)}, id: ${noQuotes(containerID)}`;
  return truncateUtf8(full, NFT_COMMENT_MAX_BYTES);
}

/** The masq rule of one address (body after "add rule <table> masq_checks"). */
export function nftMasqRule(ip: IPNet, comment: string): string {
  const proto = ip.ip.family === 4 ? 'ip' : 'ip6';
  const subnet = formatNetwork(ip);
  return `${proto} saddr == ${formatIP(ip.ip)} ${proto} daddr != ${subnet} masquerade comment "${comment}"`;
}

/**
 * The ADD transaction: ensure the table and both chains, rewrite the postrouting chain (as the
 * reference does on every ADD), delete this instance's stale rules and add one rule per address.
 */
export function nftMasqSetupScript(staleHandles: readonly number[], ips: readonly IPNet[], comment: string): string {
  const lines = [
    `add table ${TABLE} { comment "${NFT_MASQ_TABLE_COMMENT}" ; }`,
    `add chain ${TABLE} ${NFT_MASQ_CHAIN} { comment "${NFT_MASQ_CHAIN_COMMENT}" ; }`,
    `add chain ${TABLE} postrouting { type nat hook postrouting priority srcnat ; }`,
    `flush chain ${TABLE} postrouting`,
    `add rule ${TABLE} postrouting ip daddr == 224.0.0.0/4  return`,
    `add rule ${TABLE} postrouting ip6 daddr == ff00::/8  return`,
    `add rule ${TABLE} postrouting goto ${NFT_MASQ_CHAIN}`,
    ...staleHandles.map((h) => `delete rule ${TABLE} ${NFT_MASQ_CHAIN} handle ${h}`),
    ...ips.map((ip) => `add rule ${TABLE} ${NFT_MASQ_CHAIN} ${nftMasqRule(ip, comment)}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** A transaction deleting masq_checks rules by handle; empty when there is nothing to delete. */
export function nftMasqDeleteScript(handles: readonly number[]): string {
  return handles.map((h) => `delete rule ${TABLE} ${NFT_MASQ_CHAIN} handle ${h}\n`).join('');
}

/** Rules of masq_checks whose comment starts with `prefix`. */
export function nftRulesWithCommentPrefix(rules: readonly NftRuleInfo[], prefix: string): NftRuleInfo[] {
  return rules.filter(
    (r) => r.family === 'inet' && r.table === NFT_MASQ_TABLE && r.chain === NFT_MASQ_CHAIN && r.comment?.startsWith(prefix) === true,
  );
}

/**
 * Handles of this network's rules that belong to no valid attachment. Rules are matched by their
 * instance hash (the comment's prefix), which does not depend on how the readable tail was truncated.
 */
export function staleNftMasqHandles(
  rules: readonly NftRuleInfo[],
  network: string,
  valid: readonly { containerID: string; ifname: string }[],
): number[] {
  const validPrefixes = new Set(valid.map((a) => nftInstanceHash(network, a.ifname, a.containerID)));
  const instanceLength = nftInstanceHash(network, '', '').length;
  return nftRulesWithCommentPrefix(rules, `${nftNetworkHash(network)}-`)
    .filter((r) => !validPrefixes.has(r.comment!.slice(0, instanceLength)))
    .map((r) => r.handle);
}
