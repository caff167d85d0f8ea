// STATUS: whether the configured backend can be used now (code 50 otherwise).
import { findTool, runTool, ToolMissingError } from '../../shared/firewall/exec.js';
import { nftCheck } from '../../shared/firewall/nft.js';
import type { BackendName } from './config.js';

export interface StatusProblem {
  readonly msg: string;
  readonly details: string;
}

const lastLine = (s: string): string => s.trim().split('\n').slice(-1)[0] ?? '';

/** iptables: both families' tools installed (as the reference needs) and the IPv4 filter table usable. */
async function iptablesProblem(): Promise<string | undefined> {
  for (const tool of ['iptables-save', 'iptables-restore', 'ip6tables-save', 'ip6tables-restore']) {
    if (findTool(tool) === undefined) return new ToolMissingError(tool).message;
  }
  const r = await runTool('iptables-restore', ['--noflush', '--wait'], '*filter\nCOMMIT\n');
  return r.code === 0 ? undefined : `iptables-restore: ${lastLine(r.stderr) || `exit status ${r.code}`}`;
}

// A filter base chain in a table that never exists: `nft --check` sends it to the kernel and aborts.
const NFT_PROBE = [
  'add table inet tscni_probe_firewall',
  'add chain inet tscni_probe_firewall forward { type filter hook forward priority filter ; }',
  'add rule inet tscni_probe_firewall forward ip saddr 127.0.0.1 ct state established,related accept',
  '',
].join('\n');

async function nftablesProblem(): Promise<string | undefined> {
  try {
    const r = await nftCheck(NFT_PROBE);
    return r.code === 0 ? undefined : `nft: ${lastLine(r.stderr) || `exit status ${r.code}`}`;
  } catch (e) {
    return (e as Error).message;
  }
}

async function firewalldProblem(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const fw = await import('./firewalld.js');
  let conn;
  try {
    conn = await fw.connectSystemBus(env);
  } catch (e) {
    return `system bus unreachable: ${(e as Error).message}`;
  }
  if (!conn) return 'no system bus socket';
  try {
    return (await fw.firewalldOwnsName(conn)) ? undefined : `${fw.FIREWALLD_NAME} has no owner on the system bus`;
  } catch (e) {
    return `NameHasOwner failed: ${(e as Error).message}`;
  } finally {
    conn.close();
  }
}

/** undefined when the backend (or, unset, the default the reference would pick) is usable. */
export async function backendStatus(backend: BackendName | undefined, env: NodeJS.ProcessEnv): Promise<StatusProblem | undefined> {
  let chosen: BackendName = backend ?? 'iptables';
  if (backend === undefined && (await firewalldProblem(env)) === undefined) chosen = 'firewalld';
  const problem =
    chosen === 'iptables' ? await iptablesProblem() : chosen === 'nftables' ? await nftablesProblem() : await firewalldProblem(env);
  return problem ? { msg: `the firewall backend ${chosen} cannot be used`, details: problem } : undefined;
}
