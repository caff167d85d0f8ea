// firewall's stdin config (draft-07): types only; config.ts checks the values and words the errors.
import { netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    backend: stringSchema,
    iptablesAdminChainName: stringSchema,
    firewalldZone: stringSchema,
    ingressPolicy: stringSchema,
  },
} as const;
