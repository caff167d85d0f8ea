// Test netns lifecycle and an independent oracle (iproute2 JSON output) for kernel state.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const NETNS_DIR = '/var/run/netns';

/** Creates a uniquely named test netns; returns its name. Register it for cleanup. */
export function addNetns(created: string[]): string {
  const name = `tscni-nl-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  created.push(name);
  return name;
}

export const nsPath = (name: string): string => `${NETNS_DIR}/${name}`;

/** Deletes every netns in `created` (ignoring ones already gone) and empties the list. */
export function deleteNetns(created: string[]): void {
  for (const name of created.splice(0)) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/** `ip -n <ns> -j [-d] <args>` parsed. */
export function ipJson<T = Record<string, unknown>[]>(ns: string, args: string[], details = false): T {
  const out = execFileSync('ip', ['-n', ns, '-j', ...(details ? ['-d'] : []), ...args], { encoding: 'utf8' });
  return JSON.parse(out || '[]') as T;
}

/** Runs `ip -n <ns> <args>` for setup the API under test is not about. */
export function ip(ns: string, args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}
