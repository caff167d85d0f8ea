// bandwidth's stdin config (draft-07): types only; config.ts checks values and words the errors.
// The BandwidthEntry keys appear at the top level (static config) and in runtimeConfig.bandwidth.
import { netConfProperties, stringListSchema } from '../../shared/cni/schema-parts.js';

// Go's uint64: non-negative integers below 2^64 (a negative number, a fraction or an overflow is a
// decode error there). 2^64-1 itself rounds to 2^64 as a double, so it is refused too.
const uint64Schema = { type: 'integer', minimum: 0, exclusiveMaximum: 18446744073709551616 } as const;

const bandwidthEntryProperties = {
  ingressRate: uint64Schema,
  ingressBurst: uint64Schema,
  egressRate: uint64Schema,
  egressBurst: uint64Schema,
  unshapedSubnets: stringListSchema,
  shapedSubnets: stringListSchema,
} as const;

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    ...bandwidthEntryProperties,
    runtimeConfig: {
      type: 'object',
      properties: { bandwidth: { type: 'object', properties: bandwidthEntryProperties } },
    },
  },
} as const;
