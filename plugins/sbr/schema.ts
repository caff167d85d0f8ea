// sbr's stdin config (draft-07): types only; config.ts checks values and words the errors.
import { booleanSchema, integerSchema, netConfProperties, stringListSchema } from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    table: integerSchema,
    gateways: stringListSchema,
    addSourceHints: booleanSchema,
  },
} as const;
