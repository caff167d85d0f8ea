// nf_tables over netlink, in-process (no `nft` program): batches, statements, read-back. See README.md.
export * from './constants.js';
export { type NftExpr } from './expr.js';
export * from './statements.js';
export { nftSocket } from './socket.js';
export { NftBatch, commitNftBatch, type BaseChain, type ChainOptions, type RuleOptions } from './batch.js';
export { listNftChains, listNftRules, type NftChainEntry, type NftRuleEntry } from './list.js';
export { commentUserdata, parseCommentUserdata } from './udata.js';
export { changeNftables, isNftablesUnavailable, validateNftBatch } from './change.js';
