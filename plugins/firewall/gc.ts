// GC of the nftables backend's rules by their comment: needs no record, so it also removes rules
// whose ADD record was lost.
import { isNftablesUnavailable } from '../../shared/netfilter/nftables/index.js';
import type { Attachment } from '../../shared/cni/types.js';
import { changeNftFirewall } from './nftables.js';
import { nftDeleteBatch } from './nftables-batch.js';
import { isStaleRule } from './nftables-rules.js';

/** Deletes this network's stale nftables rules; returns an error text, or undefined. */
export async function gcNftables(network: string, valid: readonly Attachment[]): Promise<string | undefined> {
  try {
    await changeNftFirewall((l) => nftDeleteBatch(l.rules, isStaleRule(network, valid)));
    return undefined;
  } catch (e) {
    // No nf_tables in this kernel: no nftables rules of ours either.
    if (isNftablesUnavailable(e)) return undefined;
    return `nftables: ${(e as Error).message}`;
  }
}
