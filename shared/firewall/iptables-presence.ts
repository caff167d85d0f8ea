// Whether an iptables chain can exist, answered without running iptables-save: lets a DEL skip the
// save (and the restore) of a family that holds nothing of ours. iptables keeps its rules either in
// the legacy x_tables (a table shows up in /proc/net/ip{,6}_tables_names once it is used in this
// netns) or, with the iptables-nft tools, in nf_tables as table `ip|ip6 <table>`, whose chains a
// netlink dump lists. Either way the answer does not depend on which tool variant is installed.
import { readFileSync } from 'node:fs';
import type { Family } from '../ip/index.js';
import { listNftChains, nftSocket } from '../netfilter/nftables/index.js';

function legacyTableInUse(family: Family, table: string): boolean {
  try {
    const names = readFileSync(family === 4 ? '/proc/net/ip_tables_names' : '/proc/net/ip6_tables_names', 'utf8');
    return names.split('\n').includes(table);
  } catch {
    return false; // no legacy x_tables in this kernel: no legacy rules either
  }
}

/** False only when `chain` certainly does not exist in `table` of `family`; true when unsure. */
export function iptablesChainMayExist(family: Family, table: string, chain: string): boolean {
  if (legacyTableInUse(family, table)) return true;
  try {
    return listNftChains(nftSocket(), family === 4 ? 'ip' : 'ip6', table).some((c) => c.name === chain);
  } catch {
    return true;
  }
}
