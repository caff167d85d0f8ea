// portmap's configuration: decoding (Go semantics, via the generated validator), the reference's
// defaults and validation messages, the backend choice, and which container addresses to forward to.
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode, invalidConfig } from '../../shared/cni/errors.js';
import type { Result } from '../../shared/cni/types.js';
import { checkMasqBackendUsable } from '../../shared/firewall/backend.js';
import { type IPNet, parseCIDR, parseIP } from '../../shared/ip/index.js';
import * as v from '../../build/generated/validators/portmap.js';

export type Backend = 'iptables' | 'nftables';
const BACKENDS: readonly Backend[] = ['iptables', 'nftables'];
export type Protocol = 'tcp' | 'udp' | 'sctp';
const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** The default mark bit of the hairpin/localhost masquerade mark (Kubernetes uses 14 and 15). */
export const DEFAULT_MARK_BIT = 13;

export interface PortMapping {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: Protocol;
  /** As written ('' when absent); '0.0.0.0' / '::' mean "every address of that family". */
  readonly hostIP: string;
}

/** The decoded config, before defaults (what Go's json.Unmarshal leaves in PortMapConf). */
interface RawConf {
  cniVersion?: string;
  name: string;
  backend?: string;
  snat?: boolean;
  masqAll?: boolean;
  markMasqBit?: number;
  externalSetMarkChain?: string;
  conditionsV4?: string[];
  conditionsV6?: string[];
  runtimeConfig?: { portMappings?: Array<{ hostPort?: number; containerPort?: number; protocol?: string; hostIP?: string }> };
}

export interface PortmapConf {
  readonly name: string;
  /** The configured backend; undefined = the reference's default (resolveBackend). */
  readonly backend: Backend | undefined;
  readonly snat: boolean;
  readonly masqAll: boolean;
  readonly markMasqBit: number;
  readonly externalSetMarkChain: string | undefined;
  readonly conditionsV4: readonly string[] | undefined;
  readonly conditionsV6: readonly string[] | undefined;
  readonly mappings: readonly PortMapping[];
}

const MAX_PORT = 65535;

function checkMappings(raw: RawConf): PortMapping[] {
  const list = raw.runtimeConfig?.portMappings ?? [];
  return list.map((pm, i) => {
    const at = `runtimeConfig.portMappings[${i}]`;
    const containerPort = pm.containerPort ?? 0;
    const hostPort = pm.hostPort ?? 0;
    // The reference's messages and order; it checks only "> 0", we also refuse what no port can be.
    if (containerPort <= 0 || containerPort > MAX_PORT) {
      throw invalidConfig(`Invalid container port number: ${containerPort}`, `${at}.containerPort: ${containerPort}`);
    }
    if (hostPort <= 0 || hostPort > MAX_PORT) {
      throw invalidConfig(`Invalid host port number: ${hostPort}`, `${at}.hostPort: ${hostPort}`);
    }
    // The reference passes the protocol to iptables/nft unchecked (and fails there); we name it here.
    const protocol = (pm.protocol ?? '').toLowerCase();
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
      throw invalidConfig(
        `Invalid protocol ${JSON.stringify(pm.protocol ?? '')}: must be "tcp", "udp" or "sctp"`,
        `${at}.protocol: ${JSON.stringify(pm.protocol ?? '')}`,
      );
    }
    const hostIP = pm.hostIP ?? '';
    if (hostIP !== '' && !parseIP(hostIP)) {
      throw invalidConfig(`Invalid host IP ${JSON.stringify(hostIP)}`, `${at}.hostIP: ${JSON.stringify(hostIP)}`);
    }
    return { hostPort, containerPort, protocol: protocol as Protocol, hostIP };
  });
}

/**
 * The reference's detectBackendOfConditions: empty -> none; a first token starting with '-' is an
 * iptables match ("-d", "--sport", "-m"), anything else an nftables expression.
 */
export function backendOfConditions(conditions: readonly string[] | undefined): Backend | undefined {
  const first = conditions?.[0];
  if (first === undefined || first === '') return undefined;
  return first.startsWith('-') ? 'iptables' : 'nftables';
}

/** Keys that only one backend understands, in the reference's order. */
function backendSpecificKeys(conf: PortmapConf): Record<Backend, string[]> {
  const keys: Record<Backend, string[]> = { iptables: [], nftables: [] };
  if (conf.externalSetMarkChain !== undefined) keys.iptables.push('externalSetMarkChain');
  const b4 = backendOfConditions(conf.conditionsV4);
  if (b4) keys[b4].push('conditionsV4');
  const b6 = backendOfConditions(conf.conditionsV6);
  if (b6) keys[b6].push('conditionsV6');
  return keys;
}

/** The reference's "wrong backend" check, once the backend is known. */
export function checkBackendOptions(conf: PortmapConf, backend: Backend): void {
  const wrong: Backend = backend === 'iptables' ? 'nftables' : 'iptables';
  const keys = backendSpecificKeys(conf)[wrong];
  if (keys.length > 0) {
    throw invalidConfig(
      `${backend} backend was requested but configuration contains ${wrong}-specific options [${keys.join(' ')}]`,
      conf.backend === undefined ? `backend: not set, ${backend} chosen as the default` : `backend: ${JSON.stringify(backend)}`,
    );
  }
}

