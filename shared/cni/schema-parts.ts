// Reusable JSON Schema (draft-07) fragments for plugins' schema.ts files. Plain data only: the
// build (scripts/gen-validators.mjs) imports them and compiles the validators; plugins never
// load these at run time. Types follow the Go structs of the reference (an `int` field is
// "integer", a `string` field "string"); nothing here is "required", since Go requires nothing
// and each plugin reports its own missing-field messages.
//
//   import { netConfProperties, ipamSchema } from '../../shared/cni/schema-parts.js';
//   export const schema = {
//     type: 'object',
//     properties: { ...netConfProperties, bridge: { type: 'string' }, mtu: { type: 'integer' } },
//   } as const;

export const stringSchema = { type: 'string' } as const;
export const integerSchema = { type: 'integer' } as const;
export const booleanSchema = { type: 'boolean' } as const;
export const stringListSchema = { type: 'array', items: stringSchema } as const;

/** types.DNS. */
export const dnsSchema = {
  type: 'object',
  properties: {
    nameservers: stringListSchema,
    domain: stringSchema,
    search: stringListSchema,
    options: stringListSchema,
  },
} as const;

/** types.Route (dst/gw are CIDR/IP strings; the plugin checks their syntax). */
export const routeSchema = {
  type: 'object',
  properties: {
    dst: stringSchema,
    gw: stringSchema,
    mtu: integerSchema,
    advmss: integerSchema,
    priority: integerSchema,
    table: integerSchema,
    scope: integerSchema,
  },
} as const;

export const routesSchema = { type: 'array', items: routeSchema } as const;

/** The `ipam` object: only `type` is common; the IPAM plugin validates the rest itself. */
export const ipamSchema = {
  type: 'object',
  properties: { type: stringSchema },
} as const;

/** One host-local style range (`ipRanges` capability, host-local `ranges`). */
export const rangeSchema = {
  type: 'object',
  properties: {
    subnet: stringSchema,
    rangeStart: stringSchema,
    rangeEnd: stringSchema,
    gateway: stringSchema,
  },
} as const;

export const rangeSetsSchema = { type: 'array', items: { type: 'array', items: rangeSchema } } as const;

export const portMappingSchema = {
  type: 'object',
  properties: {
    hostPort: integerSchema,
    containerPort: integerSchema,
    protocol: stringSchema,
    hostIP: stringSchema,
  },
} as const;

/** The `bandwidth` capability (bit/s and bits). Go uses uint64; JSON numbers are integers here. */
export const bandwidthSchema = {
  type: 'object',
  properties: {
    ingressRate: { type: 'integer', minimum: 0 },
    ingressBurst: { type: 'integer', minimum: 0 },
    egressRate: { type: 'integer', minimum: 0 },
    egressBurst: { type: 'integer', minimum: 0 },
  },
} as const;

/** The runtime `dns` capability (servers/searches/options), not the result DNS. */
export const runtimeDnsSchema = {
  type: 'object',
  properties: { servers: stringListSchema, searches: stringListSchema, options: stringListSchema },
} as const;

/** Well-known runtimeConfig capabilities (CONVENTIONS.md); a plugin spreads in what it consumes. */
export const runtimeConfigProperties = {
  mac: stringSchema,
  ips: stringListSchema,
  ipRanges: rangeSetsSchema,
  portMappings: { type: 'array', items: portMappingSchema },
  bandwidth: bandwidthSchema,
  deviceID: stringSchema,
  dns: runtimeDnsSchema,
  infinibandGUID: stringSchema,
  aliases: stringListSchema,
  cgroupPath: stringSchema,
} as const;

export const runtimeConfigSchema = { type: 'object', properties: runtimeConfigProperties } as const;

/** `args.cni.*` (the structured args convention) as the reference plugins read it. */
export const argsSchema = {
  type: 'object',
  properties: {
    cni: {
      type: 'object',
      properties: {
        ips: stringListSchema,
        mac: stringSchema,
        labels: {
          type: 'array',
          items: { type: 'object', properties: { key: stringSchema, value: stringSchema } },
        },
      },
    },
  },
} as const;

export const attachmentsSchema = {
  type: 'array',
  items: { type: 'object', properties: { containerID: stringSchema, ifname: stringSchema } },
} as const;

/**
 * The fields every plugin config may carry (types.NetConf plus the spec's reserved keys).
 * prevResult is only checked to be an object: the skel decodes it with the result rules.
 */
export const netConfProperties = {
  cniVersion: stringSchema,
  name: stringSchema,
  type: stringSchema,
  capabilities: { type: 'object', additionalProperties: booleanSchema },
  ipam: ipamSchema,
  dns: dnsSchema,
  // Only the shape is checked here: Go decodes just the runtimeConfig keys and args a plugin reads,
  // and runtimes send others in their own shapes (podman's `aliases` is a map, CONVENTIONS says a
  // list). The accessors in runtime-config.ts check the keys a plugin actually reads (code 7).
  runtimeConfig: { type: 'object' },
  args: { type: 'object' },
  prevResult: { type: 'object' },
  'cni.dev/valid-attachments': attachmentsSchema,
} as const;

/**
 * An IPAM plugin's whole stdin config: the NetConf fields, and an `ipam` object holding `type` and
 * the plugin's own keys (`ipamProperties`).
 */
export function ipamPluginConfigSchema<P extends Record<string, unknown>>(ipamProperties: P) {
  return {
    type: 'object',
    properties: {
      ...netConfProperties,
      ipam: { type: 'object', properties: { type: stringSchema, ...ipamProperties } },
    },
  } as const;
}
