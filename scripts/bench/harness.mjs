// Shared bench machinery: run a command many times, alternating ours and the Go reference in the
// same loop so both see the same machine noise, and report medians. No timing is asserted anywhere:
// the machine is shared and noisy, so numbers are reported, never tested.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REF_DIR = process.env.TSCNI_REF_DIR ?? '/usr/lib/cni';

/** Runs a plugin once as a runtime would; returns wall time in ms. Throws on a non-zero exit. */
export function timeInvocation(binary, env, stdin) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(binary, [], { env: { PATH: process.env.PATH, ...env }, input: stdin, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${binary} ${env.CNI_COMMAND} failed: ${res.stdout}${res.stderr}`);
  return ms;
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measures `rounds` iterations of each case for ours and the reference, interleaved.
 * `runOnce(impl)` performs one measured run for 'ours' or 'ref' and returns its ms.
 */
export function compare(label, rounds, runOnce) {
  const ours = [];
  const ref = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(runOnce('ours'));
    ref.push(runOnce('ref'));
  }
  return { label, rounds, ours: median(ours), ref: median(ref) };
}

export function printTable(title, rows) {
  const out = [`\n${title}`, '| case | runs | tscni median ms | Go reference median ms | tscni / reference |', '|---|---|---|---|---|'];
  for (const r of rows) {
    out.push(`| ${r.label} | ${r.rounds} | ${r.ours.toFixed(2)} | ${r.ref.toFixed(2)} | ${(r.ours / r.ref).toFixed(2)}x |`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * Runs `bench(distBin, rounds)` when the calling bench file is the script node was started with
 * (`node scripts/bench/<name>.mjs [--rounds N]`), so each group also runs on its own.
 * distBin: TSCNI_BIN_DIR or the repository's dist/bin.
 */
export function runIfMain(moduleUrl, bench) {
  const file = fileURLToPath(moduleUrl);
  if (!process.argv[1] || path.resolve(process.argv[1]) !== file) return;
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 20;
  bench(process.env.TSCNI_BIN_DIR ?? path.resolve(path.dirname(file), '../../dist/bin'), rounds);
}

/**
 * Runs `file args` under GNU time (`/usr/bin/time -f ... -o <file>`): the wall ms seen from here plus
 * what the kernel accounted to that process and the children it waited for (wait4's rusage): user and
 * system CPU ms and the peak RSS (VmHWM) in KB. The same wrapper for ours and the Go reference, so the
 * plugin process itself is measured (time is a fork + exec + wait4: no work of its own in the numbers).
 * Throws on a non-zero exit. Returns { ms, userMs, sysMs, rssKB, out }.
 */
export function timeRusage(file, args, env, stdin, tmpFile) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(GNU_TIME, ['-f', '%U %S %M', '-o', tmpFile, file, ...args], { env: { PATH: process.env.PATH, ...env }, input: stdin, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${[file, ...args].join(' ')} ${env.CNI_COMMAND ?? ''} failed: ${`${res.stdout}${res.stderr}`.replace(/\s+/g, ' ')}`);
  return { ms, ...parseRusage(fs.readFileSync(tmpFile, 'utf8')), out: res.stdout };
}

export const GNU_TIME = '/usr/bin/time';

/** GNU time's last line "%U %S %M" (seconds, seconds, KB). */
export function parseRusage(text) {
  const [u, s, m] = text.trim().split('\n').at(-1).split(/\s+/).map(Number);
  return { userMs: u * 1000, sysMs: s * 1000, rssKB: m };
}
