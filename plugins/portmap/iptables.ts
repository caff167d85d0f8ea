// The iptables form of portmap, rule for rule the reference's (nat table), so either implementation
// removes what the other made:
//   PREROUTING, OUTPUT:   -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
//   CNI-HOSTPORT-DNAT:    -m comment --comment 'dnat name: "<net>" id: "<cid>"' -m multiport -p P
//                         --destination-ports 8080,8081 [conditionsV4/6] -j CNI-DN-<hash>
//   CNI-DN-<hash>:        per mapping: hairpin SETMARK (-s <ctr/len> or 0.0.0.0/0), localhost SETMARK
//                         (v4, no masqAll), then DNAT --to-destination <ip>:<port> ([ip]:port for v6)
//   CNI-HOSTPORT-SETMARK: -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark M/M
//   CNI-HOSTPORT-MASQ:    -m mark --mark M/M -j MASQUERADE, jumped to from POSTROUTING position 1
// The rule builders are pure; apply* turn an iptables-save dump into one iptables-restore per family.
import { formatHashWithPrefix } from '../../shared/firewall/hash.js';
import { iptablesChainRemovalLines } from '../../shared/firewall/ipmasq-iptables.js';
import { formatRuleArgs, jumpTarget, ruleComment, ruleKey, type SavedRule, type SavedTable } from '../../shared/firewall/iptables-save.js';
import { changeIptablesTable, readIptablesTable } from '../../shared/firewall/iptables.js';
import { type Family, formatCIDR, formatIP, type IPNet, parseIP } from '../../shared/ip/index.js';
import type { PortMapping, PortmapConf } from './config.js';

export const NAT = 'nat';
export const TOP_DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
export const SETMARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
export const MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';
export const OLD_TOP_SNAT_CHAIN = 'CNI-HOSTPORT-SNAT';
const TOP_ENTRY_CHAINS = ['PREROUTING', 'OUTPUT'] as const;
const TOP_ENTRY_MATCH = ['-m', 'addrtype', '--dst-type', 'LOCAL'];
const SETMARK_COMMENT = 'CNI portfwd masquerade mark';
const MASQ_ENTRY_COMMENT = 'CNI portfwd requiring masquerade';
/** multiport takes at most 15 ports per rule. */
const MULTIPORT_MAX = 15;

/** The per-container DNAT chain: "CNI-DN-" + sha512(net + cid), 28 characters. */
export const dnatChainName = (network: string, containerID: string): string =>
  formatHashWithPrefix(28, 'CNI-DN-', network + containerID);

/** The per-container SNAT chain of old reference versions, still removed on DEL. */
export const oldSnatChainName = (network: string, containerID: string): string =>
  formatHashWithPrefix(28, 'CNI-SN-', network + containerID);

/** The reference writes this comment with %s (no escaping) and cuts it to iptables' 255 bytes. */
export function dnatComment(network: string, containerID: string): string {
  const c = `dnat name: "${network}" id: "${containerID}"`;
  return c.length <= 255 ? c : `${c.slice(0, 253)}...`;
}

/** Go's fmt "%#x/%#x" of 1<<bit. */
export function markDef(bit: number): string {
  const hex = `0x${(2 ** bit).toString(16)}`;
  return `${hex}/${hex}`;
}

export interface ChainRule {
  readonly chain: string;
  readonly args: readonly string[];
}

export const setMarkRule = (bit: number): string[] => ['-m', 'comment', '--comment', SETMARK_COMMENT, '-j', 'MARK', '--set-xmark', markDef(bit)];
export const masqRule = (bit: number): string[] => ['-m', 'mark', '--mark', markDef(bit), '-j', 'MASQUERADE'];
export const masqEntryRule = (): string[] => ['-m', 'comment', '--comment', MASQ_ENTRY_COMMENT, '-j', MASQ_CHAIN];
export const topEntryRule = (): string[] => [...TOP_ENTRY_MATCH, '-j', TOP_DNAT_CHAIN];

/** Host ports per protocol, protocols sorted, ports in mapping order, in groups of 15. */
export function multiportGroups(mappings: readonly PortMapping[]): Array<{ protocol: string; ports: string }> {
  const byProto = new Map<string, number[]>();
  for (const m of mappings) byProto.set(m.protocol, [...(byProto.get(m.protocol) ?? []), m.hostPort]);
  const out: Array<{ protocol: string; ports: string }> = [];
  for (const protocol of [...byProto.keys()].sort()) {
    const ports = byProto.get(protocol)!;
    for (let i = 0; i < ports.length; i += MULTIPORT_MAX) out.push({ protocol, ports: ports.slice(i, i + MULTIPORT_MAX).join(',') });
  }
  return out;
}

