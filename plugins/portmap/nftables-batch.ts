// portmap's ADD as nf_tables batch entries (no `nft`): the same objects, in the same order, as the
// text of nftSetupCommands (nftables.ts), which stays the readable form and the tests' oracle.
import { type Family, formatIP, hostNetOf, ipOf, type IPNet, netOf, parseIP } from '../../shared/ip/index.js';
import {
  dnatTo, jump, masquerade, matchAddress, matchDport, matchFibDaddrLocal, type NftBatch, type NftExpr,
} from '../../shared/netfilter/nftables/index.js';
import type { PortMapping, PortmapConf } from './config.js';
import {
  containerRules, HOSTIP_HOSTPORTS, type HostportRule, HOSTPORTS, HOSTPORTS_ALL, MASQUERADING, nftFamily, NFT_TABLE, TABLE_COMMENT,
} from './nftables.js';

/** The mapping's rule in `hostports`, or undefined when its hostIP is of the other family. */
function mappingRule(m: PortMapping, container: IPNet): NftExpr[] | undefined {
  const family = container.ip.family;
  const out: NftExpr[] = [];
  if (m.hostIP !== '') {
    const host = parseIP(m.hostIP)!;
    if (host.family !== family) return undefined;
    if (host.value !== 0n) out.push(...matchAddress(nftFamily(family), 'daddr', hostNetOf(host)));
  }
  return [...out, ...matchDport(m.protocol, m.hostPort), ...dnatTo(container.ip, m.containerPort)];
}

/** The masquerade rules for one container address (snat only). */
function masqueradeRules(conf: PortmapConf, container: IPNet): NftExpr[][] {
  if (!conf.snat) return [];
  const family: Family = container.ip.family;
  const f = nftFamily(family);
  const ctr = hostNetOf(container.ip);
  const source = conf.masqAll ? netOf(ipOf(family, 0n), 0) : ctr; // 0.0.0.0/0 or ::/0
  const rules = [[...matchAddress(f, 'saddr', source), ...matchAddress(f, 'daddr', ctr), masquerade()]];
  if (family === 4 && !conf.masqAll) {
    rules.push([...matchAddress(f, 'saddr', hostNetOf(parseIP('127.0.0.1')!)), ...matchAddress(f, 'daddr', ctr), masquerade()]);
  }
  return rules;
}

/** Appends one container address's ADD to `b`; `current` is that family's table as it is now. */
export function addSetupToBatch(b: NftBatch, conf: PortmapConf, containerID: string, container: IPNet, current: readonly HostportRule[]): void {
  const family = container.ip.family;
  const f = nftFamily(family);
  const t = NFT_TABLE;
  const local = (): NftExpr[] => [...matchFibDaddrLocal(), jump(HOSTPORTS_ALL)];
  b.addTable(f, t, TABLE_COMMENT)
    .addChain(f, t, HOSTPORTS)
    .addChain(f, t, HOSTIP_HOSTPORTS)
    .addChain(f, t, HOSTPORTS_ALL)
    .flushChain(f, t, HOSTPORTS_ALL)
    .addRule(f, t, HOSTPORTS_ALL, [jump(HOSTIP_HOSTPORTS)])
    .addRule(f, t, HOSTPORTS_ALL, [jump(HOSTPORTS)])
    .addChain(f, t, 'prerouting', { base: { type: 'nat', hook: 'prerouting', priority: -100 } })
    .flushChain(f, t, 'prerouting')
    .addRule(f, t, 'prerouting', local())
    .addChain(f, t, 'output', { base: { type: 'nat', hook: 'output', priority: -100 } })
    .flushChain(f, t, 'output')
    .addRule(f, t, 'output', local());
  if (conf.snat) b.addChain(f, t, MASQUERADING, { base: { type: 'nat', hook: 'postrouting', priority: 100 } });
  for (const r of containerRules(current, family, containerID, [formatIP(container.ip)])) b.deleteRule(f, t, r.chain, r.handle);
  for (const m of conf.mappings) {
    const exprs = mappingRule(m, container);
    if (exprs !== undefined) b.addRule(f, t, HOSTPORTS, exprs, { comment: containerID });
  }
  for (const exprs of masqueradeRules(conf, container)) b.addRule(f, t, MASQUERADING, exprs, { comment: containerID });
}
