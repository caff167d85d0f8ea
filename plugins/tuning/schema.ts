// tuning's stdin config (draft-07): types only; config.ts checks values and words the errors.
import { booleanSchema, integerSchema, netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

const sysctlMapSchema = { type: 'object', additionalProperties: stringSchema } as const;

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    dataDir: stringSchema,
    sysctl: sysctlMapSchema,
    mac: stringSchema,
    promisc: booleanSchema,
    mtu: integerSchema,
    txQLen: integerSchema,
    allmulti: booleanSchema,
    runtimeConfig: { type: 'object', properties: { mac: stringSchema } },
    args: {
      type: 'object',
      properties: {
        cni: {
          type: 'object',
          properties: {
            sysctl: sysctlMapSchema,
            mac: stringSchema,
            promisc: booleanSchema,
            mtu: integerSchema,
            allmulti: booleanSchema,
            txQLen: integerSchema,
          },
        },
      },
    },
  },
} as const;
