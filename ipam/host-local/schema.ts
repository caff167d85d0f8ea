// host-local's stdin config (draft-07). Types only: addresses stay strings and config.ts parses
// them, so its errors can name the field and the value with the reference's wording.
import { ipamPluginConfigSchema, rangeSchema, rangeSetsSchema, routesSchema, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = ipamPluginConfigSchema({
  ...rangeSchema.properties,
  routes: routesSchema,
  dataDir: stringSchema,
  resolvConf: stringSchema,
  ranges: rangeSetsSchema,
} as const);
