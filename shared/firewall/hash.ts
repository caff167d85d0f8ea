// Name derivation shared by every firewall user (ipMasq, portmap, bandwidth): the reference derives
// chain names, nft comment prefixes and the ifb device name from a truncated lowercase SHA-512 hex
// digest, and ours must produce the very same names so a node can switch implementations.
// (Our own SHA-512: node:crypto would add ~8 ms of start-up to every ADD and DEL.)
import { sha512Hex } from '../hash/sha512.js';

/** (prefix + lowercase sha512 hex of s), cut to `length` characters. */
export function formatHashWithPrefix(length: number, prefix: string, s: string): string {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`invalid hash name length ${length}`);
  return (prefix + sha512Hex(s)).slice(0, length);
}

/** iptables ipMasq chain of (network, containerID): "CNI-" + 24 hex chars (28 in all). */
export function formatChainName(network: string, containerID: string): string {
  return formatHashWithPrefix(28, 'CNI-', network + containerID);
}
