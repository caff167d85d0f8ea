// STATUS: whether the configured backend can be used now (code 50 otherwise).
import { findTool, runTool, ToolMissingError } from '../../shared/firewall/exec.js';
import { hostNetOf, mustParseIP } from '../../shared/ip/index.js';
import { accept, matchAddress, matchCtState, NftBatch, validateNftBatch } from '../../shared/netfilter/nftables/index.js';
import { errorText } from '../../shared/sys/error-text.js';
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

// A filter base chain with a conntrack rule in a table that never exists, sent to the kernel over
// netlink as a batch without its end (always aborted): STATUS asks the kernel, not the `nft` tool,
// which the backend does not need.
async function nftablesProblem(): Promise<string | undefined> {
  const T = 'tscni_probe_firewall';
  const probe = new NftBatch()
    .addTable('inet', T)
    .addChain('inet', T, 'forward', { base: { type: 'filter', hook: 'forward', priority: 0 } })
    .addRule('inet', T, 'forward', [...matchAddress('inet', 'saddr', hostNetOf(mustParseIP('127.0.0.1'))), ...matchCtState(['established', 'related']), accept()]);
  try {
    validateNftBatch(probe);
    return undefined;
  } catch (e) {
    return errorText(e);
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
