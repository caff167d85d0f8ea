// The nftables backend (ours; see nftables-rules.ts for the layout): one `nft -f -` per call.
import { CniError, ErrorCode, checkFailed } from '../../shared/cni/errors.js';
import { firewallError } from '../../shared/firewall/errors.js';
import { ToolMissingError } from '../../shared/firewall/exec.js';
import { nftApply, nftList } from '../../shared/firewall/nft.js';
import type { NftListing } from '../../shared/firewall/nft-json.js';
import type { FirewallBackend, FirewallRequest } from './backend.js';
import { isAttachmentRule, nftAddScript, nftCheck, nftDeleteScript, nftSafeName, NFT_TABLE } from './nftables-rules.js';

const TABLE_PATH = ['table', 'inet', NFT_TABLE];
const ATTEMPTS = 3;

const listTable = (): Promise<NftListing> => nftList(TABLE_PATH);

/** Read, compute, apply; read again when a rule we meant to delete vanished in between. */
export async function changeNftFirewall(script: (listing: NftListing) => string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const text = script(await listTable());
    if (text === '') return;
    try {
      await nftApply(text);
      return;
    } catch (e) {
      if (attempt >= ATTEMPTS) throw e;
    }
  }
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
        await changeNftFirewall((l) => nftAddScript(l.rules, planOf(req), chainsOf(l)));
      } catch (e) {
        throw firewallError('failed to add firewall rules (nftables)', e);
      }
    },
    async del(req) {
      try {
        await changeNftFirewall((l) => nftDeleteScript(l.rules, isAttachmentRule(req.attachment)));
      } catch (e) {
        if (e instanceof ToolMissingError) return;
        throw firewallError('failed to delete firewall rules (nftables)', e);
      }
    },
    async check(req) {
      let listing: NftListing;
      try {
        listing = await listTable();
      } catch (e) {
        throw firewallError(`failed to list table inet ${NFT_TABLE}`, e);
      }
      const problem = nftCheck(listing.rules, chainsOf(listing), planOf(req));
      if (problem) throw checkFailed(problem);
    },
    close() {},
  };
}
