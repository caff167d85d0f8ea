// macspoofchk's transactions as nf_tables batches (no `nft`): the same objects as the nft JSON of
// spoofCheckSetupCommands / spoofCheckTeardownCommands (macspoofchk.ts), which stays the readable
// form and the tests' oracle.
import { drop, jump, matchEtherSaddr, matchIfName, NftBatch, ret } from '../netfilter/nftables/index.js';
import type { NftListing } from './nft-json.js';

const FAMILY = 'bridge';
const TABLE = 'nat';
const BASE_CHAIN = 'PREROUTING';

export interface SpoofCheckPlan {
  readonly ifaceChain: string;
  readonly macChain: string;
  readonly comment: string;
}

const baseChainRuleHandles = (listing: NftListing, comment: string): number[] =>
  listing.rules.filter((r) => r.chain === BASE_CHAIN && r.comment === comment).map((r) => r.handle);

export function spoofCheckSetupBatch(names: SpoofCheckPlan, hostIfName: string, mac: string, current: NftListing): NftBatch {
  const { ifaceChain, macChain, comment } = names;
  const b = new NftBatch()
    .addTable(FAMILY, TABLE)
    .addChain(FAMILY, TABLE, BASE_CHAIN, { base: { type: 'filter', hook: 'prerouting', priority: -300, policy: 'accept' } })
    .addChain(FAMILY, TABLE, ifaceChain)
    .addChain(FAMILY, TABLE, macChain)
    .flushChain(FAMILY, TABLE, ifaceChain)
    .flushChain(FAMILY, TABLE, macChain);
  for (const h of baseChainRuleHandles(current, comment)) b.deleteRule(FAMILY, TABLE, BASE_CHAIN, h);
  return b
    .addRule(FAMILY, TABLE, BASE_CHAIN, [...matchIfName('iifname', hostIfName), jump(ifaceChain)], { comment })
    .addRule(FAMILY, TABLE, ifaceChain, [jump(macChain)], { comment })
    .addRule(FAMILY, TABLE, macChain, [...matchEtherSaddr(mac), ret()], { comment })
    .addRule(FAMILY, TABLE, macChain, [drop()], { comment });
}

export function spoofCheckTeardownBatch(names: SpoofCheckPlan, current: NftListing): NftBatch {
  const { ifaceChain, macChain, comment } = names;
  const existing = new Set(current.chains.filter((c) => c.family === FAMILY && c.table === TABLE).map((c) => c.name));
  const b = new NftBatch();
  for (const h of baseChainRuleHandles(current, comment)) b.deleteRule(FAMILY, TABLE, BASE_CHAIN, h);
  for (const c of [ifaceChain, macChain]) if (existing.has(c)) b.deleteChain(FAMILY, TABLE, c);
  return b;
}