/** The entry rules of the container's chain (in CNI-HOSTPORT-DNAT), without their "-j CNI-DN-..." part. */
export function dnatEntryRules(conf: PortmapConf, containerID: string, family: Family): string[][] {
  const comment = dnatComment(conf.name, containerID);
  const conditions = (family === 6 ? conf.conditionsV6 : conf.conditionsV4) ?? [];
  return multiportGroups(conf.mappings).map((g) => [
    '-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', g.protocol, '--destination-ports', g.ports, ...conditions,
  ]);
}

const ipPort = (ip: IPNet, port: number): string =>
  ip.ip.family === 6 ? `[${formatIP(ip.ip)}]:${port}` : `${formatIP(ip.ip)}:${port}`;

/** The rules of the container's CNI-DN- chain for one container address, in the reference's order. */
export function dnatChainRules(conf: PortmapConf, container: IPNet): string[][] {
  const family = container.ip.family;
  const setMarkChain = conf.externalSetMarkChain ?? SETMARK_CHAIN;
  const rules: string[][] = [];
  for (const m of conf.mappings) {
    let dst: string[] = [];
    if (m.hostIP !== '') {
      const host = parseIP(m.hostIP)!;
      if (host.family !== family) continue; // a hostIP of the other family is for the other table
      if (host.value !== 0n) dst = ['-d', formatIP(host)]; // 0.0.0.0 and :: mean "any local address"
    }
    const base = ['-p', m.protocol, '--dport', String(m.hostPort), ...dst];
    if (conf.snat) {
      const masqSource = conf.masqAll ? (family === 6 ? '::/0' : '0.0.0.0/0') : formatCIDR(container);
      rules.push([...base, '-s', masqSource, '-j', setMarkChain]);
      if (family === 4 && !conf.masqAll) rules.push([...base, '-s', '127.0.0.1', '-j', setMarkChain]);
    }
    rules.push([...base, '-j', 'DNAT', '--to-destination', ipPort(container, m.containerPort)]);
  }
  return rules;
}

/** Everything one ADD wants in one family's nat table. */
export interface IptablesPlan {
  readonly family: Family;
  readonly dnatChain: string;
  /** Mark chains are ours to create only with snat and no externalSetMarkChain. */
  readonly markBit: number | undefined;
  readonly entryRules: readonly string[][];
  readonly chainRules: readonly string[][];
}

export function iptablesPlan(conf: PortmapConf, containerID: string, container: IPNet): IptablesPlan {
  return {
    family: container.ip.family,
    dnatChain: dnatChainName(conf.name, containerID),
    markBit: conf.snat && conf.externalSetMarkChain === undefined ? conf.markMasqBit : undefined,
    entryRules: dnatEntryRules(conf, containerID, container.ip.family),
    chainRules: dnatChainRules(conf, container),
  };
}

const argAfter = (r: SavedRule, flag: string): string | undefined => {
  const i = r.args.indexOf(flag);
  return i >= 0 ? r.args[i + 1] : undefined;
};

/**
 * iptables-restore --noflush lines for one ADD. Shared chains are created only when missing
 * (declaring an existing chain with ":CHAIN" would flush it); their rules are added when no equivalent rule is
 * there, so the reference's rules and ours never pile up. The container's own chain is declared
 * (created, or flushed when it exists) and rewritten, and its old entry rules are replaced, so a
 * repeated ADD leaves exactly one copy.
 */
export function iptablesSetupLines(table: SavedTable, plan: IptablesPlan): string[] {
  const lines: string[] = [];
  // "-N", not ":CHAIN": if a concurrent ADD created the chain since our read, -N fails the whole
  // restore (and changeIptablesTable reads again and retries) where ":CHAIN" would flush its rules.
  const declare = (chain: string): void => {
    if (!table.chains.has(chain)) lines.push(`-N ${chain}`);
  };
  const has = (pred: (r: SavedRule) => boolean): boolean => table.rules.some(pred);
  if (plan.markBit !== undefined) {
    const mark = markDef(plan.markBit);
    declare(SETMARK_CHAIN);
    if (!has((r) => r.chain === SETMARK_CHAIN && argAfter(r, '--set-xmark') === mark)) {
      lines.push(`-A ${SETMARK_CHAIN} ${formatRuleArgs(setMarkRule(plan.markBit))}`);
    }
    declare(MASQ_CHAIN);
    if (!has((r) => r.chain === MASQ_CHAIN && argAfter(r, '--mark') === mark && jumpTarget(r) === 'MASQUERADE')) {
      lines.push(`-A ${MASQ_CHAIN} ${formatRuleArgs(masqRule(plan.markBit))}`);
    }
    // First in POSTROUTING, or the bridge/ptp masquerade rules would see the packets first.
    if (!has((r) => r.chain === 'POSTROUTING' && jumpTarget(r) === MASQ_CHAIN)) {
      lines.push(`-I POSTROUTING 1 ${formatRuleArgs(masqEntryRule())}`);
    }
  }
  declare(TOP_DNAT_CHAIN);
  for (const chain of TOP_ENTRY_CHAINS) {
    if (!has((r) => r.chain === chain && jumpTarget(r) === TOP_DNAT_CHAIN && argAfter(r, '--dst-type') === 'LOCAL')) {
      lines.push(`-A ${chain} ${formatRuleArgs(topEntryRule())}`);
    }
  }
  for (const r of table.rules) {
    if (r.chain === TOP_DNAT_CHAIN && jumpTarget(r) === plan.dnatChain) lines.push(`-D ${r.chain} ${formatRuleArgs(r.args)}`);
  }
  lines.push(`:${plan.dnatChain} - [0:0]`);
  for (const rule of plan.chainRules) lines.push(`-A ${plan.dnatChain} ${formatRuleArgs(rule)}`);
  for (const rule of plan.entryRules) lines.push(`-A ${TOP_DNAT_CHAIN} ${formatRuleArgs([...rule, '-j', plan.dnatChain])}`);
  return lines;
}

