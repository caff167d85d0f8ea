// Which firewall API ipMasq uses, and whether it works on this node (for STATUS).
import { CniError, ErrorCode } from '../cni/errors.js';
import type { Family } from '../ip/index.js';
import { runTool, ToolMissingError, type ToolResult } from './exec.js';
import { nftCheck } from './nft.js';

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

// A nat base chain with a masquerade rule in a table that never exists: `nft --check` sends the batch
// to the kernel and aborts it, so this proves nf_tables, the nat chain type and masquerade work.
const NFTABLES_NOOP = [
  'add table inet tscni_probe_masquerade',
  'add chain inet tscni_probe_masquerade postrouting { type nat hook postrouting priority srcnat ; }',
  'add rule inet tscni_probe_masquerade postrouting ip saddr 127.0.0.1 masquerade',
  '',
].join('\n');

/** Whether one iptables family works: ip6tables can be unusable (IPv6 disabled) while IPv4 works. */
export function checkIptablesFamilyUsable(family: Family): Promise<BackendUsability> {
  return probe(family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['--noflush', '--wait'], IPTABLES_NOOP);
}

/**
 * Whether `backend` works here: its tool is installed and the kernel accepts a no-op transaction.
 * For iptables only IPv4 is required (as the reference's SupportsIPTables); a node without IPv6
 * netfilter can still masquerade IPv4 containers.
 */
export function checkMasqBackendUsable(backend: MasqBackend): Promise<BackendUsability> {
  return backend === 'iptables'
    ? checkIptablesFamilyUsable(4)
    : nftCheck(NFTABLES_NOOP).then(
        (r) => (r.code === 0 ? { ok: true } : { ok: false, reason: `nft: ${describe(r)}` }),
        (e: Error) => ({ ok: false, reason: e.message }),
      );
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
