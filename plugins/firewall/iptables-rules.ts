// The iptables form of the firewall plugin, rule for rule the reference's (REFERENCE §3.14), as pure
// functions from an iptables-save dump of the filter table to iptables-restore lines:
//
//   FORWARD      -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD          (inserted at 1)
//   CNI-FORWARD  -m comment --comment "CNI firewall plugin admin overrides" -j <admin>      (inserted at 1)
//   CNI-FORWARD  -d <ip>/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT           (appended)
//   CNI-FORWARD  -s <ip>/32 -j ACCEPT                                                       (appended)
//
// and, for ingressPolicy same-bridge / isolated, the CNI-ISOLATION-STAGE-1/-2 chains. Rules are
// written in the order iptables-save prints their matches (comment before the target), so a rule
// we generate compares equal to the one the kernel hands back.
import { formatIP, type Family, type IPNet } from '../../shared/ip/index.js';
import { formatRuleArgs, ruleKey, type SavedRule, type SavedTable } from '../../shared/firewall/iptables-save.js';

export const FILTER_TABLE = 'filter';
export const FORWARD_CHAIN = 'FORWARD';
export const PRIV_CHAIN = 'CNI-FORWARD';
export const DEFAULT_ADMIN_CHAIN = 'CNI-ADMIN';
export const STAGE1_CHAIN = 'CNI-ISOLATION-STAGE-1';
export const STAGE2_CHAIN = 'CNI-ISOLATION-STAGE-2';
const RULES_COMMENT = 'CNI firewall plugin rules';
const ADMIN_COMMENT = 'CNI firewall plugin admin overrides';

export type IsolationPolicy = 'same-bridge' | 'isolated';

export interface Rule {
  readonly chain: string;
  readonly args: readonly string[];
}

const comment = (text: string): string[] => ['-m', 'comment', '--comment', text];

/** "ip/32" or "ip/128": the reference's ipString. */
export function hostCidr(ip: IPNet): string {
  return `${formatIP(ip.ip)}/${ip.ip.family === 4 ? 32 : 128}`;
}

export const forwardJump = (): Rule => ({ chain: FORWARD_CHAIN, args: [...comment(RULES_COMMENT), '-j', PRIV_CHAIN] });
export const adminJump = (admin: string): Rule => ({ chain: PRIV_CHAIN, args: [...comment(ADMIN_COMMENT), '-j', admin] });

