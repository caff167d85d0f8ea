// Reading nf_tables back over netlink (what `nft -j list` shows that we need): the chains of a table,
// and each rule's chain, handle, comment and the constant values it compares or loads (addresses,
// ports), for teardown, GC and CHECK.
import { attrList, attrString, type NlMsg, parseAttrs, parseNested } from '../../netlink/message.js';
import type { NetlinkSocket } from '../../netlink/socket.js';
import * as K from './constants.js';
import { nftMessage } from './batch.js';
import { parseCommentUserdata } from './udata.js';

export interface NftChainEntry {
  readonly family: K.NftFamily;
  readonly table: string;
  readonly name: string;
}

export interface NftRuleEntry {
  readonly family: K.NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
  readonly comment: string | undefined;
  /** The data of the rule's cmp and immediate expressions (copies), e.g. addresses in network order. */
  readonly values: readonly Buffer[];
}

const FAMILY_NAMES = new Map<number, K.NftFamily>(Object.entries(K.NFPROTO).map(([name, n]) => [n, name as K.NftFamily]));

function familyOf(m: NlMsg): K.NftFamily | undefined {
  return m.payload.length >= 4 ? FAMILY_NAMES.get(m.payload.readUInt8(0)) : undefined;
}

const msgType = (m: NlMsg): number => m.type & 0xff;

export function parseChain(m: NlMsg): NftChainEntry | undefined {
  const family = familyOf(m);
  if (msgType(m) !== K.NFT_MSG_NEWCHAIN || !family) return undefined;
  const attrs = parseAttrs(m.payload, 4);
  const table = attrString(attrs.get(K.NFTA_CHAIN_TABLE));
  const name = attrString(attrs.get(K.NFTA_CHAIN_NAME));
  return table !== undefined && name !== undefined ? { family, table, name } : undefined;
}

/** The data values of cmp and immediate expressions, in rule order. */
function constantValues(exprs: Buffer | undefined): Buffer[] {
  const out: Buffer[] = [];
  if (!exprs) return out;
  for (const [type, elem] of attrList(exprs)) {
    if (type !== K.NFTA_LIST_ELEM) continue;
    const e = parseNested(elem);
    const name = attrString(e.get(K.NFTA_EXPR_NAME));
    const body = e.get(K.NFTA_EXPR_DATA);
    if (!body || (name !== 'cmp' && name !== 'immediate')) continue;
    const holder = parseNested(body).get(name === 'cmp' ? K.NFTA_CMP_DATA : K.NFTA_IMMEDIATE_DATA);
    const value = holder ? parseNested(holder).get(K.NFTA_DATA_VALUE) : undefined;
    if (value) out.push(Buffer.from(value));
  }
  return out;
}

export function parseRule(m: NlMsg): NftRuleEntry | undefined {
  const family = familyOf(m);
  if (msgType(m) !== K.NFT_MSG_NEWRULE || !family) return undefined;
  const attrs = parseAttrs(m.payload, 4);
  const table = attrString(attrs.get(K.NFTA_RULE_TABLE));
  const chain = attrString(attrs.get(K.NFTA_RULE_CHAIN));
  const handle = attrs.get(K.NFTA_RULE_HANDLE);
  if (table === undefined || chain === undefined || !handle || handle.length < 8) return undefined;
  return {
    family,
    table,
    chain,
    handle: Number(handle.readBigUInt64BE(0)),
    comment: parseCommentUserdata(attrs.get(K.NFTA_RULE_USERDATA)),
    values: constantValues(attrs.get(K.NFTA_RULE_EXPRESSIONS)),
  };
}

/** The chains of `family` `table` ([] when the table does not exist). */
export function listNftChains(sock: NetlinkSocket, family: K.NftFamily, table: string): NftChainEntry[] {
  const req = nftMessage(K.NFT_MSG_GETCHAIN, family, 0);
  return sock.dump(req, `nftables: list chains of ${family} ${table}`, parseChain).filter((c) => c.family === family && c.table === table);
}

/** The rules of `family` `table` (only `chain`'s when given), in chain order; [] when absent. */
export function listNftRules(sock: NetlinkSocket, family: K.NftFamily, table: string, chain?: string): NftRuleEntry[] {
  // The kernel filters a rule dump by the table and chain attributes of the request.
  const req = nftMessage(K.NFT_MSG_GETRULE, family, 0).str(K.NFTA_RULE_TABLE, table);
  if (chain !== undefined) req.str(K.NFTA_RULE_CHAIN, chain);
  const what = chain === undefined ? `${family} ${table}` : `${family} ${table} ${chain}`;
  return sock
    .dump(req, `nftables: list rules of ${what}`, parseRule)
    .filter((r) => r.family === family && r.table === table && (chain === undefined || r.chain === chain));
}
