// Crash consistency, small: 50 SIGKILLs at moments spread over the real duration of an ADD (or a
// DEL) of bridge + portmap + tuning, alternating iptables and nftables, each followed by what a
// runtime does next (DEL; or, the sandbox gone, GC with a list that keeps another live attachment;
// or, for a killed DEL, DEL again). The script reads every state file back after each kill (never
// half-written) and compares the node, the container and the state directories with a baseline
// (scripts/crash.mjs).
import { describe, expect, it } from 'vitest';
import { runScript } from './long-runs.js';

describe('crash consistency (npm run crash, small)', () => {
  it('50 kills: DEL, GC or a second DEL leaves nothing; no torn file; the live attachment is untouched', async () => {
    const r = await runScript('crash.mjs', ['--runs', '50', '--seed', '1203']);
    expect(r.stdout).toMatch(/^crash: seed \d+, 50 runs \(del 17, gc 17, deldel 16;.*\), 0 problems,/);
    expect(r.status, r.stdout).toBe(0);
  }, 900_000);
});
