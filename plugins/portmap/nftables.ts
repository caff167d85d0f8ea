// The nftables form of portmap, object for object the latest reference's (tables `ip cni_hostport`
// and `ip6 cni_hostport`, comment "CNI portmap plugin"):
//   hostports          per mapping: [ip daddr H] <proto> dport P dnat to <ip>:<port>   comment "<cid>"
//   hostip_hostports   legacy (older versions put hostIP rules here); kept, emptied of ours on DEL
//   hostports_all      rewritten on every ADD: jump hostip_hostports; jump hostports
//   prerouting         nat hook prerouting priority -100, rewritten: <conditions> fib daddr type local jump hostports_all
//   output             nat hook output priority -100, rewritten the same way
//   masquerading       nat hook postrouting priority 100 (with snat):
//                      ip saddr <ctr | 0.0.0.0/0 with masqAll> ip daddr <ctr> masquerade  comment "<cid>"
//                      ip saddr 127.0.0.1 ip daddr <ctr> masquerade                       comment "<cid>" (v4, no masqAll)
// Rules of a container are found by their comment (the container ID) and deleted by handle. One
// nf_tables netlink batch per call covers both families (nftables-batch.ts; the text below is the
// readable form, the tests' oracle, and what runs through `nft -f -` when nft conditions are set). The comment does not say which network a rule is for:
// when the state record names the container's addresses, only rules naming one of them are ours.
import { type Family, formatIP, type IPNet, parseIP } from '../../shared/ip/index.js';
import type { PortMapping, PortmapConf } from './config.js';

export const NFT_TABLE = 'cni_hostport';
export const HOSTPORTS = 'hostports';
export const HOSTIP_HOSTPORTS = 'hostip_hostports';
export const HOSTPORTS_ALL = 'hostports_all';
export const MASQUERADING = 'masquerading';
/** Chains that hold per-container rules (commented with the container ID). */
export const CONTAINER_CHAINS: readonly string[] = [HOSTPORTS, HOSTIP_HOSTPORTS, MASQUERADING];
export const TABLE_COMMENT = 'CNI portmap plugin';

export const nftFamily = (f: Family): 'ip' | 'ip6' => (f === 4 ? 'ip' : 'ip6');

const ipPort = (ip: IPNet, port: number): string =>
  ip.ip.family === 6 ? `[${formatIP(ip.ip)}]:${port}` : `${formatIP(ip.ip)}:${port}`;

const quoted = (s: string): string => `"${s}"`;

/** The mapping's rule body in `hostports`, or undefined when its hostIP is of the other family. */
function mappingRule(m: PortMapping, container: IPNet): string | undefined {
  const family = container.ip.family;
  let match = '';
  if (m.hostIP !== '') {
    const host = parseIP(m.hostIP)!;
    if (host.family !== family) return undefined;
    // Printed by us (Go's form), not as written: an IPv4-mapped IPv6 spelling is an IPv4 address.
    if (host.value !== 0n) match = `${nftFamily(family)} daddr ${formatIP(host)} `;
  }
  return `${match}${m.protocol} dport ${m.hostPort} dnat to ${ipPort(container, m.containerPort)}`;
}

/** The masquerade rule bodies for one container address (snat only). */
function masqueradeRules(conf: PortmapConf, container: IPNet): string[] {
  if (!conf.snat) return [];
  const f = nftFamily(container.ip.family);
  const ip = formatIP(container.ip);
  const source = conf.masqAll ? (container.ip.family === 6 ? '::/0' : '0.0.0.0/0') : ip;
  const rules = [`${f} saddr ${source} ${f} daddr ${ip} masquerade`];
  if (container.ip.family === 4 && !conf.masqAll) rules.push(`${f} saddr 127.0.0.1 ${f} daddr ${ip} masquerade`);
  return rules;
}

