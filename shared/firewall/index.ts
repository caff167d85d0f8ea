// The firewall library: ipMasq (iptables and nftables forms) and macspoofchk, plus the name hash
// shared with portmap and bandwidth.
export { formatHashWithPrefix, formatChainName } from './hash.js';
export { goQuote } from './goquote.js';
export {
  type MasqBackend,
  type BackendUsability,
  MASQ_BACKENDS,
  parseMasqBackend,
  resolveMasqBackend,
  checkMasqBackendUsable,
  checkIptablesFamilyUsable,
} from './backend.js';
export { type MasqIdentity, type MasqAttachment, setupIPMasq, teardownIPMasq, gcIPMasq } from './ipmasq.js';
export {
  type SpoofCheckIdentity,
  type SpoofCheckAttachment,
  spoofCheckNames,
  setupMacSpoofCheck,
  teardownMacSpoofCheck,
} from './macspoofchk.js';
export { iptablesMasqChain, iptablesMasqComment } from './ipmasq-iptables.js';
export { nftMasqComment, nftInstanceHash, nftNetworkHash, NFT_MASQ_TABLE, NFT_MASQ_CHAIN } from './ipmasq-nftables.js';
export { findTool, runTool, ToolMissingError, ToolFailedError, type ToolResult } from './exec.js';
