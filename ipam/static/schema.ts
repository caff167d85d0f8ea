// static's stdin config (draft-07). Addresses stay strings: config.ts parses them so its errors
// carry the reference's wording and name the value.
import { dnsSchema, ipamPluginConfigSchema, routesSchema, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = ipamPluginConfigSchema({
  routes: routesSchema,
  addresses: {
    type: 'array',
    items: { type: 'object', properties: { address: stringSchema, gateway: stringSchema } },
  },
  dns: dnsSchema,
} as const);
