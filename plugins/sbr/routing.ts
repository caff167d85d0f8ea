// sbr's work inside the container netns: per-address policy rules and routing tables, the
// teardown of those rules, and the check that they are present (REFERENCE §3.17).
import type { IPConfig } from '../../shared/cni/types.js';
import { containsIP, equalIP, formatCIDR, formatIP, type IP, networkOf, netOf, parseCIDR, parseIP } from '../../shared/ip/index.js';
import {
  type Link, type Netlink, type Route, type RouteSpec, type Rule, RT_SCOPE_LINK, RT_TABLE_MAIN, routeSpecInTable,
} from '../../shared/netlink/index.js';
import type { StaticGateways } from './config.js';
import { errorText } from '../../shared/sys/error-text.js';

export const FIRST_TABLE_ID = 100;
/** RTM_F_CLONED: a cached route (route exceptions), never a configured one. */
const RTM_F_CLONED = 0x200;

const fail = (msg: string, err: unknown): Error => new Error(`${msg}: ${errorText(err)}`, { cause: err });

/** One undo step of a partly done ADD. */
type Undo = () => void;

/** Steps done so far, undone newest first when a later step fails. */
export class UndoLog {
  private readonly steps: Undo[] = [];
  push(step: Undo): void {
    this.steps.push(step);
  }
  /** Undoes everything; undo failures are collected, not thrown (the original error matters). */
  rollback(): string[] {
    const errors: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        step();
      } catch (err) {
        errors.push(errorText(err));
      }
    }
    this.steps.length = 0;
    return errors;
  }
}

/**
 * The first table id >= `from` that no rule points to and no route lives in. The reference only
 * sees main-table routes here (its route list drops other tables), so it would reuse a table that
 * holds routes but has no rule; looking at every table never takes over someone else's routes.
 */
export function firstFreeTable(rules: readonly Rule[], routes: readonly Route[], from: number): number {
  const used = new Set<number>();
  for (const r of rules) used.add(r.table);
  for (const r of routes) used.add(r.table);
  let t = from;
  while (used.has(t)) t++;
  return t;
}

const ipOfText = (s: string | undefined): IP | undefined => (s === undefined ? undefined : parseIP(s));

/**
 * The routes the reference copies into an address's table: those whose preferred source or gateway
 * lies in the address's subnet, and the "generic" ones that have neither.
 */
export function routesForAddress(address: string, routes: readonly Route[]): Route[] {
  const net = parseCIDR(address);
  if (!net) throw new TypeError(`invalid address ${address}`);
  return routes.filter((r) => {
    const src = ipOfText(r.src);
    const gw = ipOfText(r.gw);
    if (src === undefined && gw === undefined) return true;
    return (src !== undefined && containsIP(net, src)) || (gw !== undefined && containsIP(net, gw));
  });
}

/** "from ip/32" (/128): the rule source is the single address, never its subnet. */
export function hostPrefixOf(address: string): string {
  const net = parseCIDR(address);
  if (!net) throw new TypeError(`invalid address ${address}`);
  return formatCIDR(netOf(net.ip, net.ip.family === 4 ? 32 : 128));
}

/** Routes of `link` in main, as the reference lists them (configured routes only). */
function mainRoutesOf(nl: Netlink, link: Link): Route[] {
  return nl.listRoutes({ ifindex: link.index }).filter((r) => !(r.flags & RTM_F_CLONED) && !r.multipath);
}

function addRule(nl: Netlink, undo: UndoLog, address: string, table: number, lower = false): void {
  const src = hostPrefixOf(address);
  try {
    nl.addRule({ src, table });
  } catch (err) {
    throw fail(lower ? 'failed to add rule' : 'Failed to add rule', err);
  }
  undo.push(() => {
    // The kernel chose the priority: delete the rule we added by source and table.
    nl.deleteRule({ src, table });
  });
}

/** `table` configured: one rule per address, nothing else (routes are the user's business). */
export function addRulesOnly(nl: Netlink, ips: readonly IPConfig[], table: number, undo: UndoLog): void {
  for (const ipc of ips) addRule(nl, undo, ipc.address, table, true);
}

export interface AddOptions {
  gateways: StaticGateways;
  addSourceHints: boolean;
  /** Where warnings go (the reference logs and carries on for the source-hint steps). */
  warn: (line: string) => void;
}

