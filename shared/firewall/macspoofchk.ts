// macspoofchk (bridge): drop frames entering the bridge from a container's host veth unless their
// source MAC is the container's. Same objects as the reference (pkg/link/spoofcheck.go), so either
// implementation can remove the other's:
//   table bridge nat
//     chain PREROUTING   {filter, prerouting hook, priority -300, policy accept}
//       iifname "<hostveth>" jump cni-br-iface-<cid>-<if>
//     chain cni-br-iface-<cid>-<if>
//       jump cni-br-iface-<cid>-<if>-mac
//     chain cni-br-iface-<cid>-<if>-mac
//       ether saddr <mac> return
//       drop
// every rule commented "macspoofchk-<cid>-<if>". Described here as nft JSON (as the reference writes
// it; the tests' oracle) and applied as one nf_tables netlink batch (macspoofchk-batch.ts), in-process.
import { CniError, ErrorCode } from '../cni/errors.js';
import { firewallError } from './errors.js';
import type { NftListing } from './nft-json.js';
import { spoofCheckSetupBatch, spoofCheckTeardownBatch } from './macspoofchk-batch.js';
import { changeNftables, isNftablesUnavailable, listNftChains, listNftRules, type NftBatch } from '../netfilter/nftables/index.js';

export const SPOOFCHK_TABLE = 'nat';
export const SPOOFCHK_BASE_CHAIN = 'PREROUTING';
const FAMILY = 'bridge';

export interface SpoofCheckIdentity {
  readonly containerID: string;
  readonly ifName: string;
}

export interface SpoofCheckAttachment extends SpoofCheckIdentity {
  /** The host end of the container's veth (the bridge port). */
  readonly hostIfName: string;
  /** The container interface's MAC, the only source MAC allowed in. */
  readonly mac: string;
}

export interface SpoofCheckNames {
  readonly ifaceChain: string;
  readonly macChain: string;
  readonly comment: string;
}

export function spoofCheckNames(id: SpoofCheckIdentity): SpoofCheckNames {
  const refID = `${id.containerID}-${id.ifName}`;
  const ifaceChain = `cni-br-iface-${refID}`;
  return { ifaceChain, macChain: `${ifaceChain}-mac`, comment: `macspoofchk-${refID}` };
}

type NftCommand = Record<string, unknown>;

const chainRef = (name: string): NftCommand => ({ family: FAMILY, table: SPOOFCHK_TABLE, name });
const rule = (chain: string, expr: unknown[], comment: string): NftCommand => ({
  add: { rule: { family: FAMILY, table: SPOOFCHK_TABLE, chain, expr, comment } },
});
const deleteRule = (chain: string, handle: number): NftCommand => ({
  delete: { rule: { family: FAMILY, table: SPOOFCHK_TABLE, chain, handle } },
});

/** Handles of PREROUTING rules carrying this attachment's comment. */
function baseChainRuleHandles(listing: NftListing, comment: string): number[] {
  return listing.rules.filter((r) => r.chain === SPOOFCHK_BASE_CHAIN && r.comment === comment).map((r) => r.handle);
}

/**
 * The setup transaction. Unlike the reference (which appends a PREROUTING rule on every call), earlier
 * PREROUTING rules of the same attachment are deleted first, so a repeated setup is idempotent.
 */
export function spoofCheckSetupCommands(att: SpoofCheckAttachment, current: NftListing): NftCommand[] {
  const { ifaceChain, macChain, comment } = spoofCheckNames(att);
  return [
    { add: { table: { family: FAMILY, name: SPOOFCHK_TABLE } } },
    {
      add: {
        chain: { ...chainRef(SPOOFCHK_BASE_CHAIN), type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' },
      },
    },
    { add: { chain: chainRef(ifaceChain) } },
    { add: { chain: chainRef(macChain) } },
    { flush: { chain: chainRef(ifaceChain) } },
    { flush: { chain: chainRef(macChain) } },
    ...baseChainRuleHandles(current, comment).map((h) => deleteRule(SPOOFCHK_BASE_CHAIN, h)),
    rule(
      SPOOFCHK_BASE_CHAIN,
      [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: att.hostIfName } }, { jump: { target: ifaceChain } }],
      comment,
    ),
    rule(ifaceChain, [{ jump: { target: macChain } }], comment),
    rule(
      macChain,
      [{ match: { op: '==', left: { payload: { protocol: 'ether', field: 'saddr' } }, right: att.mac } }, { return: null }],
      comment,
    ),
    rule(macChain, [{ drop: null }], comment),
  ];
}

/**
 * The teardown transaction: the PREROUTING rules found by comment, then the two chains (deleting a
 * chain deletes its rules; the iface chain goes first because it jumps to the mac chain). Empty when
 * nothing of this attachment exists.
 */
export function spoofCheckTeardownCommands(id: SpoofCheckIdentity, current: NftListing): NftCommand[] {
  const { ifaceChain, macChain, comment } = spoofCheckNames(id);
  const existing = new Set(current.chains.filter((c) => c.family === FAMILY && c.table === SPOOFCHK_TABLE).map((c) => c.name));
  return [
    ...baseChainRuleHandles(current, comment).map((h) => deleteRule(SPOOFCHK_BASE_CHAIN, h)),
    ...[ifaceChain, macChain].filter((c) => existing.has(c)).map((c) => ({ delete: { chain: chainRef(c) } })),
  ];
}

async function changeSpoofCheck(batch: (current: NftListing) => NftBatch): Promise<void> {
  changeNftables(
    (sock) => ({ chains: listNftChains(sock, FAMILY, SPOOFCHK_TABLE), rules: listNftRules(sock, FAMILY, SPOOFCHK_TABLE) }),
    batch,
  );
}

/** Install the anti-spoofing rules of one attachment in one nft transaction. Throws CniError 5. */
export async function setupMacSpoofCheck(att: SpoofCheckAttachment): Promise<void> {
  if (att.mac === '' || att.hostIfName === '') {
    throw new CniError(ErrorCode.Internal, 'macspoofchk: host interface name and MAC are required');
  }
  try {
    await changeSpoofCheck((current) => spoofCheckSetupBatch(spoofCheckNames(att), att.hostIfName, att.mac, current));
  } catch (e) {
    throw firewallError('failed to setup spoof-check', e);
  }
}

/**
 * Remove the anti-spoofing rules of one attachment, found by comment and chain names (no interface
 * or MAC needed). Succeeds when nothing is there. Throws CniError 5.
 */
export async function teardownMacSpoofCheck(id: SpoofCheckIdentity): Promise<void> {
  try {
    await changeSpoofCheck((current) => spoofCheckTeardownBatch(spoofCheckNames(id), current));
  } catch (e) {
    if (isNftablesUnavailable(e)) return;
    throw firewallError('failed to teardown spoof-check', e);
  }
}