/** Lines removing a container's chains (and every jump to them): the DNAT chain and the legacy SNAT one. */
export function iptablesTeardownLines(table: SavedTable, network: string, containerID: string): string[] {
  return iptablesChainRemovalLines(table, new Set([dnatChainName(network, containerID), oldSnatChainName(network, containerID)]));
}

// --- CHECK: compare what iptables-save shows with what ADD would write -----------------------------

const COMPARED_FLAGS = ['-p', '--dport', '-d', '-s', '-j', '--to-destination', '--comment', '--dports'] as const;

/**
 * The matching fields of a rule, independent of how iptables-save reorders and spells them
 * (`-s 10.0.0.2/24` is saved as `-s 10.0.0.0/24`, `--destination-ports` as `--dports`, implicit
 * `-m tcp` added). Conditions (free-form extra matches) are not compared.
 */
export function ruleFields(args: readonly string[]): string {
  const canonical = ruleKey('', args).split('\0').slice(1); // -s/-d as network/len
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? canonical[i + 1] : undefined;
  };
  const fields: string[] = [];
  for (const flag of COMPARED_FLAGS) {
    const v = flag === '--dports' ? (value('--dports') ?? value('--destination-ports')) : value(flag);
    // iptables-save leaves out a match on every address.
    if (v === undefined || ((flag === '-s' || flag === '-d') && (v === '0.0.0.0/0' || v === '::/0'))) continue;
    fields.push(`${flag}=${v}`);
  }
  return fields.join(' ');
}

/** What CHECK found missing in one family, or undefined when everything is there. */
export function iptablesCheck(table: SavedTable, plan: IptablesPlan): string | undefined {
  if (!table.chains.has(plan.dnatChain)) return `chain ${plan.dnatChain} not found in iptables table ${NAT}`;
  const inChain = new Set(table.rules.filter((r) => r.chain === plan.dnatChain).map((r) => ruleFields(r.args)));
  for (const rule of plan.chainRules) {
    if (!inChain.has(ruleFields(rule))) return `rule ${rule.join(' ')} in chain ${plan.dnatChain} not found in table ${NAT}`;
  }
  const entries = new Set(table.rules.filter((r) => r.chain === TOP_DNAT_CHAIN).map((r) => ruleFields(r.args)));
  for (const rule of plan.entryRules) {
    if (!entries.has(ruleFields([...rule, '-j', plan.dnatChain]))) {
      return `rule ${rule.join(' ')} -j ${plan.dnatChain} in chain ${TOP_DNAT_CHAIN} not found in table ${NAT}`;
    }
  }
  return undefined;
}

// --- GC: which containers of a network have chains here ------------------------------------------

/** Container IDs of `network` named by the DNAT entry comments of this table (untruncated ones). */
export function containersWithChains(table: SavedTable, network: string): string[] {
  const prefix = `dnat name: "${network}" id: "`;
  const ids = new Set<string>();
  for (const r of table.rules) {
    if (r.chain !== TOP_DNAT_CHAIN) continue;
    const c = ruleComment(r);
    if (!c?.startsWith(prefix) || !c.endsWith('"')) continue;
    const id = c.slice(prefix.length, -1);
    // The comment is not escaped: believe it only when it names the chain the rule jumps to.
    if (jumpTarget(r) === dnatChainName(network, id)) ids.add(id);
  }
  return [...ids];
}

// --- applying -----------------------------------------------------------------------------------

export async function iptablesSetup(plan: IptablesPlan): Promise<void> {
  await changeIptablesTable(plan.family, NAT, (t) => iptablesSetupLines(t, plan));
}

export async function iptablesTeardown(family: Family, network: string, containerID: string, current?: SavedTable): Promise<void> {
  await changeIptablesTable(family, NAT, (t) => iptablesTeardownLines(t, network, containerID), current);
}

export { readIptablesTable };
