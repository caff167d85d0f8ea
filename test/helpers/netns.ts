// Test network namespaces: every name carries a test prefix and a random part, and every
// namespace created here is deleted by `removeAllNetns()` (call it in afterEach/afterAll).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const created = new Set<string>();

/** Creates `/run/netns/<prefix>-<random>` and returns its name. */
export function createNetns(prefix: string): string {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  created.add(name);
  return name;
}

export const netnsPath = (name: string): string => `/run/netns/${name}`;

export function removeNetns(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
  created.delete(name);
}

export function removeAllNetns(): void {
  for (const name of [...created]) removeNetns(name);
}

/** `ip -j ...` (optionally inside a netns), parsed: the independent oracle of kernel state. */
export function ipJson<T = unknown>(args: string[], ns?: string): T {
  const full = ns ? ['-n', ns, '-j', ...args] : ['-j', ...args];
  const out = execFileSync('ip', full, { encoding: 'utf8' });
  return (out.trim() ? JSON.parse(out) : []) as T;
}

/** Runs a command inside a netns (ip netns exec), returning its exit status and output. */
export function execInNetns(ns: string, cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const res = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

/** Runs `cmd args` inside a netns (no shell: they go to execve as they are); its stdout, or an error. */
export function sh(ns: string, cmd: string, args: string[]): string {
  const r = execInNetns(ns, cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns} failed: ${r.stderr}`);
  return r.stdout;
}

/** Pings `target` from a netns; give IPv6 a few tries (an address may still be doing DAD). */
export function ping(ns: string, target: string, tries = 1): boolean {
  for (let i = 0; i < tries; i++) {
    if (execInNetns(ns, 'ping', ['-c', '1', '-W', '1', target]).status === 0) return true;
  }
  return false;
}
