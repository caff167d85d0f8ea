// Fuzzing, small: 350 seeded cases of hostile configs, environments, fake IPAM plugins and
// lying prevResults against every plugin binary. Each must end within 5 s with exactly one spec
// error object (or a real success that DEL then undoes) and change nothing when it fails
// (scripts/fuzz.mjs). The 5-second limit is `npm run fuzz`'s; here (no test asserts a time) only a
// call hanging for a minute fails. Three seeds: one over every plugin, one over the plugins with the most surface,
// one over flannel (test-owned subnet.env and dataDirs) and cluster-ipam (a real etcd member the
// script starts inside its node netns, and an unreachable one: code 11).
import { describe, expect, it } from 'vitest';
import { runScript } from './long-runs.js';

describe('fuzzing (npm run fuzz, small)', () => {
  it('250 cases over every plugin', async () => {
    const r = await runScript('fuzz.mjs', ['--count', '250', '--seed', '1204', '--time-limit', '0']);
    expect(r.stdout).toMatch(/^fuzz: seed \d+, 250 cases over 20 plugins: \d+ succeeded, \d+ refused .*, 0 problems,/);
    expect(r.status, r.stdout).toBe(0);
  }, 900_000);

  it('100 cases over bridge, host-local, portmap, tuning', async () => {
    const r = await runScript('fuzz.mjs', ['--count', '100', '--seed', '1205', '--plugin', 'bridge,host-local,portmap,tuning', '--time-limit', '0']);
    expect(r.stdout).toMatch(/^fuzz: seed \d+, 100 cases over 4 plugins: .*, 0 problems,/);
    expect(r.status, r.stdout).toBe(0);
  }, 900_000);

  it('100 cases over flannel and cluster-ipam', async () => {
    const r = await runScript('fuzz.mjs', ['--count', '100', '--seed', '1206', '--plugin', 'flannel,cluster-ipam', '--time-limit', '0']);
    expect(r.stdout).toMatch(/^fuzz: seed \d+, 100 cases over 2 plugins: [1-9]\d* succeeded, .*, 0 problems,/);
    expect(r.status, r.stdout).toBe(0);
  }, 900_000);
});
