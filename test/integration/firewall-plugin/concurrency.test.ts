// Many first ADDs at once on a fresh node (as a runtime starting a batch of containers): the shared
// chains and jumps are created once and no ADD wipes another's rules (an iptables-restore chain
// declaration would flush an existing chain; we create chains with -N / nft `create`, which fail
// and are retried instead).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, netnsPath, removeAllNetns } from '../../helpers/netns.js';
import { DIST_BIN } from '../../helpers/plugin.js';
import { tempDir, removeDir } from '../../helpers/node-rig.js';
import { filterRules, firewallConf, nftFirewallRules, prevResult, skipReason } from './common.js';

const skip = skipReason();
const N = 8;

function runAsync(ns: string, env: Record<string, string>, conf: unknown): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, `${DIST_BIN}/firewall`], { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout }));
    child.stdin.end(JSON.stringify(conf));
  });
}

describe.skipIf(skip)(`firewall plugin, concurrent first ADDs${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let ctr = '';
  let state = '';
  beforeAll(() => {
    ctr = createNetns('fw-cc-ctr');
    state = tempDir('fw-state-');
  });
  afterAll(() => {
    removeAllNetns();
    removeDir(state);
  });

  for (const backend of ['iptables', 'nftables']) {
    it(`${backend}: ${N} parallel ADDs on a fresh node all keep their rules; shared jumps exist once`, async () => {
      const node = createNetns('fw-cc-node');
      const runs = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          runAsync(
            node,
            { CNI_COMMAND: 'ADD', CNI_PATH: DIST_BIN, CNI_CONTAINERID: `p${i}`, CNI_NETNS: netnsPath(ctr), CNI_IFNAME: 'eth0', TSCNI_STATE_DIR: state, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${state}/nobus` },
            firewallConf({ backend, ingressPolicy: 'same-bridge' }, prevResult({ v4: `10.32.50.${10 + i}/24`, sandbox: netnsPath(ctr) })),
          ),
        ),
      );
      for (const r of runs) expect(r.status, r.stdout).toBe(0);
      if (backend === 'iptables') {
        const rules = filterRules(node);
        for (let i = 0; i < N; i++) expect(rules).toContain(`-A CNI-FORWARD -s 10.32.50.${10 + i}/32 -j ACCEPT`);
        expect(rules.filter((r) => r.endsWith('-j CNI-FORWARD'))).toHaveLength(1);
        expect(rules.filter((r) => r.endsWith('-j CNI-ADMIN'))).toHaveLength(1);
        expect(rules.filter((r) => r.endsWith('-j CNI-ISOLATION-STAGE-1'))).toHaveLength(1);
        expect(rules.filter((r) => r.includes('-j RETURN'))).toHaveLength(2);
      } else {
        const rules = nftFirewallRules(node)!;
        expect(rules.filter((r) => r.comment?.includes(', net: fw-net'))).toHaveLength(2 * N);
        expect(rules.filter((r) => r.comment === 'CNI firewall plugin admin overrides')).toHaveLength(1);
        expect(rules.filter((r) => r.comment === 'CNI firewall plugin rules (ingressPolicy)')).toHaveLength(1);
        expect(rules.filter((r) => r.comment?.endsWith('to fw-br0'))).toHaveLength(1);
      }
    });
  }
});
