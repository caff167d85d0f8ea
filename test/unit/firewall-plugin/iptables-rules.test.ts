import { describe, expect, it } from 'vitest';
import { parseCIDR } from '../../../shared/ip/index.js';
import { parseSavedTable } from '../../../shared/firewall/iptables-save.js';
import { addLines, checkTable, delLines, hostCidr, type AddPlan } from '../../../plugins/firewall/iptables-rules.js';

const ip = (s: string) => parseCIDR(s)!;
const EMPTY = parseSavedTable('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n', 'filter');
const plan = (extra: Partial<AddPlan> = {}): AddPlan => ({ ips: [ip('10.1.2.3/24')], adminChain: 'CNI-ADMIN', ...extra });

/** What the table looks like after applying `lines` (a tiny iptables-restore model for -I 1 / -A / -D). */
function apply(dump: string, lines: readonly string[]): string {
  const out = dump.split('\n');
  const commit = out.lastIndexOf('COMMIT');
  const chains = out.filter((l) => l.startsWith(':'));
  let rules = out.filter((l) => l.startsWith('-A '));
  for (const line of lines) {
    if (line.startsWith('-N ')) chains.push(`:${line.slice(3)} - [0:0]`);
    else if (line.startsWith('-A ')) rules.push(line);
    else if (line.startsWith('-D ')) rules = rules.filter((r) => r !== `-A ${line.slice(3)}`);
    else if (line.startsWith('-I ')) {
      const [, chain, , ...rest] = line.split(' ');
      const first = rules.findIndex((r) => r.startsWith(`-A ${chain} `));
      const rule = `-A ${chain} ${rest.join(' ')}`;
      if (first < 0) rules.push(rule);
      else rules.splice(first, 0, rule);
    }
  }
  void commit;
  return ['*filter', ...chains, ...rules, 'COMMIT', ''].join('\n');
}

describe('firewall iptables rules', () => {
  it('hostCidr is ip/32 or ip/128 whatever the prefix', () => {
    expect(hostCidr(ip('10.1.2.3/24'))).toBe('10.1.2.3/32');
    expect(hostCidr(ip('fd32::3/64'))).toBe('fd32::3/128');
  });

  it('ADD on an empty table: chains, both jumps at position 1, the per-address rules appended', () => {
    expect(addLines(EMPTY, plan())).toEqual([
      '-N CNI-FORWARD',
      '-N CNI-ADMIN',
      '-I FORWARD 1 -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
      '-I CNI-FORWARD 1 -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
      '-A CNI-FORWARD -d 10.1.2.3/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A CNI-FORWARD -s 10.1.2.3/32 -j ACCEPT',
    ]);
  });

  it('a second ADD writes nothing; existing chains are never created or declared again (a declaration flushes)', () => {
    const after = parseSavedTable(apply('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', addLines(EMPTY, plan())), 'filter');
    expect(addLines(after, plan())).toEqual([]);
    const second = addLines(after, plan({ ips: [ip('10.1.2.4/24')] }));
    expect(second).toEqual(['-A CNI-FORWARD -d 10.1.2.4/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A CNI-FORWARD -s 10.1.2.4/32 -j ACCEPT']);
  });

  it('a custom admin chain', () => {
    expect(addLines(EMPTY, plan({ adminChain: 'MY-ADMIN' }))).toContain('-I CNI-FORWARD 1 -m comment --comment "CNI firewall plugin admin overrides" -j MY-ADMIN');
  });

  it('same-bridge: the reference isolation chains, comments and positions', () => {
    const lines = addLines(EMPTY, plan({ ips: [], isolation: { bridge: 'cni0', policy: 'same-bridge' } }));
    expect(lines).toEqual([
      '-N CNI-ISOLATION-STAGE-1',
      '-N CNI-ISOLATION-STAGE-2',
      '-I FORWARD 1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-1',
      '-I CNI-ISOLATION-STAGE-1 1 -i cni0 ! -o cni0 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-2',
      '-A CNI-ISOLATION-STAGE-1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN',
      '-I CNI-ISOLATION-STAGE-2 1 -o cni0 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP',
      '-A CNI-ISOLATION-STAGE-2 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN',
    ]);
  });

  it('isolated: also drops within the bridge, before the stage-2 jump; a second bridge goes first', () => {
    const one = apply('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', addLines(EMPTY, plan({ isolation: { bridge: 'br1', policy: 'isolated' } })));
    const stage1 = one.split('\n').filter((l) => l.startsWith('-A CNI-ISOLATION-STAGE-1'));
    expect(stage1).toEqual([
      '-A CNI-ISOLATION-STAGE-1 -i br1 -o br1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: isolated)" -j DROP',
      '-A CNI-ISOLATION-STAGE-1 -i br1 ! -o br1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: isolated)" -j CNI-ISOLATION-STAGE-2',
      '-A CNI-ISOLATION-STAGE-1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN',
    ]);
    const forward = one.split('\n').filter((l) => l.startsWith('-A FORWARD'));
    expect(forward[0]).toContain('-j CNI-ISOLATION-STAGE-1');
    expect(forward[1]).toContain('-j CNI-FORWARD');
    const two = parseSavedTable(one, 'filter');
    const more = addLines(two, plan({ isolation: { bridge: 'br2', policy: 'same-bridge' } }));
    expect(more).toEqual([
      '-I FORWARD 1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-1',
      '-I CNI-ISOLATION-STAGE-1 1 -i br2 ! -o br2 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-2',
      '-I CNI-ISOLATION-STAGE-2 1 -o br2 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP',
    ]);
  });

  it('DEL deletes only the per-address rules that exist; CHECK finds what is missing', () => {
    const table = parseSavedTable(apply('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', addLines(EMPTY, plan())), 'filter');
    expect(checkTable(table, plan())).toBeUndefined();
    const del = delLines(table, [ip('10.1.2.3/24'), ip('10.9.9.9/24')]);
    expect(del).toEqual(['-D CNI-FORWARD -d 10.1.2.3/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-D CNI-FORWARD -s 10.1.2.3/32 -j ACCEPT']);
    const after = parseSavedTable(apply('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', [...addLines(EMPTY, plan()), ...del]), 'filter');
    expect(delLines(after, [ip('10.1.2.3/24')])).toEqual([]);
    expect(checkTable(after, plan())).toBe('expected rule CNI-FORWARD -d 10.1.2.3/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT not found');
    expect(checkTable(EMPTY, plan())).toBe('chain CNI-FORWARD not found in table filter');
    expect(checkTable(table, plan({ isolation: { bridge: 'b', policy: 'same-bridge' } }))).toBe('chain CNI-ISOLATION-STAGE-1 not found in table filter');
  });
});