/** One rule of a cni_hostport table, as `nft -j list table` shows it. */
export interface HostportRule {
  readonly family: string;
  readonly chain: string;
  readonly handle: number;
  readonly comment: string | undefined;
  /** The rule's expression list as JSON text (addresses appear in it as JSON strings). */
  readonly expr: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The rules of an `nft -j list table <family> cni_hostport` answer. */
export function parseHostportRules(json: string): HostportRule[] {
  if (json.trim() === '') return [];
  const doc: unknown = JSON.parse(json);
  const items = isObject(doc) && Array.isArray(doc.nftables) ? (doc.nftables as unknown[]) : [];
  const out: HostportRule[] = [];
  for (const item of items) {
    const r = isObject(item) ? item.rule : undefined;
    if (!isObject(r) || r.table !== NFT_TABLE || typeof r.family !== 'string' || typeof r.chain !== 'string' || typeof r.handle !== 'number') continue;
    out.push({
      family: r.family, chain: r.chain, handle: r.handle,
      comment: typeof r.comment === 'string' ? r.comment : undefined, expr: JSON.stringify(r.expr ?? []),
    });
  }
  return out;
}

/**
 * The rules of `containerID` in `family`'s table. With `addresses`, only rules naming one of them
 * (the same container may be in another network, with another address).
 */
export function containerRules(rules: readonly HostportRule[], family: Family, containerID: string, addresses?: readonly string[]): HostportRule[] {
  const f = nftFamily(family);
  const mentions = (r: HostportRule): boolean => addresses === undefined || addresses.some((a) => r.expr.includes(JSON.stringify(a)));
  return rules.filter((r) => r.family === f && CONTAINER_CHAINS.includes(r.chain) && r.comment === containerID && mentions(r));
}

/** `delete rule` commands for containerRules(...). */
export function nftDeleteContainerRules(rules: readonly HostportRule[], family: Family, containerID: string, addresses?: readonly string[]): string[] {
  const f = nftFamily(family);
  return containerRules(rules, family, containerID, addresses).map((r) => `delete rule ${f} ${NFT_TABLE} ${r.chain} handle ${r.handle}`);
}

/**
 * The commands of one ADD for one container address. `current` is that family's table as it is now:
 * earlier rules of the same container are deleted first, so a repeated ADD leaves one copy.
 */
export function nftSetupCommands(conf: PortmapConf, containerID: string, container: IPNet, current: readonly HostportRule[]): string[] {
  const family = container.ip.family;
  const t = `${nftFamily(family)} ${NFT_TABLE}`;
  const conditions = ((family === 6 ? conf.conditionsV6 : conf.conditionsV4) ?? []).map((c) => `${c} `).join('');
  const cmds = [
    `add table ${t} { comment ${quoted(TABLE_COMMENT)} ; }`,
    `add chain ${t} ${HOSTPORTS}`,
    `add chain ${t} ${HOSTIP_HOSTPORTS}`,
    `add chain ${t} ${HOSTPORTS_ALL}`,
    `flush chain ${t} ${HOSTPORTS_ALL}`,
    `add rule ${t} ${HOSTPORTS_ALL} jump ${HOSTIP_HOSTPORTS}`,
    `add rule ${t} ${HOSTPORTS_ALL} jump ${HOSTPORTS}`,
    `add chain ${t} prerouting { type nat hook prerouting priority -100 ; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting ${conditions}fib daddr type local jump ${HOSTPORTS_ALL}`,
    `add chain ${t} output { type nat hook output priority -100 ; }`,
    `flush chain ${t} output`,
    `add rule ${t} output ${conditions}fib daddr type local jump ${HOSTPORTS_ALL}`,
  ];
  if (conf.snat) cmds.push(`add chain ${t} ${MASQUERADING} { type nat hook postrouting priority 100 ; }`);
  cmds.push(...nftDeleteContainerRules(current, family, containerID, [formatIP(container.ip)]));
  const comment = `comment ${quoted(containerID)}`;
  for (const m of conf.mappings) {
    const body = mappingRule(m, container);
    if (body !== undefined) cmds.push(`add rule ${t} ${HOSTPORTS} ${body} ${comment}`);
  }
  for (const body of masqueradeRules(conf, container)) cmds.push(`add rule ${t} ${MASQUERADING} ${body} ${comment}`);
  return cmds;
}

/** How many rules carrying the container ID CHECK expects per chain (as the latest reference counts). */
export function nftExpectedCounts(conf: PortmapConf, container: IPNet): { hostports: number; masquerading: number } {
  return {
    hostports: conf.mappings.filter((m) => mappingRule(m, container) !== undefined).length,
    masquerading: masqueradeRules(conf, container).length,
  };
}

/** What CHECK found missing in one family's table, or undefined when everything is there. */
export function nftCheck(conf: PortmapConf, containerID: string, container: IPNet, rules: readonly HostportRule[]): string | undefined {
  const f = nftFamily(container.ip.family);
  const want = nftExpectedCounts(conf, container);
  const count = (chain: string): number =>
    rules.filter((r) => r.family === f && r.chain === chain && r.comment === containerID).length;
  if (want.hostports > 0 && count(HOSTPORTS) < want.hostports) return `missing hostport rules in "${HOSTPORTS}" chain`;
  if (want.masquerading > 0 && count(MASQUERADING) < want.masquerading) return `missing hostport rules in "${MASQUERADING}" chain`;
  return undefined;
}

