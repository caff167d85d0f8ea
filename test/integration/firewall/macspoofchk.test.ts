// macspoofchk: the reference's exact nft objects (bridge nat PREROUTING + two chains per attachment),
// idempotent setup, teardown by comment, and interop with the Go bridge plugin in both directions.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasGoPlugins, mustCall, Netns, nftTable, runGoPlugin, skipReason, tempDir } from './harness.js';

const skip = skipReason();
const CID = 'dummy-0';
const IFACE_CHAIN = 'cni-br-iface-dummy-0-eth0';
const MAC_CHAIN = `${IFACE_CHAIN}-mac`;
const COMMENT = 'macspoofchk-dummy-0-eth0';

const rulesIn = (ns: Netns, chain: string) => (nftTable(ns, 'bridge', 'nat')?.rules ?? []).filter((r) => r.chain === chain);
const chainNames = (ns: Netns) => (nftTable(ns, 'bridge', 'nat')?.chains ?? []).map((c) => c.name);

function expectInstalled(ns: Netns, hostIf: string, mac: string): void {
  const table = nftTable(ns, 'bridge', 'nat')!;
  expect(table.chains.find((c) => c.name === 'PREROUTING')).toMatchObject({
    type: 'filter',
    hook: 'prerouting',
    prio: -300,
    policy: 'accept',
  });
  const pre = rulesIn(ns, 'PREROUTING');
  const iface = rulesIn(ns, IFACE_CHAIN);
  const macRules = rulesIn(ns, MAC_CHAIN);
  expect([pre.length, iface.length, macRules.length]).toEqual([1, 1, 2]);
  for (const r of [...pre, ...iface, ...macRules]) expect(r.comment).toBe(COMMENT);
  expect(pre[0]!.expr).toEqual([
    { match: { op: '==', left: { meta: { key: 'iifname' } }, right: hostIf } },
    { jump: { target: IFACE_CHAIN } },
  ]);
  expect(iface[0]!.expr).toEqual([{ jump: { target: MAC_CHAIN } }]);
  expect(macRules[0]!.expr).toEqual([
    { match: { op: '==', left: { payload: { protocol: 'ether', field: 'saddr' } }, right: mac } },
    { return: null },
  ]);
  expect(macRules[1]!.expr).toEqual([{ drop: null }]);
}

function expectRemoved(ns: Netns): void {
  expect(chainNames(ns)).toEqual(['PREROUTING']);
  expect(rulesIn(ns, 'PREROUTING')).toEqual([]);
}

describe.skipIf(skip !== undefined)(`macspoofchk${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let ns: Netns;
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => ns.delete());

  const att = { containerID: CID, ifName: 'eth0', hostIfName: 'veth0a1b2c3d', mac: '02:00:00:00:12:34' };

  it('setup twice gives exactly 1 + 1 + 2 commented rules; teardown removes them; teardown again succeeds', () => {
    mustCall(ns, { op: 'spoof-setup', ...att });
    mustCall(ns, { op: 'spoof-setup', ...att });
    expectInstalled(ns, att.hostIfName, att.mac);
    mustCall(ns, { op: 'spoof-teardown', containerID: CID, ifName: 'eth0' });
    expectRemoved(ns);
    mustCall(ns, { op: 'spoof-teardown', containerID: CID, ifName: 'eth0' });
  });

  it('teardown leaves other attachments alone, and succeeds when the table does not exist', () => {
    mustCall(ns, { op: 'spoof-teardown', containerID: CID, ifName: 'eth0' });
    expect(nftTable(ns, 'bridge', 'nat')).toBeUndefined();
    mustCall(ns, { op: 'spoof-setup', ...att });
    mustCall(ns, { op: 'spoof-setup', ...att, ifName: 'net1', hostIfName: 'veth99', mac: '02:00:00:00:12:35' });
    mustCall(ns, { op: 'spoof-teardown', containerID: CID, ifName: 'eth0' });
    expect(chainNames(ns).sort()).toEqual(['PREROUTING', 'cni-br-iface-dummy-0-net1', 'cni-br-iface-dummy-0-net1-mac']);
    expect(rulesIn(ns, 'PREROUTING').map((r) => r.comment)).toEqual(['macspoofchk-dummy-0-net1']);
  });
});

const goSkip = skip ?? (hasGoPlugins() ? undefined : 'Go reference plugins not in /usr/lib/cni');

describe.skipIf(goSkip !== undefined)(`macspoofchk interop with the Go bridge${goSkip ? ` (skipped: ${goSkip})` : ''}`, () => {
  let node: Netns;
  let container: Netns;
  let data: ReturnType<typeof tempDir>;
  const conf = (macspoofchk: boolean) => ({
    cniVersion: '0.4.0',
    name: 'spoofnet',
    type: 'bridge',
    bridge: 'tscnifwbr0',
    macspoofchk,
    ipam: { type: 'host-local', dataDir: data.path, ranges: [[{ subnet: '10.47.5.0/24' }]] },
  });
  beforeEach(() => {
    node = new Netns();
    container = new Netns();
    data = tempDir();
  });
  afterEach(() => {
    container.delete();
    node.delete();
    data.remove();
  });

  interface BridgeResult {
    interfaces: { name: string; mac: string; sandbox?: string }[];
  }

  it("ours removes the reference's rules; the reference's DEL removes ours", () => {
    const first = JSON.parse(runGoPlugin(node, 'bridge', 'ADD', conf(true), container, CID)) as BridgeResult;
    const hostIf = first.interfaces[1]!.name;
    const mac = first.interfaces[2]!.mac;
    expectInstalled(node, hostIf, mac);
    mustCall(node, { op: 'spoof-teardown', containerID: CID, ifName: 'eth0' });
    expectRemoved(node);
    runGoPlugin(node, 'bridge', 'DEL', conf(false), container, CID);

    const second = JSON.parse(runGoPlugin(node, 'bridge', 'ADD', conf(false), container, CID)) as BridgeResult;
    const att = { containerID: CID, ifName: 'eth0', hostIfName: second.interfaces[1]!.name, mac: second.interfaces[2]!.mac };
    mustCall(node, { op: 'spoof-setup', ...att });
    expectInstalled(node, att.hostIfName, att.mac);
    runGoPlugin(node, 'bridge', 'DEL', conf(true), container, CID);
    expectRemoved(node);
  });
});
