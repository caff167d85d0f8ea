// flannel's stdin config (draft-07): types only. `delegate` and `ipam` are free-form maps (the
// reference keeps them as map[string]interface{}), so their keys are not declared here and pass
// through exactly as written.
import { netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    subnetFile: stringSchema,
    dataDir: stringSchema,
    delegate: { type: 'object' },
    ipam: { type: 'object' },
    runtimeConfig: { type: 'object' },
  },
} as const;
