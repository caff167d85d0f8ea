// Names and values the -ip-masq rules share between the iptables text, the nft text and the
// nf_tables batch (masq.ts, masq-nft-batch.ts).
export const MASQ_CHAIN = 'FLANNEL-POSTRTG';
export const MASQ_COMMENT = 'flanneld masq';
export const NFT_TABLE = 'tscni-overlay';
export const NFT_CHAIN = 'postrtg';
/** Packets kube-proxy marked for masquerading are left to kube-proxy's own rule. */
export const KUBE_MARK = { value: 0x4000, mask: 0x4000 } as const;
