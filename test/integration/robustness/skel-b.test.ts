// The shared-skeleton hostile inputs (skel-rows.ts) against vlan, host-device, tap, dummy: each fails with the
// right spec code, one error object on stdout naming the field and value, and leaves nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { haveTun, removeAllRigs, spec, sweep } from './harness.js';
import { CORE_ROWS, EXTENDED_ROWS } from './skel-rows.js';

afterEach(removeAllRigs);

describe('robustness: hostile input through the skeleton', () => {
  for (const name of ['vlan', 'host-device', 'tap', 'dummy']) {
    it.skipIf(name === 'tap' && !haveTun)(name, () => {
      // The skeleton rejects these before plugin code runs: one leftover check after all rows.
      const rows = ['bridge', 'host-local'].includes(name) ? [...CORE_ROWS, ...EXTENDED_ROWS] : CORE_ROWS;
      expect(sweep(spec(name), rows, false)).toBeGreaterThan(30);
    });
  }
});