// nft conditions are spliced into the nft script as text (as the reference does): a line break or
// ';' would start another command of the transaction, and '#' would comment out the rest of the rule.
function checkNftConditions(key: string, conditions: readonly string[] | undefined): void {
  conditions?.forEach((c, i) => {
    if (/[\n\r;#]/.test(c)) throw invalidConfig(`invalid ${key}: nftables conditions cannot contain a line break, ';' or '#'`, `${key}[${i}]: ${JSON.stringify(c)}`);
  });
}

// iptables-restore reads one command per line, quotes or not: a line break in a token would end the
// rule there and run the rest as another command of the transaction.
function checkIptablesConditions(key: string, conditions: readonly string[] | undefined): void {
  conditions?.forEach((c, i) => {
    if (/[\n\r\0]/.test(c)) throw invalidConfig(`invalid ${key}: iptables conditions cannot contain a line break or a NUL`, `${key}[${i}]: ${JSON.stringify(c)}`);
  });
}

// iptables keeps chain names in 29 bytes including the NUL; the name is written as a bare `-j` target.
const MAX_CHAIN_NAME = 28;

function checkSetMarkChain(name: string): void {
  let why = '';
  if (name === '') why = 'is empty';
  else if (Buffer.byteLength(name) > MAX_CHAIN_NAME) why = `is longer than ${MAX_CHAIN_NAME} bytes`;
  else if (/[\s"'\\\0]/.test(name)) why = 'contains whitespace, a quote, a backslash or a NUL';
  else if (name.startsWith('-') || name.startsWith('!')) why = 'starts with - or !';
  if (why) throw invalidConfig(`invalid externalSetMarkChain: chain name ${why}`, `externalSetMarkChain: ${JSON.stringify(name)}`);
}

/** Decodes and validates stdin. Never runs a tool: the default backend is chosen by resolveBackend. */
export function loadConf(stdinData: Buffer | string): PortmapConf {
  const raw = parseConfig<RawConf>(stdinData, v);
  if (raw.markMasqBit !== undefined && raw.externalSetMarkChain !== undefined) {
    throw invalidConfig(
      'Cannot specify externalSetMarkChain and markMasqBit',
      `externalSetMarkChain: ${JSON.stringify(raw.externalSetMarkChain)}, markMasqBit: ${raw.markMasqBit}`,
    );
  }
  const markMasqBit = raw.markMasqBit ?? DEFAULT_MARK_BIT;
  if (markMasqBit < 0 || markMasqBit > 31) {
    throw invalidConfig('MasqMarkBit must be between 0 and 31', `markMasqBit: ${markMasqBit}`);
  }
  let backend: Backend | undefined;
  if (raw.backend !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(raw.backend)) {
      throw invalidConfig(`unrecognized backend ${JSON.stringify(raw.backend)}`, 'backend: must be "iptables" or "nftables"');
    }
    backend = raw.backend as Backend;
  }
  const conf: PortmapConf = {
    name: raw.name,
    backend,
    snat: raw.snat ?? true,
    masqAll: raw.masqAll ?? false,
    markMasqBit,
    externalSetMarkChain: raw.externalSetMarkChain,
    conditionsV4: raw.conditionsV4,
    conditionsV6: raw.conditionsV6,
    mappings: checkMappings(raw),
  };
  if (backend) checkBackendOptions(conf, backend);
  if (conf.externalSetMarkChain !== undefined) checkSetMarkChain(conf.externalSetMarkChain);
  if (backendOfConditions(conf.conditionsV4) === 'iptables') checkIptablesConditions('conditionsV4', conf.conditionsV4);
  if (backendOfConditions(conf.conditionsV6) === 'iptables') checkIptablesConditions('conditionsV6', conf.conditionsV6);
  if (backendOfConditions(conf.conditionsV4) === 'nftables') checkNftConditions('conditionsV4', conf.conditionsV4);
  if (backendOfConditions(conf.conditionsV6) === 'nftables') checkNftConditions('conditionsV6', conf.conditionsV6);
  return conf;
}

/**
 * The backend this call uses: the configured one, else the reference's default (iptables, unless
 * iptables does not work and nftables does), checked against the backend-specific keys.
 */
export async function resolveBackend(conf: PortmapConf): Promise<Backend> {
  let backend = conf.backend;
  if (backend === undefined) {
    const iptablesOk = (await checkMasqBackendUsable('iptables')).ok;
    backend = !iptablesOk && (await checkMasqBackendUsable('nftables')).ok ? 'nftables' : 'iptables';
  }
  checkBackendOptions(conf, backend);
  return backend;
}

export interface ContainerIPs {
  v4?: IPNet;
  v6?: IPNet;
}

/**
 * The reference's choice of addresses to forward to: the first IPv4 and the first IPv6 of prevResult
 * that belong to `<if>` in a sandbox, or that name no (valid) interface at all.
 */
export function containerIPs(prev: Result, ifName: string): ContainerIPs {
  const out: ContainerIPs = {};
  const interfaces = prev.interfaces ?? [];
  for (const ipc of prev.ips ?? []) {
    const net = parseCIDR(ipc.address);
    if (!net) continue;
    const key = net.ip.family === 4 ? 'v4' : 'v6';
    if (out[key]) continue;
    const idx = ipc.interface;
    if (idx !== undefined && idx >= 0 && idx < interfaces.length) {
      const intf = interfaces[idx]!;
      if (intf.name !== ifName || !intf.sandbox) continue;
    }
    out[key] = net;
  }
  return out;
}

/** ADD's prevResult, required as in the reference (which words it so, with no code of its own). */
export function requireChained(prev: Result | undefined): Result {
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'must be called as chained plugin', 'prevResult: missing');
  return prev;
}
