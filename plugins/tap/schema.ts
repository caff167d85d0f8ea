// tap's stdin config (draft-07): types only; index.ts checks values and words the errors.
import { booleanSchema, integerSchema, netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

const uint32 = { type: 'integer', minimum: 0, maximum: 4294967295 } as const;

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    multiQueue: booleanSchema,
    mtu: integerSchema,
    mac: stringSchema,
    owner: uint32,
    group: uint32,
    selinuxContext: stringSchema,
    bridge: stringSchema,
  },
} as const;
