// Opt-in phase timing for profiling (TSCNI_TRACE=1 in the environment): one stderr line per
// phase, milliseconds since process start. Silent otherwise.
const enabled = process.env['TSCNI_TRACE'] === '1';

export function trace(phase: string): void {
  if (enabled) process.stderr.write(`bridge: ${performance.now().toFixed(1)} ms ${phase}\n`);
}
