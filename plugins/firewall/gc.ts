// GC of the nftables backend's rules by their comment: needs no record, so it also removes rules
// whose ADD record was lost.
import { ToolMissingError } from '../../shared/firewall/exec.js';
import type { Attachment } from '../../shared/cni/types.js';
import { changeNftFirewall } from './nftables.js';
import { isStaleRule, nftDeleteScript } from './nftables-rules.js';

/** Deletes this network's stale nftables rules; returns an error text, or undefined. */
export async function gcNftables(network: string, valid: readonly Attachment[]): Promise<string | undefined> {
  try {
    await changeNftFirewall((l) => nftDeleteScript(l.rules, isStaleRule(network, valid)));
    return undefined;
  } catch (e) {
    // No nft on this node: no nftables rules of ours either.
    if (e instanceof ToolMissingError) return undefined;
    return `nftables: ${(e as Error).message}`;
  }
}
