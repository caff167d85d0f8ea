// tscni's nftables form of the firewall plugin (the reference has none). One table, in the spirit of
// the reference's iptables chains:
//
//   table inet cni_firewall
//     chain forward            filter hook forward, priority filter, policy accept
//       jump isolation_stage_1   comment "CNI firewall plugin rules (ingressPolicy)"   (only once a policy was used)
//       jump admin               comment "CNI firewall plugin admin overrides"
//       ip daddr <ip> ct state established,related accept   comment "<attachment>"
//       ip saddr <ip> accept                                 comment "<attachment>"
//     chain admin              empty; the node's admin adds overrides here (never touched by us)
//     chain isolation_stage_1  iifname <br> oifname != <br> jump isolation_stage_2   (per bridge)
//                              iifname <br> oifname <br> drop                        (isolated only)
//     chain isolation_stage_2  oifname <br> drop                                     (per bridge)
//
// <attachment> is "<h16(network)>-<h16(ifname:containerID)>, net: <network>, if: <ifname>, id: <cid>"
// (cut to the kernel's 128 bytes), the scheme of the ipMasq nftables rules: DEL finds an
// attachment's rules by the prefix, GC a network's by the first hash, without any state.
// Every function here is pure: listing in, `nft -f` script out.
import { formatIP, type IPNet } from '../../shared/ip/index.js';
import { nftInstanceHash, nftNetworkHash, truncateUtf8, NFT_COMMENT_MAX_BYTES } from '../../shared/firewall/ipmasq-nftables.js';
import type { NftRuleInfo } from '../../shared/firewall/nft-json.js';
import type { IsolationPolicy } from './iptables-rules.js';

export const NFT_TABLE = 'cni_firewall';
const T = `inet ${NFT_TABLE}`;
export const NFT_FORWARD = 'forward';
export const NFT_ADMIN = 'admin';
export const NFT_STAGE1 = 'isolation_stage_1';
export const NFT_STAGE2 = 'isolation_stage_2';
export const NFT_ADMIN_JUMP_COMMENT = 'CNI firewall plugin admin overrides';
export const NFT_ISOLATION_JUMP_COMMENT = 'CNI firewall plugin rules (ingressPolicy)';
export const NFT_TABLE_COMMENT = 'CNI firewall plugin (tscni): accepts container traffic; put overrides in chain admin';

export interface NftAttachment {
  readonly network: string;
  readonly containerID: string;
  readonly ifName: string;
}

const noQuotes = (s: string): string => s.replaceAll('"', '');

export function nftAttachmentComment(a: NftAttachment): string {
  const full = `${nftInstanceHash(a.network, a.ifName, a.containerID)}, net: ${noQuotes(a.network)}, if: ${noQuotes(a.ifName)}, id: ${noQuotes(a.containerID)}`;
  return truncateUtf8(full, NFT_COMMENT_MAX_BYTES);
}

export const nftAttachmentPrefix = (a: NftAttachment): string => nftInstanceHash(a.network, a.ifName, a.containerID);

/** The two rules of one address (text after "add rule inet cni_firewall forward"). */
export function nftPerIPRules(ip: IPNet, commentText: string): string[] {
  const proto = ip.ip.family === 4 ? 'ip' : 'ip6';
  const addr = formatIP(ip.ip);
  return [
    `${proto} daddr ${addr} ct state established,related accept comment "${commentText}"`,
    `${proto} saddr ${addr} accept comment "${commentText}"`,
  ];
}

/** nft strings cannot escape a double quote: bridge names with one (or a backslash) are refused. */
export function nftSafeName(name: string): boolean {
  return name !== '' && !/["\\\n]/.test(name);
}

export const isolationComments = (bridge: string, policy: IsolationPolicy): { leave: string; within: string; enter: string } => ({
  leave: `CNI firewall plugin rules (ingressPolicy: ${policy}) from ${bridge}`,
  within: `CNI firewall plugin rules (ingressPolicy: isolated) within ${bridge}`,
  enter: `CNI firewall plugin rules (ingressPolicy) to ${bridge}`,
});

/** Isolation rules of one bridge: [chain, rule text, comment], in the order they are prepended. */
export function nftIsolationRules(bridge: string, policy: IsolationPolicy): [string, string][] {
  const c = isolationComments(bridge, policy);
  const rules: [string, string][] = [
    [NFT_STAGE1, `iifname "${bridge}" oifname != "${bridge}" jump ${NFT_STAGE2} comment "${c.leave}"`],
    [NFT_STAGE2, `oifname "${bridge}" drop comment "${c.enter}"`],
  ];
  if (policy === 'isolated') rules.push([NFT_STAGE1, `iifname "${bridge}" oifname "${bridge}" drop comment "${c.within}"`]);
  return rules;
}

const commentOfRule = (rule: string): string => /comment "([^"]*)"$/.exec(rule)![1]!;
export const inTable = (rules: readonly NftRuleInfo[], chain: string): NftRuleInfo[] =>
  rules.filter((r) => r.family === 'inet' && r.table === NFT_TABLE && r.chain === chain);

export interface NftAddPlan {
  readonly attachment: NftAttachment;
  readonly ips: readonly IPNet[];
  readonly isolation?: { bridge: string; policy: IsolationPolicy };
}

/**
 * The ADD transaction against the current rules of the table (empty when it does not exist yet).
 * The forward chain's head is kept as [isolation jump], admin jump: when it is not, those jumps are
 * deleted and inserted again. This attachment's old rules are replaced (a repeated ADD adds nothing
 * twice).
 */
