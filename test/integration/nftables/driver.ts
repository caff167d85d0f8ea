// Applies one nftables change in whatever netns it was started in, either way:
//   "text":    the rules' text form (what the nftables backend applied with `nft -f` before it spoke
//              netlink), computed from an `nft -j list` of the current state and run through nft;
//   "netlink": the production code path (in-process nf_tables batches, no program).
// The test runs the same step both ways in two netns and compares `nft -j list ruleset`.
// Usage: node --import ts-resolve.mjs driver.ts '<json Step>'
import { nftApply, nftApplyJson, nftList } from '../../../shared/firewall/nft.js';
import { runTool } from '../../../shared/firewall/exec.js';
import { parseCIDR, type IPNet } from '../../../shared/ip/index.js';
import { setupIPMasq, teardownIPMasq, setupMacSpoofCheck, teardownMacSpoofCheck } from '../../../shared/firewall/index.js';
import { nftInstanceHash, nftMasqComment, nftMasqDeleteScript, nftMasqSetupScript, nftRulesWithCommentPrefix, NFT_MASQ_CHAIN, NFT_MASQ_TABLE } from '../../../shared/firewall/ipmasq-nftables.js';
import { spoofCheckSetupCommands, spoofCheckTeardownCommands } from '../../../shared/firewall/macspoofchk.js';
import { loadConf } from '../../../plugins/portmap/config.js';
import { nftDeleteContainerRules, nftSetupCommands, parseHostportRules, nftFamily, NFT_TABLE as HOSTPORT_TABLE } from '../../../plugins/portmap/nftables.js';
import { nftSetup, nftTeardown } from '../../../plugins/portmap/nftables-apply.js';
import { changeNftFirewall } from '../../../plugins/firewall/nftables.js';
import { nftAddBatch, nftDeleteBatch } from '../../../plugins/firewall/nftables-batch.js';
import { isAttachmentRule, nftAddScript, nftDeleteScript, type NftAddPlan, NFT_TABLE as FIREWALL_TABLE } from '../../../plugins/firewall/nftables-rules.js';
import type { IsolationPolicy } from '../../../plugins/firewall/iptables-rules.js';
import { accept, commitNftBatch, jump, NftBatch } from '../../../shared/netfilter/nftables/index.js';
import { nftMasqRemovalScript, nftMasqScript, removeMasq, setupMasq } from '../../../cmd/tscni/overlay/masq.js';

type Mode = 'text' | 'netlink';
interface Attachment { network: string; containerID: string; ifName: string }
type Step =
  | { kind: 'ipmasq-add'; att: Attachment; ips: string[] }
  | { kind: 'ipmasq-del'; att: Attachment }
  | { kind: 'portmap-add'; conf: unknown; containerID: string; ips: string[] }
  | { kind: 'portmap-del'; containerID: string; ips: string[] }
  | { kind: 'firewall-add'; att: Attachment; ips: string[]; isolation?: { bridge: string; policy: IsolationPolicy } }
  | { kind: 'firewall-del'; att: Attachment }
  | { kind: 'spoof-add'; containerID: string; ifName: string; hostIfName: string; mac: string }
  | { kind: 'spoof-del'; containerID: string; ifName: string }
  | { kind: 'failing-batch' }
  | { kind: 'overlay-masq-add'; cluster: string; pod: string }
  | { kind: 'overlay-masq-del' };

const nets = (ips: readonly string[]): IPNet[] => ips.map((s) => parseCIDR(s)!);

