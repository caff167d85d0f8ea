// cluster-ipam's view of etcd: read a network's claims and cursors in one range request, claim an
// address in one transaction, release a claim only while it still names its holder.
import { EtcdClient } from '../../shared/etcd/client.js';
import type { CallOptions } from '../../shared/etcd/types.js';
import type { IP } from '../../shared/ip/index.js';
import { type Claim, Keys, decodeClaim, encodeClaim, sameAttachment } from './keys.js';

/** One claim key as read. `raw` is the exact value, which a release compares against. */
export interface HeldClaim {
  ip: IP;
  key: string;
  raw: string;
  /** undefined when the value is not a cluster-ipam claim (kept, never released by us). */
  claim: Claim | undefined;
}

export interface NetworkState {
  claims: HeldClaim[];
  /** Claimed addresses as keys (so a set of strings can answer "taken?"). */
  taken: Set<string>;
  cursors: Map<number, IP>;
}

export type ClaimOutcome = { won: true; raw: string } | { won: false; holder: Claim | undefined; raw: string };

export class ClaimStore {
  readonly keys: Keys;
  private readonly client: EtcdClient;
  private readonly call: CallOptions;

  constructor(client: EtcdClient, keys: Keys, deadline: number) {
    this.client = client;
    this.keys = keys;
    this.call = { deadline };
  }

  /** Every claim and cursor of the network, one linearizable read (so it also proves quorum). */
  async read(): Promise<NetworkState> {
    const r = await this.client.range(this.keys.networkPrefix, { prefix: true }, this.call);
    const state: NetworkState = { claims: [], taken: new Set(), cursors: new Map() };
    const cursorPrefix = `${this.keys.networkPrefix}_cursor/`;
    for (const kv of r.kvs) {
      if (kv.key.startsWith(cursorPrefix)) {
        const index = Number(kv.key.slice(cursorPrefix.length));
        const ip = this.keys.ipOfKey(`${this.keys.networkPrefix}${kv.value}`);
        if (Number.isInteger(index) && ip) state.cursors.set(index, ip);
        continue;
      }
      const ip = this.keys.ipOfKey(kv.key);
      if (!ip) continue;
      state.claims.push({ ip, key: kv.key, raw: kv.value, claim: decodeClaim(kv.value) });
      state.taken.add(kv.key);
    }
    return state;
  }

  /** Claimed keys only (cheaper than read(): no values), to refresh the taken set after conflicts. */
  async takenKeys(): Promise<Set<string>> {
    const r = await this.client.range(this.keys.networkPrefix, { prefix: true, keysOnly: true }, this.call);
    return new Set(r.kvs.map((kv) => kv.key).filter((k) => this.keys.ipOfKey(k) !== undefined));
  }

  /**
   * Claims `ip` for `claim` if no key exists for it (create_revision = 0) and moves the set's cursor
   * there, in one transaction. On conflict, the holder read in the same transaction.
   */
  async claim(ip: IP, setIndex: number, claim: Claim, cursor: string): Promise<ClaimOutcome> {
    const key = this.keys.claim(ip);
    const raw = encodeClaim(claim);
    const r = await this.client.txn(
      {
        compare: [{ key, target: 'createRevision', result: 'EQUAL', value: 0 }],
        success: [{ put: { key, value: raw } }, { put: { key: this.keys.cursor(setIndex), value: cursor } }],
        failure: [{ range: { key } }],
      },
      this.call,
    );
    if (r.succeeded) return { won: true, raw };
    const first = r.responses[0];
    const held = first && 'range' in first ? first.range.kvs[0]?.value : undefined;
    return { won: false, holder: held === undefined ? undefined : decodeClaim(held), raw: held ?? '' };
  }

  /** Deletes `key` only while its value is still `raw`; false when someone else holds it now (or nobody). */
  async release(key: string, raw: string): Promise<boolean> {
    const r = await this.client.txn(
      { compare: [{ key, target: 'value', result: 'EQUAL', value: raw }], success: [{ deleteRange: { key } }] },
      this.call,
    );
    return r.succeeded;
  }

  /** The claims of one attachment. */
  static of(state: NetworkState, containerID: string, ifname: string): HeldClaim[] {
    return state.claims.filter((c) => c.claim && sameAttachment(c.claim, containerID, ifname));
  }
}