export function nftAddScript(rules: readonly NftRuleInfo[], plan: NftAddPlan, chains: readonly string[] = []): string {
  const lines = [`add table ${T} { comment "${NFT_TABLE_COMMENT}" ; }`];
  // A chain our listing lacks is made with `create`, which fails if it appeared in between: two
  // first ADDs racing on a fresh node then do not both write the shared jumps; the loser's
  // transaction is recomputed from a fresh listing.
  const ensure = (chain: string, spec = ''): void => {
    if (!chains.includes(chain)) lines.push(`create chain ${T} ${chain}${spec}`);
  };
  ensure(NFT_FORWARD, ' { type filter hook forward priority filter ; policy accept ; }');
  ensure(NFT_ADMIN);
  const forward = inTable(rules, NFT_FORWARD);
  const isolationWanted = plan.isolation !== undefined || forward.some((r) => r.comment === NFT_ISOLATION_JUMP_COMMENT);
  if (isolationWanted) {
    ensure(NFT_STAGE1);
    ensure(NFT_STAGE2);
  }

  const head = [...(isolationWanted ? [NFT_ISOLATION_JUMP_COMMENT] : []), NFT_ADMIN_JUMP_COMMENT];
  const headOK = head.every((c, i) => forward[i]?.comment === c);
  if (!headOK) {
    for (const r of forward) if (r.comment === NFT_ADMIN_JUMP_COMMENT || r.comment === NFT_ISOLATION_JUMP_COMMENT) lines.push(`delete rule ${T} ${NFT_FORWARD} handle ${r.handle}`);
    // Each insert goes to the top: insert the admin jump first, the isolation jump last.
    lines.push(`insert rule ${T} ${NFT_FORWARD} jump ${NFT_ADMIN} comment "${NFT_ADMIN_JUMP_COMMENT}"`);
    if (isolationWanted) lines.push(`insert rule ${T} ${NFT_FORWARD} jump ${NFT_STAGE1} comment "${NFT_ISOLATION_JUMP_COMMENT}"`);
  }

  if (plan.isolation) {
    const present = new Set([...inTable(rules, NFT_STAGE1), ...inTable(rules, NFT_STAGE2)].map((r) => `${r.chain}\0${r.comment ?? ''}`));
    for (const [chain, rule] of nftIsolationRules(plan.isolation.bridge, plan.isolation.policy)) {
      if (!present.has(`${chain}\0${commentOfRule(rule)}`)) lines.push(`insert rule ${T} ${chain} ${rule}`);
    }
  }

  const prefix = nftAttachmentPrefix(plan.attachment);
  for (const r of forward) if (r.comment?.startsWith(prefix)) lines.push(`delete rule ${T} ${NFT_FORWARD} handle ${r.handle}`);
  const c = nftAttachmentComment(plan.attachment);
  for (const ip of plan.ips) for (const rule of nftPerIPRules(ip, c)) lines.push(`add rule ${T} ${NFT_FORWARD} ${rule}`);
  return `${lines.join('\n')}\n`;
}

/** Deletes the rules whose comment starts with one of `prefixes`; '' when there are none. */
export function nftDeleteScript(rules: readonly NftRuleInfo[], matches: (comment: string) => boolean): string {
  return inTable(rules, NFT_FORWARD)
    .filter((r) => r.comment !== undefined && matches(r.comment))
    .map((r) => `delete rule ${T} ${NFT_FORWARD} handle ${r.handle}\n`)
    .join('');
}

export const isAttachmentRule = (a: NftAttachment) => (comment: string): boolean => comment.startsWith(nftAttachmentPrefix(a));

/** GC: rules of `network` whose attachment is not valid. */
export function isStaleRule(network: string, valid: readonly { containerID: string; ifname: string }[]) {
  const validPrefixes = new Set(valid.map((a) => nftInstanceHash(network, a.ifname, a.containerID)));
  const netPrefix = `${nftNetworkHash(network)}-`;
  const len = nftInstanceHash(network, '', '').length;
  return (comment: string): boolean => comment.startsWith(netPrefix) && !validPrefixes.has(comment.slice(0, len));
}

/** CHECK: the first problem with this attachment's rules, or undefined. */
export function nftCheck(rules: readonly NftRuleInfo[], chains: readonly string[], plan: NftAddPlan): string | undefined {
  for (const chain of [NFT_FORWARD, NFT_ADMIN, ...(plan.isolation ? [NFT_STAGE1, NFT_STAGE2] : [])]) {
    if (!chains.includes(chain)) return `chain ${chain} not found in table ${T}`;
  }
  const forward = inTable(rules, NFT_FORWARD);
  if (!forward.some((r) => r.comment === NFT_ADMIN_JUMP_COMMENT)) return `expected rule "jump ${NFT_ADMIN}" not found in chain ${NFT_FORWARD}`;
  if (plan.isolation) {
    if (!forward.some((r) => r.comment === NFT_ISOLATION_JUMP_COMMENT)) return `expected rule "jump ${NFT_STAGE1}" not found in chain ${NFT_FORWARD}`;
    const present = new Set([...inTable(rules, NFT_STAGE1), ...inTable(rules, NFT_STAGE2)].map((r) => `${r.chain}\0${r.comment ?? ''}`));
    for (const [chain, rule] of nftIsolationRules(plan.isolation.bridge, plan.isolation.policy)) {
      if (!present.has(`${chain}\0${commentOfRule(rule)}`)) return `expected rule "${rule}" not found in chain ${chain}`;
    }
  }
  const mine = forward.filter((r) => r.comment === nftAttachmentComment(plan.attachment)).length;
  const want = plan.ips.length * 2;
  // Name the addresses, so the mismatch says which container's rules are missing.
  if (mine !== want) return `expected ${want} rules of this container (${plan.ips.map((ip) => formatIP(ip.ip)).join(', ')}) in chain ${NFT_FORWARD}, found ${mine}`;
  return undefined;
}
