// vrf's stdin config (draft-07): types only; config.ts checks values and words the errors.
import { integerSchema, netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    vrfname: stringSchema,
    table: integerSchema,
  },
} as const;
