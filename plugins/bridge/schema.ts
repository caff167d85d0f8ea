// The bridge plugin's stdin config (draft-07), the keys of the reference's NetConf. Types only:
// ranges and cross-field rules are checked in config.ts with the reference's messages.
import { booleanSchema, integerSchema, netConfProperties, stringSchema } from '../../shared/cni/schema-parts.js';

const vlanTrunkEntry = {
  type: 'object',
  properties: { minID: integerSchema, maxID: integerSchema, id: integerSchema },
} as const;

export const schema = {
  type: 'object',
  properties: {
    ...netConfProperties,
    bridge: stringSchema,
    isGateway: booleanSchema,
    isDefaultGateway: booleanSchema,
    forceAddress: booleanSchema,
    ipMasq: booleanSchema,
    ipMasqBackend: stringSchema,
    mtu: integerSchema,
    hairpinMode: booleanSchema,
    promiscMode: booleanSchema,
    vlan: integerSchema,
    vlanTrunk: { type: 'array', items: vlanTrunkEntry },
    preserveDefaultVlan: booleanSchema,
    macspoofchk: booleanSchema,
    enabledad: booleanSchema,
    disableContainerInterface: booleanSchema,
    portIsolation: booleanSchema,
  },
} as const;
