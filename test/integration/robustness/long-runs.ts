// Runs one of the issue-12 scripts (scripts/soak.mjs, crash.mjs, fuzz.mjs) the way `npm run` does,
// with a small count, and hands back its summary line and problems. The scripts are the tests'
// logic; these files only pick the CI sizes and seeds (TSCNI_ROBUST_SEED overrides the seed).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../helpers/plugin.js';

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runScript(script: string, args: string[]): Promise<ScriptRun> {
  const seed = process.env['TSCNI_ROBUST_SEED'];
  const all = seed ? [...args.filter((_, i, a) => a[i] !== '--seed' && a[i - 1] !== '--seed'), '--seed', seed] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', script), ...all], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
