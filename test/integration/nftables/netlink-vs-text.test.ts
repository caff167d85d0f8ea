// The nftables backend speaks nf_tables netlink in-process; before, it applied nft text (or nft JSON
// for macspoofchk) with the `nft` program. This test builds the same changes both ways, the text
// form through `nft -f` in one netns and the netlink batches in another, and requires the same
// `nft -j list ruleset` apart from rule handles: the tables, chains, rules and comments `nft list`
// shows must not depend on which way they were written. Covered: ipMasq (bridge/ptp) v4+v6 ADD and
// DEL, including prefixes off byte boundaries; portmap with 3 mappings (tcp/udp, hostIP set or not,
// v4+v6; snat, masqAll, snat off) ADD and DEL; the firewall plugin's table with isolation, ADD/DEL;
// macspoofchk ADD/DEL. `nft` is the oracle only.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, removeAllNetns } from '../../helpers/netns.js';
import { apply, ruleset, skip } from './oracle.js';

describe.skipIf(skip)(`nftables: netlink batches list exactly as the nft text did${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let textNs = '';
  let nlNs = '';
  beforeEach(() => {
    textNs = createNetns('tnf-text');
    nlNs = createNetns('tnf-nl');
  });
  afterEach(() => removeAllNetns());

  /** Runs the steps in order both ways, comparing after each; returns the last listing. */
  function both(steps: Record<string, unknown>[]): unknown[] {
    let last: unknown[] = [];
    for (const step of steps) {
      apply(textNs, 'text', step);
      apply(nlNs, 'netlink', step);
      last = ruleset(nlNs);
      expect(last, `after ${String(step.kind)}`).toEqual(ruleset(textNs));
      // The text listing too (it shows no handles): what an admin reads with `nft list ruleset`.
      expect(execInNetns(nlNs, 'nft', ['list', 'ruleset']).stdout).toBe(execInNetns(textNs, 'nft', ['list', 'ruleset']).stdout);
    }
    return last;
  }

  it('ipMasq (bridge/ptp): v4+v6 ADD, a repeated ADD, prefixes off byte boundaries, DEL of one then the other', () => {
    const a = { network: 'tnf-net', containerID: 'tnf-ctr-a', ifName: 'eth0' };
    const b = { network: 'tnf-net', containerID: 'tnf-ctr-b', ifName: 'eth1' };
    const added = both([
      { kind: 'ipmasq-add', att: a, ips: ['10.151.1.2/24', 'fd51:1::2/64'] },
      { kind: 'ipmasq-add', att: b, ips: ['10.151.17.3/20', 'fd51:2::3/60', '10.151.200.9/9'] },
      { kind: 'ipmasq-add', att: a, ips: ['10.151.1.2/24', 'fd51:1::2/64'] },
    ]);
    expect(JSON.stringify(added)).toContain('tnf-ctr-a');
    expect(JSON.stringify(added)).toContain('"len":60');
    const after = both([{ kind: 'ipmasq-del', att: a }, { kind: 'ipmasq-del', att: b }]);
    expect(JSON.stringify(after)).not.toContain('tnf-ctr');
  });

  const mappings = [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { hostPort: 8053, containerPort: 53, protocol: 'udp', hostIP: '10.151.0.1' },
    { hostPort: 8443, containerPort: 443, protocol: 'tcp', hostIP: 'fd51::1' },
  ];
  const portmapConf = (extra: Record<string, unknown> = {}) => ({
    cniVersion: '1.0.0', name: 'tnf-net', type: 'portmap', backend: 'nftables', runtimeConfig: { portMappings: mappings }, ...extra,
  });

  it.each([
    ['snat (default)', {}],
    ['masqAll', { masqAll: true }],
    ['snat off', { snat: false }],
  ])('portmap with 3 mappings (tcp/udp, hostIP set and not, v4+v6), %s: ADD, second container, DEL', (_name, extra) => {
    const ips = ['10.151.2.2/24', 'fd51:2::2/64'];
    const added = both([
      { kind: 'portmap-add', conf: portmapConf(extra), containerID: 'tnf-pm-a', ips },
      { kind: 'portmap-add', conf: portmapConf(extra), containerID: 'tnf-pm-b', ips: ['10.151.2.3/24', 'fd51:2::3/64'] },
      { kind: 'portmap-add', conf: portmapConf(extra), containerID: 'tnf-pm-a', ips },
    ]);
    expect(JSON.stringify(added)).toContain('"addr":"fd51:2::2"');
    const after = both([{ kind: 'portmap-del', containerID: 'tnf-pm-a', ips }, { kind: 'portmap-del', containerID: 'tnf-pm-b', ips: ['10.151.2.3/24', 'fd51:2::3/64'] }]);
    expect(JSON.stringify(after)).not.toContain('tnf-pm');
  });

  it('firewall plugin table: ADD with isolation (isolated, same-bridge), a plain ADD, DEL', () => {
    const a = { network: 'tnf-net', containerID: 'tnf-fw-a', ifName: 'eth0' };
    const b = { network: 'tnf-net2', containerID: 'tnf-fw-b', ifName: 'eth0' };
    const c = { network: 'tnf-net3', containerID: 'tnf-fw-c', ifName: 'eth0' };
    const added = both([
      { kind: 'firewall-add', att: c, ips: ['10.151.5.2/24'] },
      { kind: 'firewall-add', att: a, ips: ['10.151.3.2/24', 'fd51:3::2/64'], isolation: { bridge: 'tnfbr0', policy: 'isolated' } },
      { kind: 'firewall-add', att: b, ips: ['10.151.4.2/24'], isolation: { bridge: 'tnfbr1', policy: 'same-bridge' } },
      { kind: 'firewall-add', att: a, ips: ['10.151.3.2/24', 'fd51:3::2/64'], isolation: { bridge: 'tnfbr0', policy: 'isolated' } },
    ]);
    expect(JSON.stringify(added)).toContain('tnfbr1');
    const after = both([{ kind: 'firewall-del', att: a }, { kind: 'firewall-del', att: b }, { kind: 'firewall-del', att: c }]);
    expect(JSON.stringify(after)).not.toContain('tnf-fw');
  });

  it('macspoofchk: ADD of two attachments, a repeated ADD, DEL', () => {
    const a = { containerID: 'tnf-sp-a', ifName: 'eth0', hostIfName: 'tnfveth0', mac: '02:51:00:00:00:01' };
    const b = { containerID: 'tnf-sp-b', ifName: 'eth0', hostIfName: 'tnfveth1', mac: '02:51:00:00:00:02' };
    const added = both([
      { kind: 'spoof-add', ...a },
      { kind: 'spoof-add', ...b },
      { kind: 'spoof-add', ...a },
    ]);
    expect(JSON.stringify(added)).toContain('02:51:00:00:00:02');
    const after = both([
      { kind: 'spoof-del', containerID: a.containerID, ifName: a.ifName },
      { kind: 'spoof-del', containerID: b.containerID, ifName: b.ifName },
    ]);
    expect(JSON.stringify(after)).not.toContain('tnf-sp');
  });
});
