// The firewall plugin's configuration (REFERENCE §3.14): keys, defaults and their validation.
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { NetConf } from '../../shared/cni/types.js';
import * as v from '../../build/generated/validators/firewall.js';
import { DEFAULT_ADMIN_CHAIN, type IsolationPolicy } from './iptables-rules.js';

export type BackendName = 'iptables' | 'firewalld' | 'nftables';
export const BACKENDS: readonly BackendName[] = ['iptables', 'firewalld', 'nftables'];
export type IngressPolicy = 'open' | IsolationPolicy;

export interface FirewallNetConf extends NetConf {
  backend?: string;
  iptablesAdminChainName?: string;
  firewalldZone?: string;
  ingressPolicy?: string;
}

export interface FirewallConfig {
  readonly network: string;
  /** undefined: the reference's default (firewalld when it owns its bus name, else iptables). */
  readonly backend: BackendName | undefined;
  readonly adminChain: string;
  readonly zone: string;
  readonly ingressPolicy: IngressPolicy;
}

const invalid = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg);

// iptables keeps chain names in 29 bytes including the terminating NUL.
const MAX_CHAIN_NAME = 28;

function checkChainName(name: string): void {
  let why = '';
  if (Buffer.byteLength(name) > MAX_CHAIN_NAME) why = `is longer than ${MAX_CHAIN_NAME} bytes`;
  else if (/[\s"'\\]/.test(name)) why = 'contains whitespace, a quote or a backslash';
  else if (name.startsWith('-') || name.startsWith('!')) why = 'starts with - or !';
  else if (['ACCEPT', 'DROP', 'RETURN', 'QUEUE', 'FORWARD', 'INPUT', 'OUTPUT', 'CNI-FORWARD'].includes(name)) why = 'is a built-in or reserved name';
  if (why) throw invalid(`invalid iptablesAdminChainName ${JSON.stringify(name)}: chain name ${why}`);
}

/** Decodes and validates the config; every error is code 7 naming the key and value. */
export function loadConfig(stdinData: Buffer): FirewallConfig {
  const conf = parseConfig<FirewallNetConf>(stdinData, v);
  // "" (podman writes it) means the same as no key at all, as in the reference.
  const backend = conf.backend ?? '';
  if (backend !== '' && !(BACKENDS as readonly string[]).includes(backend)) {
    throw invalid(`invalid backend ${JSON.stringify(backend)}: must be "iptables", "firewalld", "nftables" or empty`);
  }
  const policy = conf.ingressPolicy ?? '';
  if (!['', 'open', 'same-bridge', 'isolated'].includes(policy)) {
    // The reference's wording (its fmt %q), as a config error.
    throw new CniError(ErrorCode.InvalidNetworkConfig, `unknown ingress policy: ${JSON.stringify(policy)}`, `ingressPolicy: ${JSON.stringify(policy)}`);
  }
  // A NUL cannot travel in a D-Bus string (the bus would drop the connection).
  if (conf.firewalldZone?.includes('\0')) throw invalid(`invalid firewalldZone ${JSON.stringify(conf.firewalldZone)}: contains a NUL character`);
  const adminChain = conf.iptablesAdminChainName || DEFAULT_ADMIN_CHAIN;
  checkChainName(adminChain);
  return {
    network: conf.name,
    backend: backend === '' ? undefined : (backend as BackendName),
    adminChain,
    zone: conf.firewalldZone || 'trusted',
    ingressPolicy: policy === '' ? 'open' : (policy as IngressPolicy),
  };
}
