// vlan's stdin config (draft-07): types only; index.ts checks values and words the errors.
import { booleanSchema, integerSchema, netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: { ...netConfProperties, master: stringSchema, vlanId: integerSchema, mtu: integerSchema, linkInContainer: booleanSchema },
} as const;