async function text(step: Step): Promise<void> {
  switch (step.kind) {
    case 'ipmasq-add': {
      const { rules } = await nftList(['chain', 'inet', NFT_MASQ_TABLE, NFT_MASQ_CHAIN]);
      const prefix = nftInstanceHash(step.att.network, step.att.ifName, step.att.containerID);
      const comment = nftMasqComment(step.att.network, step.att.ifName, step.att.containerID);
      return nftApply(nftMasqSetupScript(nftRulesWithCommentPrefix(rules, prefix).map((r) => r.handle), nets(step.ips), comment));
    }
    case 'ipmasq-del': {
      const { rules } = await nftList(['chain', 'inet', NFT_MASQ_TABLE, NFT_MASQ_CHAIN]);
      const prefix = nftInstanceHash(step.att.network, step.att.ifName, step.att.containerID);
      const script = nftMasqDeleteScript(nftRulesWithCommentPrefix(rules, prefix).map((r) => r.handle));
      return script === '' ? undefined : nftApply(script);
    }
    case 'portmap-add': {
      const conf = loadConf(JSON.stringify(step.conf));
      const cmds: string[] = [];
      for (const c of nets(step.ips)) cmds.push(...nftSetupCommands(conf, step.containerID, c, await hostportRules(c.ip.family)));
      return nftApply(`${cmds.join('\n')}\n`);
    }
    case 'portmap-del': {
      const cmds: string[] = [];
      for (const family of [4, 6] as const) {
        cmds.push(...nftDeleteContainerRules(await hostportRules(family), family, step.containerID, step.ips.map((s) => s.split('/')[0]!)));
      }
      return cmds.length === 0 ? undefined : nftApply(`${cmds.join('\n')}\n`);
    }
    case 'firewall-add': {
      const l = await nftList(['table', 'inet', FIREWALL_TABLE]);
      const chains = l.chains.filter((c) => c.family === 'inet' && c.table === FIREWALL_TABLE).map((c) => c.name);
      return nftApply(nftAddScript(l.rules, plan(step), chains));
    }
    case 'firewall-del': {
      const l = await nftList(['table', 'inet', FIREWALL_TABLE]);
      const script = nftDeleteScript(l.rules, isAttachmentRule(step.att));
      return script === '' ? undefined : nftApply(script);
    }
    case 'spoof-add':
      return nftApplyJson(spoofCheckSetupCommands(step, await nftList(['table', 'bridge', 'nat'])));
    case 'spoof-del': {
      const cmds = spoofCheckTeardownCommands(step, await nftList(['table', 'bridge', 'nat']));
      return cmds.length === 0 ? undefined : nftApplyJson(cmds);
    }
    case 'overlay-masq-add':
      return nftApply(nftMasqScript(step.cluster, step.pod));
    case 'overlay-masq-del':
      return nftApply(nftMasqRemovalScript());
  }
}

async function hostportRules(family: 4 | 6) {
  const r = await runTool('nft', ['-j', 'list', 'table', nftFamily(family), HOSTPORT_TABLE]);
  return r.code === 0 ? parseHostportRules(r.stdout) : [];
}

const plan = (step: { att: Attachment; ips: string[]; isolation?: { bridge: string; policy: IsolationPolicy } }): NftAddPlan => ({
  attachment: step.att,
  ips: nets(step.ips),
  ...(step.isolation ? { isolation: step.isolation } : {}),
});

async function netlink(step: Step): Promise<void> {
  switch (step.kind) {
    case 'ipmasq-add':
      await setupIPMasq('nftables', { ...step.att, ips: step.ips });
      return;
    case 'ipmasq-del':
      return teardownIPMasq(step.att);
    case 'portmap-add':
      return nftSetup(loadConf(JSON.stringify(step.conf)), step.containerID, nets(step.ips));
    case 'portmap-del':
      return nftTeardown(step.containerID, step.ips.map((s) => s.split('/')[0]!));
    case 'firewall-add':
      return changeNftFirewall((l) =>
        nftAddBatch(l.rules, plan(step), l.chains.filter((c) => c.family === 'inet' && c.table === FIREWALL_TABLE).map((c) => c.name)),
      );
    case 'firewall-del':
      return changeNftFirewall((l) => nftDeleteBatch(l.rules, isAttachmentRule(step.att)));
    case 'spoof-add':
      return setupMacSpoofCheck(step);
    case 'spoof-del':
      return teardownMacSpoofCheck(step);
    case 'overlay-masq-add':
    case 'overlay-masq-del': {
      // The agent's own calls (`tscni overlay -ip-masq`, EnableNFTables): apply (also on restart),
      // and the removal of -release-on-exit. Either reports a failure of the other backend as text.
      const errors = step.kind === 'overlay-masq-add' ? await setupMasq('nftables', step.cluster, step.pod) : await removeMasq(['nftables']);
      if (errors.length > 0) throw new Error(errors.join('; '));
      return;
    }
    case 'failing-batch':
      // A table, a chain, a good rule, then a jump to a chain that does not exist: nothing may stay.
      return commitNftBatch(
        new NftBatch().addTable('inet', 'tnf_t').addChain('inet', 'tnf_t', 'c').addRule('inet', 'tnf_t', 'c', [accept()]).addRule('inet', 'tnf_t', 'c', [jump('nochain')], { comment: 'bad' }),
      );
  }
}

const [mode, json] = [process.argv[2] as Mode, process.argv[3] ?? '{}'];
try {
  const step = JSON.parse(json) as Step;
  await (mode === 'text' ? text(step) : netlink(step));
  process.stdout.write('ok');
} catch (e) {
  process.stdout.write(`error: ${String(e)}${(e as { details?: string }).details ? ` ${(e as { details?: string }).details}` : ''}`);
  process.exitCode = 1;
}
