// The JSON gateway's encoding: keys and values base64, int64 fields as decimal strings (and left out
// when zero), enums by name. Decoding turns that into plain typed records.
import type { KeyValue, ResponseHeader } from './types.js';

export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
export const unb64 = (text: string | undefined): string => (text ? Buffer.from(text, 'base64').toString('utf8') : '');

/** The range_end that makes a range request cover every key starting with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = bytes[i]! + 1;
      return end.toString('base64');
    }
  }
  // All 0xff (or empty): "every key from prefix on", etcd's "\0".
  return Buffer.from([0]).toString('base64');
}

/** An int64 field: absent means 0. Revisions stay far below 2^53, so a number is exact. */
export function int(value: unknown): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** A lease ID: int64 that does not fit a double exactly, so it stays a decimal string ('0' = none). */
export function leaseId(value: unknown): string {
  if (value === undefined || value === null || value === '') return '0';
  return String(value);
}

export interface WireKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

export interface WireHeader {
  cluster_id?: string;
  member_id?: string;
  revision?: string;
  raft_term?: string;
}

export function decodeKv(kv: WireKeyValue): KeyValue {
  return {
    key: unb64(kv.key),
    value: unb64(kv.value),
    createRevision: int(kv.create_revision),
    modRevision: int(kv.mod_revision),
    version: int(kv.version),
    lease: leaseId(kv.lease),
  };
}

export function decodeHeader(h: WireHeader | undefined): ResponseHeader {
  return {
    clusterId: h?.cluster_id ?? '',
    memberId: h?.member_id ?? '',
    revision: int(h?.revision),
    raftTerm: int(h?.raft_term),
  };
}
