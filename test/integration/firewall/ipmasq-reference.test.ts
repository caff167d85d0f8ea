// Switching a node between the Go reference plugins (Debian 1.1.1, iptables form only) and ours:
// the same rules for the same (network, containerID, address), and each side removes the other's.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasGoPlugins, mustCall, natChains, natRules, Netns, runGoPlugin, skipReason, tempDir } from './harness.js';

const skip = skipReason() ?? (hasGoPlugins() ? undefined : 'Go reference plugins not in /usr/lib/cni');
const NET = 'refnet';
const CID = 'ref-ctr-1';

interface AddResult {
  ips: { address: string }[];
}

describe.skipIf(skip !== undefined)(`ipMasq interop with the Go ptp plugin${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let node: Netns;
  let container: Netns;
  let data: ReturnType<typeof tempDir>;
  const conf = (ipMasq: boolean) => ({
    cniVersion: '0.4.0',
    name: NET,
    type: 'ptp',
    ipMasq,
    ipam: {
      type: 'host-local',
      dataDir: data.path,
      ranges: [[{ subnet: '10.47.2.0/24' }], [{ subnet: '2001:db8:47:2::/64' }]],
    },
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

  it('creates the same rules as the reference, adds nothing over them, and tears them down without addresses', () => {
    const result = JSON.parse(runGoPlugin(node, 'ptp', 'ADD', conf(true), container, CID)) as AddResult;
    const ips = result.ips.map((i) => i.address);
    expect(ips).toHaveLength(2);
    const goRules = { 4: natRules(node, 4), 6: natRules(node, 6) };
    expect(goRules[4]).toHaveLength(3);
    expect(goRules[6]).toHaveLength(3);

    // Ours, for the same attachment, in a clean node: byte-identical iptables-save lines.
    const clean = new Netns();
    try {
      mustCall(clean, { op: 'setup', backend: 'iptables', network: NET, containerID: CID, ifName: 'eth0', ips });
      expect(natRules(clean, 4)).toEqual(goRules[4]);
      expect(natRules(clean, 6)).toEqual(goRules[6]);
    } finally {
      clean.delete();
    }

    // Ours over the reference's rules: nothing duplicated.
    mustCall(node, { op: 'setup', backend: 'iptables', network: NET, containerID: CID, ifName: 'eth0', ips });
    expect(natRules(node, 4)).toEqual(goRules[4]);
    expect(natRules(node, 6)).toEqual(goRules[6]);

    // Ours removes the reference's rules, knowing no address (as after the container link is gone).
    mustCall(node, { op: 'teardown', network: NET, containerID: CID, ifName: 'eth0' });
    expect(natRules(node, 4)).toEqual([]);
    expect(natRules(node, 6)).toEqual([]);
    expect(natChains(node, 4)).toEqual([]);
    expect(natChains(node, 6)).toEqual([]);
    // (The reference 1.1.1 DEL would now fail while the container link still holds its IPv6
    // address: its ip6tables -D reports the missing chain as an error. Deleting the netns cleans up.)
  });

  it("the reference's DEL removes the rules ours created", () => {
    const result = JSON.parse(runGoPlugin(node, 'ptp', 'ADD', conf(false), container, CID)) as AddResult;
    expect(natRules(node, 4)).toEqual([]);
    const ips = result.ips.map((i) => i.address);
    mustCall(node, { op: 'setup', backend: 'iptables', network: NET, containerID: CID, ifName: 'eth0', ips });
    expect(natRules(node, 4)).toHaveLength(3);
    expect(natRules(node, 6)).toHaveLength(3);
    runGoPlugin(node, 'ptp', 'DEL', conf(true), container, CID);
    expect(natRules(node, 4)).toEqual([]);
    expect(natRules(node, 6)).toEqual([]);
    expect(natChains(node, 4)).toEqual([]);
    expect(natChains(node, 6)).toEqual([]);
  });
});
