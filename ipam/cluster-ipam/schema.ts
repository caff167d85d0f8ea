// cluster-ipam's stdin config (draft-07). Types only: config.ts parses addresses and names so its
// errors can name the field and the value.
import {
  ipamPluginConfigSchema,
  rangeSetsSchema,
  routesSchema,
  stringListSchema,
  stringSchema,
} from '../../shared/cni/schema-parts.js';

const etcdSchema = {
  type: 'object',
  properties: {
    endpoints: stringListSchema,
    prefix: stringSchema,
    certFile: stringSchema,
    keyFile: stringSchema,
    trustedCAFile: stringSchema,
    username: stringSchema,
    password: stringSchema,
    dialTimeoutMs: { type: 'integer', minimum: 1 },
    timeoutMs: { type: 'integer', minimum: 1 },
  },
} as const;

export const schema = ipamPluginConfigSchema({
  range: stringSchema,
  rangeStart: stringSchema,
  rangeEnd: stringSchema,
  gateway: stringSchema,
  exclude: stringListSchema,
  routes: routesSchema,
  ranges: rangeSetsSchema,
  etcd: etcdSchema,
  nodeName: stringSchema,
} as const);
