// The nftables backend (ours; see nftables-rules.ts for the layout): one nf_tables netlink batch per
// call, in-process (nftables-batch.ts); no `nft` program is run.
import { CniError, ErrorCode, checkFailed } from '../../shared/cni/errors.js';
import { firewallError } from '../../shared/firewall/errors.js';
import type { NftListing } from '../../shared/firewall/nft-json.js';
import { changeNftables, isNftablesUnavailable, listNftChains, listNftRules, type NftBatch, nftSocket } from '../../shared/netfilter/nftables/index.js';
import type { NetlinkSocket } from '../../shared/netlink/socket.js';
import type { FirewallBackend, FirewallRequest } from './backend.js';
import { nftAddBatch, nftDeleteBatch } from './nftables-batch.js';
import { isAttachmentRule, nftCheck, nftSafeName, NFT_TABLE } from './nftables-rules.js';

const readTable = (sock: NetlinkSocket): NftListing => ({ chains: listNftChains(sock, 'inet', NFT_TABLE), rules: listNftRules(sock, 'inet', NFT_TABLE) });

const listTable = (): NftListing => readTable(nftSocket());

/** Read, compute, commit; read again when a rule we meant to delete vanished in between. */
export async function changeNftFirewall(batch: (listing: NftListing) => NftBatch): Promise<void> {
  changeNftables(readTable, batch);
}

const chainsOf = (l: NftListing): string[] => l.chains.filter((c) => c.family === 'inet' && c.table === NFT_TABLE).map((c) => c.name);

const planOf = (req: FirewallRequest) => ({ attachment: req.attachment, ips: req.ips, ...(req.isolation ? { isolation: req.isolation } : {}) });

export function nftablesBackend(): FirewallBackend {
  return {
    name: 'nftables',
    async add(req) {
      if (req.isolation && !nftSafeName(req.isolation.bridge)) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, `bridge name ${JSON.stringify(req.isolation.bridge)} cannot be written in an nftables rule`);
      }
      try {
        await changeNftFirewall((l) => nftAddBatch(l.rules, planOf(req), chainsOf(l)));
      } catch (e) {
        throw firewallError('failed to add firewall rules (nftables)', e);
      }
    },
    async del(req) {
      try {
        await changeNftFirewall((l) => nftDeleteBatch(l.rules, isAttachmentRule(req.attachment)));
      } catch (e) {
        // A kernel without nf_tables holds no rules of ours.
        if (isNftablesUnavailable(e)) return;
        throw firewallError('failed to delete firewall rules (nftables)', e);
      }
    },
    async check(req) {
      let listing: NftListing;
      try {
        listing = listTable();
      } catch (e) {
        throw firewallError(`failed to list table inet ${NFT_TABLE}`, e);
      }
      const problem = nftCheck(listing.rules, chainsOf(listing), planOf(req));
      if (problem) throw checkFailed(problem);
    },
    close() {},
  };
}