/** No `table`: a fresh table per address with its rule, a default route and the link's routes. */
export function addTables(nl: Netlink, ifName: string, ips: readonly IPConfig[], o: AddOptions, undo: UndoLog): number[] {
  let rules: Rule[];
  let allRoutes: Route[];
  try {
    rules = nl.listRules();
  } catch (err) {
    throw fail('Failed to list all rules', err);
  }
  try {
    allRoutes = nl.listRoutes({ table: 0 });
  } catch (err) {
    throw fail('Failed to list all routes', err);
  }
  let link: Link;
  try {
    link = nl.getLink(ifName);
  } catch (err) {
    throw fail(`Cannot find network interface ${ifName}`, err);
  }
  let routes: Route[];
  try {
    routes = mainRoutesOf(nl, link);
  } catch (err) {
    throw fail('Unable to list routes', err);
  }

  const tables: number[] = [];
  let table = firstFreeTable(rules, allRoutes, FIRST_TABLE_ID);
  for (const ipc of ips) {
    const net = parseCIDR(ipc.address);
    if (!net) throw new TypeError(`invalid address ${ipc.address}`);
    addRule(nl, undo, ipc.address, table);
    tables.push(table);
    const v4 = net.ip.family === 4;
    const gateway = (v4 ? o.gateways.v4 : o.gateways.v6) ?? ipOfText(ipc.gateway);
    const tableNow = table;
    // Routes written into the new table go with it on failure (deleting the table's routes of this link).
    undo.push(() => {
      for (const r of nl.listRoutes({ table: tableNow, ifindex: link.index })) nl.deleteRoute(routeSpecInTable(r, tableNow));
    });
    if (gateway) {
      const gw = formatIP(gateway);
      const spec: RouteSpec = { dst: v4 ? '0.0.0.0/0' : '::/0', gw, table, ifindex: link.index };
      try {
        nl.addRoute(spec);
      } catch (err) {
        throw fail(`Failed to add default route to ${gw}`, err);
      }
    }
    for (const r of routesForAddress(ipc.address, routes)) {
      try {
        nl.replaceRoute(routeSpecInTable(r, table));
      } catch (err) {
        throw fail('Failed to readd route', err);
      }
    }
    table = firstFreeTable(rules, allRoutes, table + 1);
  }

  if (o.addSourceHints) {
    for (const ipc of ips) {
      const net = parseCIDR(ipc.address) as NonNullable<ReturnType<typeof parseCIDR>>;
      const subnet = formatCIDR(netOf(networkOf(net), net.prefix));
      const ip = formatIP(net.ip);
      try {
        nl.replaceRoute({ dst: subnet, src: ip, ifindex: link.index, table: RT_TABLE_MAIN, scope: RT_SCOPE_LINK });
      } catch (err) {
        o.warn(`Warning: Failed to add subnet route to main table: ${errorText(err)}`);
      }
    }
    for (const r of routes) {
      if (r.scope === RT_SCOPE_LINK) continue;
      deleteMainRoute(nl, r, undo, (err) => o.warn(`Warning: Failed to delete route: ${errorText(err)}`));
    }
  } else {
    for (const r of routes) {
      deleteMainRoute(nl, r, undo, (err) => {
        throw fail('Failed to delete route', err);
      });
    }
  }
  return tables;
}

function deleteMainRoute(nl: Netlink, r: Route, undo: UndoLog, onError: (err: unknown) => void): void {
  const spec = routeSpecInTable(r, RT_TABLE_MAIN);
  try {
    nl.deleteRoute(spec);
  } catch (err) {
    onError(err);
    return;
  }
  undo.push(() => nl.replaceRoute(spec));
}

/** The addresses of `link`, as IPs. */
function addressesOnLink(nl: Netlink, link: Link): IP[] {
  const out: IP[] = [];
  for (const a of nl.listAddresses({ ifindex: link.index })) {
    const ip = parseIP(a.ip);
    if (ip) out.push(ip);
  }
  return out;
}

const ruleSourceIP = (r: Rule): IP | undefined => (r.src === undefined ? undefined : parseIP(r.src.split('/')[0] as string));

/**
 * DEL: every rule (of `table` when given) whose source is an address of `link`. Rules go even when
 * one fails (the last failure is reported, as the reference does). Without a configured table the
 * routes this plugin put on `link` in those rules' tables go too.
 */
export function deleteRules(nl: Netlink, link: Link, table: number | undefined, alsoFrom: readonly IPConfig[] = []): void {
  // The prevResult's addresses too: ADD made a rule for each of them even when one was not (or is
  // no longer) on the link, and the reference's DEL, looking at the link only, leaves those behind.
  const addrs = [...addressesOnLink(nl, link), ...alsoFrom.flatMap((c) => parseCIDR(c.address)?.ip ?? [])];
  let rules: Rule[];
  try {
    rules = nl.listRules();
  } catch (err) {
    throw fail(table !== undefined ? `failed to list rules of table ${table} to tidy` : 'Failed to list all rules to tidy', err);
  }
  let last: Error | undefined;
  const tables = new Set<number>();
  for (const rule of rules) {
    if (table !== undefined && rule.table !== table) continue;
    const src = ruleSourceIP(rule);
    if (!src || !addrs.some((a) => equalIP(a, src))) continue;
    try {
      nl.deleteRule({ ...(rule.src !== undefined ? { src: rule.src } : {}), family: rule.family, table: rule.table, ...(rule.priority !== undefined ? { priority: rule.priority } : {}) });
      tables.add(rule.table);
    } catch (err) {
      last = fail('Failed to delete rule', err);
    }
  }
  if (table === undefined) {
    for (const t of tables) {
      if (t === RT_TABLE_MAIN || t === 255 || t === 253) continue;
      for (const r of nl.listRoutes({ table: t, ifindex: link.index })) {
        try {
          nl.deleteRoute(routeSpecInTable(r, t));
        } catch (err) {
          last = fail('Failed to delete route', err);
        }
      }
    }
  }
  if (last) throw last;
}

/** CHECK: the rules ADD made are there (a rule from each address, to `table` when configured). */
export function missingRules(nl: Netlink, ips: readonly IPConfig[], table: number | undefined): string[] {
  const rules = nl.listRules();
  const missing: string[] = [];
  for (const ipc of ips) {
    const src = hostPrefixOf(ipc.address);
    const ip = parseIP(src.split('/')[0] as string) as IP;
    const found = rules.some((r) => {
      const rs = ruleSourceIP(r);
      if (!rs || !equalIP(rs, ip) || r.src?.split('/')[1] !== src.split('/')[1]) return false;
      return table === undefined ? r.table !== RT_TABLE_MAIN : r.table === table;
    });
    if (!found) missing.push(table === undefined ? `from ${src}` : `from ${src} lookup ${table}`);
  }
  return missing;
}
