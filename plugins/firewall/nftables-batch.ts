// The nftables backend's transactions as nf_tables batches (no `nft`): the same objects, in the same
// order, as the text of nftAddScript / nftDeleteScript (nftables-rules.ts), which stays the readable
// form and the tests' oracle.
import type { NftRuleInfo } from '../../shared/firewall/nft-json.js';
import { hostNetOf, type IPNet } from '../../shared/ip/index.js';
import { accept, drop, jump, matchAddress, matchCtState, matchIfName, NftBatch, type NftExpr } from '../../shared/netfilter/nftables/index.js';
import type { IsolationPolicy } from './iptables-rules.js';
import {
  inTable, isolationComments, type NftAddPlan, nftAttachmentComment, nftAttachmentPrefix, NFT_ADMIN, NFT_ADMIN_JUMP_COMMENT, NFT_FORWARD,
  NFT_ISOLATION_JUMP_COMMENT, NFT_STAGE1, NFT_STAGE2, NFT_TABLE, NFT_TABLE_COMMENT,
} from './nftables-rules.js';

const F = 'inet';
const T = NFT_TABLE;

/** The isolation rules of one bridge as [chain, expressions, comment], in nftIsolationRules' order. */
function isolationRules(bridge: string, policy: IsolationPolicy): [string, NftExpr[], string][] {
  const c = isolationComments(bridge, policy);
  const rules: [string, NftExpr[], string][] = [
    [NFT_STAGE1, [...matchIfName('iifname', bridge), ...matchIfName('oifname', bridge, 'neq'), jump(NFT_STAGE2)], c.leave],
    [NFT_STAGE2, [...matchIfName('oifname', bridge), drop()], c.enter],
  ];
  if (policy === 'isolated') rules.push([NFT_STAGE1, [...matchIfName('iifname', bridge), ...matchIfName('oifname', bridge), drop()], c.within]);
  return rules;
}

/** The two rules of one address: established/related traffic to it, and anything from it. */
function perIPRules(ip: IPNet): NftExpr[][] {
  const host = hostNetOf(ip.ip);
  return [
    [...matchAddress(F, 'daddr', host), ...matchCtState(['established', 'related']), accept()],
    [...matchAddress(F, 'saddr', host), accept()],
  ];
}

/** The ADD transaction (see nftAddScript for what and why). */
export function nftAddBatch(rules: readonly NftRuleInfo[], plan: NftAddPlan, chains: readonly string[] = []): NftBatch {
  const b = new NftBatch().addTable(F, T, NFT_TABLE_COMMENT);
  const ensure = (chain: string, base?: boolean): void => {
    if (chains.includes(chain)) return;
    b.addChain(F, T, chain, { exclusive: true, ...(base ? { base: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' } } : {}) });
  };
  ensure(NFT_FORWARD, true);
  ensure(NFT_ADMIN);
  const forward = inTable(rules, NFT_FORWARD);
  const isolationWanted = plan.isolation !== undefined || forward.some((r) => r.comment === NFT_ISOLATION_JUMP_COMMENT);
  if (isolationWanted) {
    ensure(NFT_STAGE1);
    ensure(NFT_STAGE2);
  }

  const head = [...(isolationWanted ? [NFT_ISOLATION_JUMP_COMMENT] : []), NFT_ADMIN_JUMP_COMMENT];
  if (!head.every((c, i) => forward[i]?.comment === c)) {
    for (const r of forward) if (r.comment === NFT_ADMIN_JUMP_COMMENT || r.comment === NFT_ISOLATION_JUMP_COMMENT) b.deleteRule(F, T, NFT_FORWARD, r.handle);
    b.addRule(F, T, NFT_FORWARD, [jump(NFT_ADMIN)], { comment: NFT_ADMIN_JUMP_COMMENT, insert: true });
    if (isolationWanted) b.addRule(F, T, NFT_FORWARD, [jump(NFT_STAGE1)], { comment: NFT_ISOLATION_JUMP_COMMENT, insert: true });
  }

  if (plan.isolation) {
    const present = new Set([...inTable(rules, NFT_STAGE1), ...inTable(rules, NFT_STAGE2)].map((r) => `${r.chain}\0${r.comment ?? ''}`));
    for (const [chain, exprs, comment] of isolationRules(plan.isolation.bridge, plan.isolation.policy)) {
      if (!present.has(`${chain}\0${comment}`)) b.addRule(F, T, chain, exprs, { comment, insert: true });
    }
  }

  const prefix = nftAttachmentPrefix(plan.attachment);
  for (const r of forward) if (r.comment?.startsWith(prefix)) b.deleteRule(F, T, NFT_FORWARD, r.handle);
  const comment = nftAttachmentComment(plan.attachment);
  for (const ip of plan.ips) for (const exprs of perIPRules(ip)) b.addRule(F, T, NFT_FORWARD, exprs, { comment });
  return b;
}

/** Deletes the forward rules whose comment `matches`; an empty batch when there are none. */
export function nftDeleteBatch(rules: readonly NftRuleInfo[], matches: (comment: string) => boolean): NftBatch {
  const b = new NftBatch();
  for (const r of inTable(rules, NFT_FORWARD)) if (r.comment !== undefined && matches(r.comment)) b.deleteRule(F, T, NFT_FORWARD, r.handle);
  return b;
}
