// One nf_tables transaction: the changes of one call, sent as BATCH_BEGIN, the messages, BATCH_END in
// one datagram. The kernel applies all of them or none. It reports an error for every refused message
// whether or not it asked for an ACK; only the last change asks for one (as a receipt), so a batch of
// any size gets a handful of replies and cannot overrun the socket's receive buffer. The first
// refusal is reported naming the change in nft's words ("add rule inet t c: ENOENT ...").
import { MessageBuilder } from '../../netlink/message.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL } from '../../netlink/constants.js';
import type { NetlinkSocket } from '../../netlink/socket.js';
import { nftSocket } from './socket.js';
import * as K from './constants.js';
import { type NftExpr, writeExpressions } from './expr.js';
import { commentUserdata } from './udata.js';

export interface BaseChain {
  readonly type: 'filter' | 'nat';
  readonly hook: K.NftHook;
  readonly priority: number;
  /** Sent only when given (nft sends none unless the text names one). */
  readonly policy?: 'accept' | 'drop';
}

export interface ChainOptions {
  readonly base?: BaseChain;
  readonly comment?: string;
  /** `create chain`: fail with EEXIST when the chain exists (instead of `add`, which keeps it). */
  readonly exclusive?: boolean;
}

export interface RuleOptions {
  readonly comment?: string;
  /** `insert rule`: at the head of the chain instead of the tail. */
  readonly insert?: boolean;
}

/** The nfgenmsg of an nf_tables message. */
const genmsg = (family: number, resId = 0): Uint8Array => Uint8Array.of(family, 0, (resId >> 8) & 0xff, resId & 0xff);

export function nftMessage(type: number, family: K.NftFamily, flags: number): MessageBuilder {
  return new MessageBuilder((K.NFNL_SUBSYS_NFTABLES << 8) | type, flags, 256).fixed(genmsg(K.NFPROTO[family]));
}

function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v | 0, 0);
  return b;
}

export class NftBatch {
  private readonly msgs: MessageBuilder[] = [];
  private readonly ops: string[] = [];

  /** How many changes the batch holds. */
  get size(): number {
    return this.msgs.length;
  }

  /** The changes in nft's words, for messages and tests. */
  get operations(): readonly string[] {
    return this.ops;
  }

  private push(op: string, msg: MessageBuilder): this {
    this.ops.push(op);
    this.msgs.push(msg);
    return this;
  }

  addTable(family: K.NftFamily, name: string, comment?: string): this {
    const m = nftMessage(K.NFT_MSG_NEWTABLE, family, NLM_F_CREATE).str(K.NFTA_TABLE_NAME, name).bytes(K.NFTA_TABLE_FLAGS, be32(0));
    if (comment !== undefined) m.bytes(K.NFTA_TABLE_USERDATA, commentUserdata(comment));
    return this.push(`add table ${family} ${name}`, m);
  }

  deleteTable(family: K.NftFamily, name: string): this {
    return this.push(`delete table ${family} ${name}`, nftMessage(K.NFT_MSG_DELTABLE, family, 0).str(K.NFTA_TABLE_NAME, name));
  }

  addChain(family: K.NftFamily, table: string, name: string, opts: ChainOptions = {}): this {
    const flags = NLM_F_CREATE | (opts.exclusive ? NLM_F_EXCL : 0);
    const m = nftMessage(K.NFT_MSG_NEWCHAIN, family, flags).str(K.NFTA_CHAIN_TABLE, table).str(K.NFTA_CHAIN_NAME, name);
    const base = opts.base;
    if (base) {
      m.str(K.NFTA_CHAIN_TYPE, base.type);
      if (base.policy !== undefined) m.bytes(K.NFTA_CHAIN_POLICY, be32(base.policy === 'accept' ? K.NF_ACCEPT : K.NF_DROP));
      m.nest(K.NFTA_CHAIN_HOOK, () => m.bytes(K.NFTA_HOOK_HOOKNUM, be32(K.HOOKS[base.hook])).bytes(K.NFTA_HOOK_PRIORITY, be32(base.priority)), true);
    }
    if (opts.comment !== undefined) m.bytes(K.NFTA_CHAIN_USERDATA, commentUserdata(opts.comment));
    return this.push(`${opts.exclusive ? 'create' : 'add'} chain ${family} ${table} ${name}`, m);
  }

