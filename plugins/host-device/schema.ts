// host-device's stdin config (draft-07): types only; config.ts checks values and words the errors.
import { booleanSchema, netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    device: stringSchema,
    hwaddr: stringSchema,
    kernelpath: stringSchema,
    pciBusID: stringSchema,
    // No JSON tag in the reference: Go matches the field name "DPDKMode" case-insensitively.
    DPDKMode: booleanSchema,
  },
} as const;
