// The iptables backend: the reference's filter-table rules, one iptables-restore per family per call.
import { CniError, ErrorCode, checkFailed } from '../../shared/cni/errors.js';
import { firewallError } from '../../shared/firewall/errors.js';
import { findTool, ToolMissingError } from '../../shared/firewall/exec.js';
import { changeIptablesTable, readIptablesTable } from '../../shared/firewall/iptables.js';
import type { Family, IPNet } from '../../shared/ip/index.js';
import type { FirewallBackend, FirewallRequest } from './backend.js';
import { addLines, checkTable, delLines, FILTER_TABLE, type AddPlan } from './iptables-rules.js';

const FAMILIES: readonly Family[] = [4, 6];
const TOOLS: Readonly<Record<Family, readonly string[]>> = {
  4: ['iptables-save', 'iptables-restore'],
  6: ['ip6tables-save', 'ip6tables-restore'],
};

/**
 * The reference initialises both families before doing anything and fails when either is missing.
 * As there, the tools of both must be installed; but a family's table is only read and written when
 * the container has an address of that family, so a node without IPv6 netfilter serves IPv4-only
 * containers (go-iptables' initialisation only runs the binary, it never touches the kernel table).
 */
export function requireIptablesTools(): void {
  for (const family of FAMILIES) {
    const missing = TOOLS[family].find((t) => findTool(t) === undefined);
    if (missing) throw new CniError(ErrorCode.IOFailure, `could not initialize iptables protocol IPv${family}`, new ToolMissingError(missing).message);
  }
}

const ofFamily = (ips: readonly IPNet[], family: Family): IPNet[] => ips.filter((ip) => ip.ip.family === family);

/** Families the request touches: those of its addresses (the reference's findProtos for isolation too). */
function plans(req: FirewallRequest, withFilterRules: boolean): [Family, AddPlan][] {
  return FAMILIES.filter((f) => ofFamily(req.ips, f).length > 0).map((family) => [
    family,
    {
      ips: withFilterRules ? ofFamily(req.ips, family) : [],
      adminChain: req.config.adminChain,
      ...(req.isolation ? { isolation: req.isolation } : {}),
    },
  ]);
}

/** Only the isolation chains, through iptables: what the firewalld backend does for ingressPolicy. */
export async function addIptablesIsolation(req: FirewallRequest): Promise<void> {
  if (!req.isolation) return;
  requireIptablesTools();
  try {
    await allFamilies(plans(req, false).map(([family, plan]) => () => changeIptablesTable(family, FILTER_TABLE, (t) => addLines(t, plan))));
  } catch (e) {
    throw firewallError('failed to set up the ingress policy (iptables)', e);
  }
}

/**
 * Runs one transaction per family at once (they are separate programs and tables): waits for all,
 * then throws the first failure.
 */
async function allFamilies(jobs: readonly (() => Promise<void>)[]): Promise<void> {
  const outcomes = await Promise.allSettled(jobs.map((job) => job()));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

function deleteRules(req: FirewallRequest): Promise<void> {
  return allFamilies(
    FAMILIES.map((family) => ofFamily(req.ips, family))
      .filter((ips) => ips.length > 0)
      .map((ips) => () => changeIptablesTable(ips[0]!.ip.family, FILTER_TABLE, (t) => delLines(t, ips))),
  );
}

export function iptablesBackend(): FirewallBackend {
  return {
    name: 'iptables',
    async add(req) {
      requireIptablesTools();
      try {
        await allFamilies(plans(req, true).map(([family, plan]) => () => changeIptablesTable(family, FILTER_TABLE, (t) => addLines(t, plan))));
      } catch (e) {
        // One family may have been written before the other failed: take its address rules out again.
        await deleteRules(req).catch(() => undefined);
        throw firewallError('failed to add firewall rules (iptables)', e);
      }
    },
    async del(req) {
      try {
        await deleteRules(req);
      } catch (e) {
        // No tool: nothing of ours can be in that table.
        if (e instanceof ToolMissingError) return;
        throw firewallError('failed to delete firewall rules (iptables)', e);
      }
    },
    async check(req) {
      requireIptablesTools();
      for (const [family, plan] of plans(req, true)) {
        let table;
        try {
          table = await readIptablesTable(family, FILTER_TABLE);
        } catch (e) {
          throw firewallError(`failed to read the IPv${family} filter table`, e);
        }
        const problem = checkTable(table, plan);
        if (problem) throw checkFailed(`IPv${family}: ${problem}`);
      }
    },
    close() {},
  };
}
