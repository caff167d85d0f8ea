// Applying portmap's nftables rules: read the cni_hostport tables over netlink, compute, commit one
// nf_tables batch per call (both families), in-process. Only nft `conditionsV4/V6` (nft text, which
// only the `nft` program compiles) make the ADD run `nft -f -` with the text form instead.
import { nftApply } from '../../shared/firewall/nft.js';
import { type Family, formatIP, ipFromBytes, type IPNet } from '../../shared/ip/index.js';
import { changeNftables, listNftRules, NftBatch, nftSocket } from '../../shared/netfilter/nftables/index.js';
import type { NetlinkSocket } from '../../shared/netlink/socket.js';
import type { PortmapConf } from './config.js';
import { addSetupToBatch } from './nftables-batch.js';
import { containerRules, type HostportRule, nftFamily, nftSetupCommands, NFT_TABLE } from './nftables.js';

/** The rules of one family's cni_hostport table ([] when the table does not exist), over netlink. */
export function readHostportRules(sock: NetlinkSocket, family: Family): HostportRule[] {
  return listNftRules(sock, nftFamily(family), NFT_TABLE).map((r) => ({
    family: r.family,
    chain: r.chain,
    handle: r.handle,
    comment: r.comment,
    // The addresses the rule compares or loads (match, dnat target), as JSON strings: the same
    // thing containerRules looks for in `nft -j`'s expression list.
    expr: JSON.stringify(r.values.filter((v) => v.length === (family === 4 ? 4 : 16)).map((v) => formatIP(ipFromBytes(v)))),
  }));
}

export const nftListTable = (family: Family): HostportRule[] => readHostportRules(nftSocket(), family);

/** nft conditions are nft text: only the `nft` program can compile them (see README). */
const hasNftConditions = (conf: PortmapConf): boolean => (conf.conditionsV4?.length ?? 0) > 0 || (conf.conditionsV6?.length ?? 0) > 0;

/** A rule deleted by handle may vanish between our listing and our transaction: list again, retry. */
const ATTEMPTS = 3;

async function withNftRetry(commands: () => string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const cmds = commands();
    if (cmds.length === 0) return;
    try {
      await nftApply(`${cmds.join('\n')}\n`);
      return;
    } catch (e) {
      if (attempt >= ATTEMPTS) throw e;
    }
  }
}

/**
 * One transaction installing the rules of every given container address: a netlink batch, or with
 * nft `conditionsV4/V6` (nft text we do not compile) one `nft -f -`.
 */
export async function nftSetup(conf: PortmapConf, containerID: string, containers: readonly IPNet[]): Promise<void> {
  if (hasNftConditions(conf)) {
    await withNftRetry(() => containers.flatMap((c) => nftSetupCommands(conf, containerID, c, nftListTable(c.ip.family))));
    return;
  }
  changeNftables(
    (sock) => containers.map((c) => readHostportRules(sock, c.ip.family)),
    (tables) => {
      const b = new NftBatch();
      containers.forEach((c, i) => addSetupToBatch(b, conf, containerID, c, tables[i]!));
      return b;
    },
  );
}

/**
 * One transaction deleting the container's rules from both families' tables (only those naming
 * `addresses` when given); nothing when there are none.
 */
export async function nftTeardown(containerID: string, addresses?: readonly string[]): Promise<void> {
  changeNftables(
    (sock) => [readHostportRules(sock, 4), readHostportRules(sock, 6)] as const,
    ([v4, v6]) => {
      const b = new NftBatch();
      for (const [family, rules] of [[4, v4], [6, v6]] as const) {
        for (const r of containerRules(rules, family, containerID, addresses)) b.deleteRule(nftFamily(family), NFT_TABLE, r.chain, r.handle);
      }
      return b;
    },
  );
}
