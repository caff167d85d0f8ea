// Phase timing of the bridge plugin (TSCNI_TRACE=1): see shared/sys/trace.ts.
import { tracePhase } from '../../shared/sys/trace.js';

export function trace(phase: string): void {
  tracePhase('bridge', phase);
}
