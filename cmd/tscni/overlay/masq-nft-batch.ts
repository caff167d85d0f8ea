// The -ip-masq nftables transactions as nf_tables batches (in-process, no `nft`): the same messages,
// in the same order, as nft sends for the text of nftMasqScript / nftMasqRemovalScript (masq.ts),
// which stays the readable form and the tests' oracle (`nft list ruleset` of both must be equal).
import { type IPNet, mustParsePrefix, networkOf } from '../../../shared/ip/index.js';
import { masquerade, matchAddress, matchMetaMark, NftBatch, type NftExpr, ret } from '../../../shared/netfilter/nftables/index.js';
import { KUBE_MARK, MASQ_COMMENT, NFT_CHAIN, NFT_TABLE } from './masq-names.js';

/** nft's `srcnat` priority. */
const SRCNAT = 100;
const MULTICAST = mustParsePrefix('224.0.0.0/4');

/** The prefix with its host bits cleared, as nft reads `10.156.1.0/16` (the config's are clean already). */
function prefixOf(text: string): IPNet {
  const net = mustParsePrefix(text);
  return { ...net, ip: networkOf(net) };
}

/**
 * One transaction that (re)creates our table with flanneld's rules: add, delete, create again (the
 * first add makes the delete succeed on a node that has no table yet), so a re-applied lease never
 * leaves the old subnet's rules behind.
 */
export function nftMasqBatch(cluster: string, pod: string): NftBatch {
  const c = prefixOf(cluster);
  const p = prefixOf(pod);
  const saddr = (net: IPNet, op: 'eq' | 'neq' = 'eq'): NftExpr[] => matchAddress('ip', 'saddr', net, op);
  const daddr = (net: IPNet, op: 'eq' | 'neq' = 'eq'): NftExpr[] => matchAddress('ip', 'daddr', net, op);
  const fullyRandom = masquerade({ fullyRandom: true });
  const rules: NftExpr[][] = [
    [...matchMetaMark(KUBE_MARK.value, KUBE_MARK.mask), ret()],
    [...saddr(p), ...daddr(c), ret()],
    [...saddr(c), ...daddr(p), ret()],
    [...saddr(c, 'neq'), ...daddr(p), ret()],
    [...saddr(c), ...daddr(MULTICAST, 'neq'), fullyRandom],
    [...saddr(c, 'neq'), ...daddr(c), fullyRandom],
  ];
  const b = nftMasqRemovalBatch()
    .addTable('ip', NFT_TABLE)
    .addChain('ip', NFT_TABLE, NFT_CHAIN, { base: { type: 'nat', hook: 'postrouting', priority: SRCNAT, policy: 'accept' } });
  for (const exprs of rules) b.addRule('ip', NFT_TABLE, NFT_CHAIN, exprs, { comment: MASQ_COMMENT });
  return b;
}

/** One transaction that deletes our table, whether or not it exists. */
export function nftMasqRemovalBatch(): NftBatch {
  return new NftBatch().addTable('ip', NFT_TABLE).deleteTable('ip', NFT_TABLE);
}
