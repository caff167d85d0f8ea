// host-local's stdin config (draft-07). Types only: addresses stay strings and config.ts parses
// them, so its errors can name the field and the value with the reference's wording.
import {
  netConfProperties,
  rangeSchema,
  rangeSetsSchema,
  routesSchema,
  stringSchema,
} from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    ipam: {
      type: 'object',
      properties: {
        type: stringSchema,
        ...rangeSchema.properties,
        routes: routesSchema,
        dataDir: stringSchema,
        resolvConf: stringSchema,
        ranges: rangeSetsSchema,
      },
    },
  },
} as const;
