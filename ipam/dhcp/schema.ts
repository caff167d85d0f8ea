// dhcp's stdin config (draft-07): the reference's IPAMConfig keys; option names are checked by
// config.ts so its errors can use the reference's wording.
import { booleanSchema, integerSchema, ipamPluginConfigSchema, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = ipamPluginConfigSchema({
  daemonSocketPath: stringSchema,
  request: {
    type: 'array',
    items: { type: 'object', properties: { option: stringSchema, skipDefault: booleanSchema } },
  },
  provide: {
    type: 'array',
    items: { type: 'object', properties: { option: stringSchema, value: stringSchema, fromArg: stringSchema } },
  },
  priority: integerSchema,
} as const);