/** The two per-address rules, in the reference's order. */
export function perIPRules(ip: IPNet): Rule[] {
  const cidr = hostCidr(ip);
  return [
    { chain: PRIV_CHAIN, args: ['-d', cidr, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'] },
    { chain: PRIV_CHAIN, args: ['-s', cidr, '-j', 'ACCEPT'] },
  ];
}

/** The comment of the isolation rules; the shared ones (RETURNs, stage 2) keep the same-bridge text. */
export const policyComment = (policy: IsolationPolicy): string => `${RULES_COMMENT} (ingressPolicy: ${policy})`;
const DEFAULT_POLICY_COMMENT = policyComment('same-bridge');

export interface IsolationRules {
  readonly forward: Rule;
  /** Prepended to stage 1 in this order (each at position 1, so the last one ends up first). */
  readonly stage1Prepend: readonly Rule[];
  readonly stage1Return: Rule;
  readonly stage2Prepend: Rule;
  readonly stage2Return: Rule;
}

export function isolationRules(bridge: string, policy: IsolationPolicy): IsolationRules {
  const own = comment(policyComment(policy));
  const shared = comment(DEFAULT_POLICY_COMMENT);
  const stage1Prepend: Rule[] = [{ chain: STAGE1_CHAIN, args: ['-i', bridge, '!', '-o', bridge, ...own, '-j', STAGE2_CHAIN] }];
  if (policy === 'isolated') stage1Prepend.push({ chain: STAGE1_CHAIN, args: ['-i', bridge, '-o', bridge, ...own, '-j', 'DROP'] });
  return {
    forward: { chain: FORWARD_CHAIN, args: [...own, '-j', STAGE1_CHAIN] },
    stage1Prepend,
    stage1Return: { chain: STAGE1_CHAIN, args: [...shared, '-j', 'RETURN'] },
    stage2Prepend: { chain: STAGE2_CHAIN, args: ['-o', bridge, ...shared, '-j', 'DROP'] },
    stage2Return: { chain: STAGE2_CHAIN, args: [...shared, '-j', 'RETURN'] },
  };
}

/** Builds one restore script against a snapshot, with "unless present" semantics per rule. */
class ScriptBuilder {
  readonly lines: string[] = [];
  private readonly chains: Set<string>;
  private readonly present: Set<string>;
  constructor(table: SavedTable) {
    this.chains = new Set(table.chains);
    this.present = new Set(table.rules.map((r) => ruleKey(r.chain, r.args)));
  }
  has(rule: Rule): boolean {
    return this.present.has(ruleKey(rule.chain, rule.args));
  }
  /**
   * Creates a chain that our snapshot lacks with `-N`, not a `:CHAIN` declaration: a declaration
   * flushes a chain that exists, so two first ADDs racing on a fresh node would wipe each other's
   * rules; `-N` of a chain created in between fails the transaction instead, which is then
   * recomputed from a fresh read (changeIptablesTable retries).
   */
  ensureChain(chain: string): void {
    if (this.chains.has(chain)) return;
    this.chains.add(chain);
    this.lines.push(`-N ${chain}`);
  }
  insertFirst(rule: Rule): void {
    if (this.has(rule)) return;
    this.present.add(ruleKey(rule.chain, rule.args));
    this.lines.push(`-I ${rule.chain} 1 ${formatRuleArgs(rule.args)}`);
  }
  append(rule: Rule): void {
    if (this.has(rule)) return;
    this.present.add(ruleKey(rule.chain, rule.args));
    this.lines.push(`-A ${rule.chain} ${formatRuleArgs(rule.args)}`);
  }
  delete(rule: Rule): void {
    if (!this.has(rule)) return;
    this.present.delete(ruleKey(rule.chain, rule.args));
    this.lines.push(`-D ${rule.chain} ${formatRuleArgs(rule.args)}`);
  }
}

export interface AddPlan {
  readonly ips: readonly IPNet[];
  readonly adminChain: string;
  /** Present when ingressPolicy is same-bridge or isolated. */
  readonly isolation?: { bridge: string; policy: IsolationPolicy };
}

/**
 * The restore lines of an ADD for one family: the reference's setupChains and AppendUnique of the
 * per-address rules, then (as the reference, after the backend) the isolation chains. [] when all
 * is in place. The family's addresses must be non-empty for the filter rules to be written.
 */
export function addLines(table: SavedTable, plan: AddPlan): string[] {
  const b = new ScriptBuilder(table);
  if (plan.ips.length > 0) {
    b.ensureChain(PRIV_CHAIN);
    b.ensureChain(plan.adminChain);
    b.insertFirst(forwardJump());
    b.insertFirst(adminJump(plan.adminChain));
    for (const ip of plan.ips) for (const rule of perIPRules(ip)) b.append(rule);
  }
  if (plan.isolation) {
    const r = isolationRules(plan.isolation.bridge, plan.isolation.policy);
    b.ensureChain(STAGE1_CHAIN);
    b.ensureChain(STAGE2_CHAIN);
    b.insertFirst(r.forward);
    for (const rule of r.stage1Prepend) b.insertFirst(rule);
    b.append(r.stage1Return);
    b.insertFirst(r.stage2Prepend);
    b.append(r.stage2Return);
  }
  return b.lines;
}

/** The restore lines of a DEL: the per-address rules that exist. Chains and jumps stay. */
export function delLines(table: SavedTable, ips: readonly IPNet[]): string[] {
  const b = new ScriptBuilder(table);
  for (const ip of ips) for (const rule of perIPRules(ip)) b.delete(rule);
  return b.lines;
}

const show = (rule: Rule): string => `${rule.chain} ${formatRuleArgs(rule.args)}`;

/**
 * CHECK for one family: the chains, both jumps and every per-address rule (and the isolation rules
 * when a policy is configured). Returns the first problem, worded like the reference, or undefined.
 */
export function checkTable(table: SavedTable, plan: AddPlan): string | undefined {
  const b = new ScriptBuilder(table);
  const expect: Rule[] = [];
  if (plan.ips.length > 0) {
    for (const chain of [PRIV_CHAIN, plan.adminChain]) if (!table.chains.has(chain)) return `chain ${chain} not found in table filter`;
    expect.push(forwardJump(), adminJump(plan.adminChain));
    for (const ip of plan.ips) expect.push(...perIPRules(ip));
  }
  if (plan.isolation) {
    for (const chain of [STAGE1_CHAIN, STAGE2_CHAIN]) if (!table.chains.has(chain)) return `chain ${chain} not found in table filter`;
    const r = isolationRules(plan.isolation.bridge, plan.isolation.policy);
    expect.push(r.forward, ...r.stage1Prepend, r.stage1Return, r.stage2Prepend, r.stage2Return);
  }
  const missing = expect.find((rule) => !b.has(rule));
  return missing ? `expected rule ${show(missing)} not found` : undefined;
}

export const familyOf = (ip: IPNet): Family => ip.ip.family;

/** Rules in a table that are per-address rules of ours for `ips` (used by tests and GC). */
export function presentPerIPRules(rules: readonly SavedRule[], ips: readonly IPNet[]): SavedRule[] {
  const wanted = new Set(ips.flatMap(perIPRules).map((r) => ruleKey(r.chain, r.args)));
  return rules.filter((r) => wanted.has(ruleKey(r.chain, r.args)));
}
