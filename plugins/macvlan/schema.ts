// macvlan's stdin config (draft-07): types only; config.ts checks values and words the errors.
import { booleanSchema, integerSchema, netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    master: stringSchema,
    mode: stringSchema,
    mtu: integerSchema,
    mac: stringSchema,
    linkInContainer: booleanSchema,
    // Go uint32: a negative or larger value fails to decode.
    bcqueuelen: { type: 'integer', minimum: 0, maximum: 4294967295 },
  },
} as const;
