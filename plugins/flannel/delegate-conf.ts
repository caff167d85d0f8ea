// The delegate config flannel hands to the real plugin (bridge unless told otherwise), built from
// the user's `delegate`/`ipam` maps and subnet.env exactly as the reference's Linux code does
// (REFERENCE-flannel.md §1 "Delegate built on Linux"). Pure, so unit tests cover every rule.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { isJsonObject, type JsonObject } from '../../shared/cni/fold.js';
import { formatCIDR, formatIP, parseCIDR, parseIP } from '../../shared/ip/index.js';
import type { SubnetEnv } from './subnet-env.js';

export interface DelegateInputs {
  name: string;
  cniVersion: string;
  /** The conf's `delegate` map (already checked: type is a string if present, no name, no ipam). */
  delegate?: JsonObject;
  /** The conf's `ipam` map: the base of the delegate's ipam. */
  ipam?: JsonObject;
  /** The conf's runtimeConfig: replaces the delegate's. */
  runtimeConfig?: JsonObject;
}

const routesError = (why: string): CniError =>
  new CniError(ErrorCode.InvalidNetworkConfig, `failed to read IPAM routes: failed to parse ipam.routes: ${why}`);

/** The route fields of types.Route, re-encoded as Go re-marshals them (unknown keys dropped). */
function reparseRoute(value: unknown, i: number): JsonObject {
  if (!isJsonObject(value)) throw routesError(`ipam.routes[${i}]: not an object`);
  const out: JsonObject = {};
  const dst = value['dst'];
  const net = typeof dst === 'string' ? parseCIDR(dst) : undefined;
  if (!net) throw routesError(`ipam.routes[${i}].dst: invalid CIDR address: ${String(dst)}`);
  out['dst'] = formatCIDR(net);
  if (value['gw'] !== undefined && value['gw'] !== null) {
    const gw = typeof value['gw'] === 'string' ? parseIP(value['gw']) : undefined;
    if (!gw) throw routesError(`ipam.routes[${i}].gw: invalid IP address: ${String(value['gw'])}`);
    out['gw'] = formatIP(gw);
  }
  // Integers of types.Route: mtu/advmss/priority are omitted when 0, table/scope when absent.
  for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope']) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw routesError(`ipam.routes[${i}].${key}: not an integer: ${JSON.stringify(v)}`);
    if (v === 0 && (key === 'mtu' || key === 'advmss' || key === 'priority')) continue;
    out[key] = v;
  }
  return out;
}

function buildIpam(base: JsonObject | undefined, env: SubnetEnv): JsonObject {
  const ipam: JsonObject = { ...(base ?? {}) };
  if (!Object.hasOwn(ipam, 'type')) ipam['type'] = 'host-local';
  const ranges: JsonObject[][] = [];
  if (env.subnet4 !== undefined) ranges.push([{ subnet: env.subnet4 }]);
  if (env.subnet6 !== undefined) ranges.push([{ subnet: env.subnet6 }]);
  ipam['ranges'] = ranges;
  const given = ipam['routes'];
  if (given !== undefined && given !== null && !Array.isArray(given)) throw routesError('ipam.routes: not a list');
  const routes: JsonObject[] = (Array.isArray(given) ? given : []).map(reparseRoute);
  for (const n of [...env.networks4, ...env.networks6]) routes.push({ dst: n });
  ipam['routes'] = routes;
  return ipam;
}

/** The delegate config; the caller serialises it (sorted keys, as Go marshals a map). */
export function buildDelegate(inp: DelegateInputs, env: SubnetEnv): JsonObject {
  const d: JsonObject = { ...(inp.delegate ?? {}) };
  if (inp.runtimeConfig !== undefined) d['runtimeConfig'] = inp.runtimeConfig;
  d['name'] = inp.name;
  if (!Object.hasOwn(d, 'type')) d['type'] = 'bridge';
  // If the agent does not masquerade, the delegate must.
  if (!Object.hasOwn(d, 'ipMasq')) d['ipMasq'] = !env.ipMasq;
  if (!Object.hasOwn(d, 'mtu')) d['mtu'] = env.mtu;
  if (d['type'] === 'bridge' && !Object.hasOwn(d, 'isGateway')) d['isGateway'] = true;
  if (inp.cniVersion !== '') d['cniVersion'] = inp.cniVersion;
  d['ipam'] = buildIpam(inp.ipam, env);
  return d;
}

/** Go's json.Marshal of a map[string]interface{}: keys sorted at every level, compact. */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (!isJsonObject(v)) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeysDeep(v[k]);
  return out;
}