  /** `flush chain`: delete every rule of the chain. */
  flushChain(family: K.NftFamily, table: string, chain: string): this {
    const m = nftMessage(K.NFT_MSG_DELRULE, family, 0).str(K.NFTA_RULE_TABLE, table).str(K.NFTA_RULE_CHAIN, chain);
    return this.push(`flush chain ${family} ${table} ${chain}`, m);
  }

  /** Deletes an empty chain nothing jumps to (its rules, if any, go with it). */
  deleteChain(family: K.NftFamily, table: string, chain: string): this {
    const m = nftMessage(K.NFT_MSG_DELCHAIN, family, 0).str(K.NFTA_CHAIN_TABLE, table).str(K.NFTA_CHAIN_NAME, chain);
    return this.push(`delete chain ${family} ${table} ${chain}`, m);
  }

  addRule(family: K.NftFamily, table: string, chain: string, exprs: readonly NftExpr[], opts: RuleOptions = {}): this {
    const flags = NLM_F_CREATE | (opts.insert ? 0 : NLM_F_APPEND);
    const m = nftMessage(K.NFT_MSG_NEWRULE, family, flags).str(K.NFTA_RULE_TABLE, table).str(K.NFTA_RULE_CHAIN, chain);
    writeExpressions(m, exprs);
    if (opts.comment !== undefined) m.bytes(K.NFTA_RULE_USERDATA, commentUserdata(opts.comment));
    const what = opts.comment !== undefined ? ` (comment ${JSON.stringify(opts.comment)})` : '';
    return this.push(`${opts.insert ? 'insert' : 'add'} rule ${family} ${table} ${chain}${what}`, m);
  }

  deleteRule(family: K.NftFamily, table: string, chain: string, handle: number): this {
    const h = Buffer.alloc(8);
    h.writeBigUInt64BE(BigInt(handle), 0);
    const m = nftMessage(K.NFT_MSG_DELRULE, family, 0).str(K.NFTA_RULE_TABLE, table).str(K.NFTA_RULE_CHAIN, chain).bytes(K.NFTA_RULE_HANDLE, h);
    return this.push(`delete rule ${family} ${table} ${chain} handle ${handle}`, m);
  }

  /** The whole transaction, framed by BATCH_BEGIN / BATCH_END (res_id names the nf_tables subsystem). */
  messages(): MessageBuilder[] {
    const frame = (type: number): MessageBuilder => new MessageBuilder(type, 0, 32).fixed(genmsg(0, K.NFNL_SUBSYS_NFTABLES));
    this.msgs.at(-1)?.addFlags(NLM_F_ACK);
    return [frame(K.NFNL_MSG_BATCH_BEGIN), ...this.msgs, frame(K.NFNL_MSG_BATCH_END)];
  }
}

/**
 * Commits `batch` as one transaction in the current network namespace. Throws NetlinkError naming
 * the first refused change; nothing of the batch is applied then. An empty batch sends nothing.
 * `validateOnly` leaves BATCH_END out: the kernel checks every message, then aborts (`nft --check`).
 */
export function commitNftBatch(batch: NftBatch, sock?: NetlinkSocket, validateOnly = false): void {
  if (batch.size === 0) return;
  const msgs = validateOnly ? batch.messages().slice(0, -1) : batch.messages();
  const ops = batch.operations;
  (sock ?? nftSocket()).batch(msgs, (i) => (i === 0 || i > ops.length ? 'nftables transaction' : `nftables: ${ops[i - 1]!}`));
}
