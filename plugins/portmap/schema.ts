// portmap's stdin config (draft-07), the keys of the reference's PortMapConf. Types only: value
// ranges, cross-key rules and the port mappings are checked in config.ts with the reference's messages.
import {
  booleanSchema, integerSchema, netConfProperties, portMappingSchema, stringListSchema, stringSchema,
} from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    backend: stringSchema,
    snat: booleanSchema,
    masqAll: booleanSchema,
    markMasqBit: integerSchema,
    externalSetMarkChain: stringSchema,
    conditionsV4: stringListSchema,
    conditionsV6: stringListSchema,
    runtimeConfig: {
      type: 'object',
      properties: { portMappings: { type: 'array', items: portMappingSchema } },
    },
  },
} as const;
