// The churn soak, small: 100 containers added and deleted in a seeded random interleaving, 8 calls
// in flight, on bridge (ipMasq, host-local) + portmap, once per masquerade/portmap backend. The
// script checks (and prints) that every ADD and DEL succeeded, that no address was ever held by two
// live containers, and that nothing is left at the end (scripts/soak.mjs).
import { describe, expect, it } from 'vitest';
import { runScript } from './long-runs.js';

describe('churn soak (npm run soak, small)', () => {
  it('100 containers, concurrency 8, iptables: every call succeeds, no duplicate address, nothing left', async () => {
    const r = await runScript('soak.mjs', ['--count', '100', '--concurrency', '8', '--seed', '1201', '--backend', 'iptables', '--quiet']);
    expect(r.stdout + r.stderr).toMatch(/^soak: seed \d+, 100 containers, concurrency 8, peak live \d+: 100 ADD \/ 100 wanted, 0 failed calls, 0 problems, 0 leftovers;/);
    expect(r.status, r.stdout).toBe(0);
  }, 600_000);

  it('30 containers, concurrency 8, nftables: the same', async () => {
    const r = await runScript('soak.mjs', ['--count', '30', '--concurrency', '8', '--seed', '1202', '--backend', 'nftables', '--quiet']);
    expect(r.stdout + r.stderr).toMatch(/^soak: seed \d+, 30 containers, concurrency 8, peak live \d+: 30 ADD \/ 30 wanted, 0 failed calls, 0 problems, 0 leftovers;/);
    expect(r.status, r.stdout).toBe(0);
  }, 600_000);
});
