// The ipMasq nftables transactions as nf_tables batches (no `nft`): the same objects, in the same
// order, as the text of nftMasqSetupScript / nftMasqDeleteScript (ipmasq-nftables.ts), which stays
// the readable form and the tests' oracle (`nft list` of both must be equal).
import { hostNetOf, type IPNet, mustParsePrefix } from '../ip/index.js';
import { goTo, masquerade, matchAddress, NftBatch, ret } from '../netfilter/nftables/index.js';
import { NFT_MASQ_CHAIN, NFT_MASQ_CHAIN_COMMENT, NFT_MASQ_TABLE, NFT_MASQ_TABLE_COMMENT } from './ipmasq-nftables.js';

/** nft's `srcnat` priority. */
const SRCNAT = 100;
const MULTICAST_V4 = mustParsePrefix('224.0.0.0/4');
const MULTICAST_V6 = mustParsePrefix('ff00::/8');

/** The masq rule of one address: `ip saddr == <ip> ip daddr != <subnet> masquerade comment "..."`. */
function addMasqRule(b: NftBatch, ip: IPNet, comment: string): void {
  const exprs = [...matchAddress('inet', 'saddr', hostNetOf(ip.ip)), ...matchAddress('inet', 'daddr', ip, 'neq'), masquerade()];
  b.addRule('inet', NFT_MASQ_TABLE, NFT_MASQ_CHAIN, exprs, { comment });
}

/** The ADD transaction (see nftMasqSetupScript). */
export function nftMasqSetupBatch(staleHandles: readonly number[], ips: readonly IPNet[], comment: string): NftBatch {
  const T = NFT_MASQ_TABLE;
  const b = new NftBatch()
    .addTable('inet', T, NFT_MASQ_TABLE_COMMENT)
    .addChain('inet', T, NFT_MASQ_CHAIN, { comment: NFT_MASQ_CHAIN_COMMENT })
    .addChain('inet', T, 'postrouting', { base: { type: 'nat', hook: 'postrouting', priority: SRCNAT } })
    .flushChain('inet', T, 'postrouting')
    .addRule('inet', T, 'postrouting', [...matchAddress('inet', 'daddr', MULTICAST_V4), ret()])
    .addRule('inet', T, 'postrouting', [...matchAddress('inet', 'daddr', MULTICAST_V6), ret()])
    .addRule('inet', T, 'postrouting', [goTo(NFT_MASQ_CHAIN)]);
  for (const h of staleHandles) b.deleteRule('inet', T, NFT_MASQ_CHAIN, h);
  for (const ip of ips) addMasqRule(b, ip, comment);
  return b;
}

/** Deletes masq_checks rules by handle; an empty batch when there are none. */
export function nftMasqDeleteBatch(handles: readonly number[]): NftBatch {
  const b = new NftBatch();
  for (const h of handles) b.deleteRule('inet', NFT_MASQ_TABLE, NFT_MASQ_CHAIN, h);
  return b;
}
