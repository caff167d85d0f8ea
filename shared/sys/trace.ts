// Opt-in phase timing for profiling (TSCNI_TRACE=1 in the environment): one stderr line per phase,
// "<who>: <ms since process start> ms <phase>". Silent otherwise, and cheap when silent (one
// boolean test). process.uptime, not performance.now: the first performance.now() loads perf_hooks
// (~1 ms), which would then be counted as plugin time.
const enabled = process.env['TSCNI_TRACE'] === '1';

export function tracePhase(who: string, phase: string): void {
  if (enabled) process.stderr.write(`${who}: ${(process.uptime() * 1000).toFixed(1)} ms ${phase}\n`);
}
