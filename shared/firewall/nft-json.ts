// Typed reading of `nft -j list ...` output. Only what teardown and GC need: which chains exist and
// each rule's chain, handle and comment (rules are found by comment and deleted by handle).

export interface NftChainInfo {
  readonly family: string;
  readonly table: string;
  readonly name: string;
}

export interface NftRuleInfo {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
  readonly comment: string | undefined;
}

export interface NftListing {
  readonly chains: readonly NftChainInfo[];
  readonly rules: readonly NftRuleInfo[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function parseNftListing(json: string): NftListing {
  const chains: NftChainInfo[] = [];
  const rules: NftRuleInfo[] = [];
  if (json.trim() === '') return { chains, rules };
  const doc: unknown = JSON.parse(json);
  const items = isObject(doc) && Array.isArray(doc.nftables) ? (doc.nftables as unknown[]) : [];
  for (const item of items) {
    if (!isObject(item)) continue;
    const chain = item.chain;
    if (isObject(chain)) {
      const family = str(chain.family);
      const table = str(chain.table);
      const name = str(chain.name);
      if (family && table && name) chains.push({ family, table, name });
    }
    const rule = item.rule;
    if (isObject(rule)) {
      const family = str(rule.family);
      const table = str(rule.table);
      const ruleChain = str(rule.chain);
      if (family && table && ruleChain && typeof rule.handle === 'number') {
        rules.push({ family, table, chain: ruleChain, handle: rule.handle, comment: str(rule.comment) });
      }
    }
  }
  return { chains, rules };
}
