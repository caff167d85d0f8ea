// Which firewall API ipMasq uses, and whether it works on this node (for STATUS).
import { CniError, ErrorCode } from '../cni/errors.js';
import type { Family } from '../ip/index.js';
import { runTool, ToolMissingError, type ToolResult } from './exec.js';
import { hostNetOf, mustParseIP } from '../ip/index.js';
import { masquerade, matchAddress, NftBatch, validateNftBatch } from '../netfilter/nftables/index.js';
import { errorText } from '../sys/error-text.js';

export type MasqBackend = 'iptables' | 'nftables';
export const MASQ_BACKENDS: readonly MasqBackend[] = ['iptables', 'nftables'];

export type BackendUsability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Validate the `ipMasqBackend` config value: undefined (absent) means "choose automatically".
 * Throws CniError 7 naming the field and value for anything else.
 */
export function parseMasqBackend(configured: unknown): MasqBackend | undefined {
  if (configured === undefined || configured === null) return undefined;
  if (typeof configured === 'string' && (MASQ_BACKENDS as readonly string[]).includes(configured)) {
    return configured as MasqBackend;
  }
  throw new CniError(
    ErrorCode.InvalidNetworkConfig,
    `invalid ipMasqBackend ${JSON.stringify(configured)}: must be "iptables" or "nftables"`,
  );
}

const describe = (r: ToolResult): string => r.stderr.trim().split('\n').slice(-1)[0] || `exit status ${r.code}`;

async function probe(tool: string, args: readonly string[], stdin: string): Promise<BackendUsability> {
  try {
    const result = await runTool(tool, args, stdin);
    return result.code === 0 ? { ok: true } : { ok: false, reason: `${tool}: ${describe(result)}` };
  } catch (e) {
    if (e instanceof ToolMissingError) return { ok: false, reason: e.message };
    return { ok: false, reason: `${tool}: ${(e as Error).message}` };
  }
}

// An empty nat section committed with --noflush: the tool opens the kernel's nat table (legacy) or
// nf_tables cache (nft variant) and changes nothing.
const IPTABLES_NOOP = '*nat\nCOMMIT\n';

// A nat base chain with a masquerade rule in a table that never exists, sent to the kernel as a batch
// without its end (so it is always aborted): proves nf_tables, the nat chain type and masquerade work.
// Over netlink, so a node without the `nft` program can use the nftables backend.
function nftablesProbe(): NftBatch {
  const T = 'tscni_probe_masquerade';
  return new NftBatch()
    .addTable('inet', T)
    .addChain('inet', T, 'postrouting', { base: { type: 'nat', hook: 'postrouting', priority: 100 } })
    .addRule('inet', T, 'postrouting', [...matchAddress('inet', 'saddr', hostNetOf(mustParseIP('127.0.0.1'))), masquerade()]);
}

/** Whether the kernel's nf_tables accepts a nat chain with a masquerade rule (nothing is changed). */
export function checkNftablesUsable(): BackendUsability {
  try {
    validateNftBatch(nftablesProbe());
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: errorText(e) };
  }
}

/** Whether one iptables family works: ip6tables can be unusable (IPv6 disabled) while IPv4 works. */
export function checkIptablesFamilyUsable(family: Family): Promise<BackendUsability> {
  return probe(family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['--noflush', '--wait'], IPTABLES_NOOP);
}

/**
 * Whether `backend` works here: iptables: its tool is installed and the kernel accepts a no-op
 * transaction; nftables: the kernel accepts a probe batch (no tool needed).
 * For iptables only IPv4 is required (as the reference's SupportsIPTables); a node without IPv6
 * netfilter can still masquerade IPv4 containers.
 */
export function checkMasqBackendUsable(backend: MasqBackend): Promise<BackendUsability> {
  return backend === 'iptables'
    ? checkIptablesFamilyUsable(4)
    : Promise.resolve(checkNftablesUsable());
}

/**
 * The backend an ADD uses. An explicit `ipMasqBackend` wins. Otherwise the reference's rule: iptables,
 * unless iptables does not work and nftables does.
 */
export async function resolveMasqBackend(configured: unknown): Promise<MasqBackend> {
  const explicit = parseMasqBackend(configured);
  if (explicit) return explicit;
  if ((await checkMasqBackendUsable('iptables')).ok) return 'iptables';
  return (await checkMasqBackendUsable('nftables')).ok ? 'nftables' : 'iptables';
}
