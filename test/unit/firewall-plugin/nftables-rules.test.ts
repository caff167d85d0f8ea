import { describe, expect, it } from 'vitest';
import { parseCIDR } from '../../../shared/ip/index.js';
import type { NftRuleInfo } from '../../../shared/firewall/nft-json.js';
import {
  isStaleRule, nftAddScript, nftAttachmentComment, nftCheck, nftDeleteScript, isAttachmentRule, nftSafeName,
} from '../../../plugins/firewall/nftables-rules.js';

const ip = (s: string) => parseCIDR(s)!;
const att = { network: 'net1', containerID: 'abc', ifName: 'eth0' };
const rule = (chain: string, handle: number, comment?: string): NftRuleInfo => ({ family: 'inet', table: 'cni_firewall', chain, handle, comment });

describe('firewall nftables rules', () => {
  it('comment: instance hash prefix, then readable names, cut to 128 bytes', () => {
    const c = nftAttachmentComment(att);
    expect(c).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}, net: net1, if: eth0, id: abc$/);
    expect(Buffer.byteLength(nftAttachmentComment({ ...att, containerID: 'x'.repeat(200) }))).toBe(128);
  });

  it('ADD on an empty ruleset: table, base chain, admin chain and jump, per-address rules', () => {
    const c = nftAttachmentComment(att);
    expect(nftAddScript([], { attachment: att, ips: [ip('10.1.2.3/24'), ip('fd00:1::3/64')] }).split('\n')).toEqual([
      'add table inet cni_firewall { comment "CNI firewall plugin (tscni): accepts container traffic; put overrides in chain admin" ; }',
      'create chain inet cni_firewall forward { type filter hook forward priority filter ; policy accept ; }',
      'create chain inet cni_firewall admin',
      'insert rule inet cni_firewall forward jump admin comment "CNI firewall plugin admin overrides"',
      `add rule inet cni_firewall forward ip daddr 10.1.2.3 ct state established,related accept comment "${c}"`,
      `add rule inet cni_firewall forward ip saddr 10.1.2.3 accept comment "${c}"`,
      `add rule inet cni_firewall forward ip6 daddr fd00:1::3 ct state established,related accept comment "${c}"`,
      `add rule inet cni_firewall forward ip6 saddr fd00:1::3 accept comment "${c}"`,
      '',
    ]);
  });

  it('a repeated ADD replaces the attachment\'s rules and keeps the head of the chain', () => {
    const c = nftAttachmentComment(att);
    const rules = [rule('forward', 5, 'CNI firewall plugin admin overrides'), rule('forward', 6, c), rule('forward', 7, c)];
    const script = nftAddScript(rules, { attachment: att, ips: [ip('10.1.2.3/24')] }, ['forward', 'admin']);
    expect(script).not.toContain('insert rule');
    expect(script).not.toContain('create chain');
    expect(script).toContain('delete rule inet cni_firewall forward handle 6\ndelete rule inet cni_firewall forward handle 7\n');
  });

  it('isolation: chains, the jump before the admin jump, per-bridge rules prepended once', () => {
    const script = nftAddScript([rule('forward', 5, 'CNI firewall plugin admin overrides')], { attachment: att, ips: [], isolation: { bridge: 'br0', policy: 'isolated' } });
    expect(script).toContain('create chain inet cni_firewall isolation_stage_1\ncreate chain inet cni_firewall isolation_stage_2\n');
    expect(script).toContain('delete rule inet cni_firewall forward handle 5\ninsert rule inet cni_firewall forward jump admin comment "CNI firewall plugin admin overrides"\ninsert rule inet cni_firewall forward jump isolation_stage_1 comment "CNI firewall plugin rules (ingressPolicy)"');
    expect(script).toContain('insert rule inet cni_firewall isolation_stage_1 iifname "br0" oifname != "br0" jump isolation_stage_2 comment "CNI firewall plugin rules (ingressPolicy: isolated) from br0"');
    expect(script).toContain('insert rule inet cni_firewall isolation_stage_2 oifname "br0" drop comment "CNI firewall plugin rules (ingressPolicy) to br0"');
    expect(script).toContain('insert rule inet cni_firewall isolation_stage_1 iifname "br0" oifname "br0" drop comment "CNI firewall plugin rules (ingressPolicy: isolated) within br0"');
    const present = [
      rule('forward', 1, 'CNI firewall plugin rules (ingressPolicy)'),
      rule('forward', 2, 'CNI firewall plugin admin overrides'),
      rule('isolation_stage_1', 3, 'CNI firewall plugin rules (ingressPolicy: isolated) within br0'),
      rule('isolation_stage_1', 4, 'CNI firewall plugin rules (ingressPolicy: isolated) from br0'),
      rule('isolation_stage_2', 5, 'CNI firewall plugin rules (ingressPolicy) to br0'),
    ];
    const again = nftAddScript(present, { attachment: att, ips: [], isolation: { bridge: 'br0', policy: 'isolated' } });
    expect(again).not.toContain('insert');
    expect(nftCheck(present, ['forward', 'admin', 'isolation_stage_1', 'isolation_stage_2'], { attachment: att, ips: [], isolation: { bridge: 'br0', policy: 'isolated' } })).toBeUndefined();
    expect(nftCheck(present.slice(0, 4), ['forward', 'admin', 'isolation_stage_1', 'isolation_stage_2'], { attachment: att, ips: [], isolation: { bridge: 'br0', policy: 'isolated' } })).toContain('oifname "br0" drop');
  });

  it('DEL by attachment prefix, GC by network prefix minus the valid attachments', () => {
    const mine = nftAttachmentComment(att);
    const sibling = nftAttachmentComment({ ...att, containerID: 'def' });
    const otherNet = nftAttachmentComment({ ...att, network: 'net2' });
    const rules = [rule('forward', 1, 'CNI firewall plugin admin overrides'), rule('forward', 2, mine), rule('forward', 3, sibling), rule('forward', 4, otherNet)];
    expect(nftDeleteScript(rules, isAttachmentRule(att))).toBe('delete rule inet cni_firewall forward handle 2\n');
    expect(nftDeleteScript(rules, isStaleRule('net1', [{ containerID: 'abc', ifname: 'eth0' }]))).toBe('delete rule inet cni_firewall forward handle 3\n');
    expect(nftDeleteScript(rules, isStaleRule('net1', []))).toBe('delete rule inet cni_firewall forward handle 2\ndelete rule inet cni_firewall forward handle 3\n');
    expect(nftDeleteScript([], isAttachmentRule(att))).toBe('');
  });

  it('CHECK counts the attachment\'s rules', () => {
    const c = nftAttachmentComment(att);
    const rules = [rule('forward', 1, 'CNI firewall plugin admin overrides'), rule('forward', 2, c)];
    expect(nftCheck(rules, ['forward', 'admin'], { attachment: att, ips: [ip('10.1.2.3/24')] })).toBe('expected 2 rules of this container (10.1.2.3) in chain forward, found 1');
    expect(nftCheck(rules, ['forward'], { attachment: att, ips: [] })).toBe('chain admin not found in table inet cni_firewall');
  });

  it('names with a double quote cannot be written into a rule', () => {
    expect(nftSafeName('br0')).toBe(true);
    expect(nftSafeName('b"r')).toBe(false);
  });
});
