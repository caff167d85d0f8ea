// static's configuration, with the reference's precedence:
//   ipam.addresses, plus CNI_ARGS IP= (comma separated CIDRs) appended, each CNI_ARGS GATEWAY=
//   attached to the CNI_ARGS addresses whose subnet contains it; then args.cni.ips replaces all of
//   that, and runtimeConfig.ips (highest) replaces it again. Replacing lists carry no gateways.
import { parseCniArgs } from '../../shared/cni/args.js';
import { argsCniIPs, runtimeIPs } from '../../shared/cni/runtime-config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { DNS, IPConfig, Route } from '../../shared/cni/types.js';
import { versionAtLeast } from '../../shared/cni/versions.js';
import { type IP, type IPNet, containsIP, formatCIDR, formatIP, parseCIDR, parseIP } from '../../shared/ip/index.js';
import { canonicalRoute } from '../../shared/ip/route.js';

export interface StaticNetConf {
  cniVersion?: string;
  name: string;
  ipam?: {
    type?: string;
    routes?: Route[];
    addresses?: { address?: string; gateway?: string }[];
    dns?: DNS;
  };
  runtimeConfig?: { ips?: string[] };
  args?: { cni?: { ips?: string[] } };
}

export interface StaticAddress {
  net: IPNet;
  gateway?: IP;
}

export interface StaticConfig {
  cniVersion: string;
  addresses: StaticAddress[];
  routes: Route[] | undefined;
  dns: DNS | undefined;
}

const invalid = (msg: string, details = ''): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg, details);

function cidrOr(text: string, fail: () => CniError): IPNet {
  const net = parseCIDR(text);
  if (!net) throw fail();
  return net;
}

function fromIPsList(list: readonly string[], field: string): StaticAddress[] {
  return list.map((s) => ({
    net: cidrOr(s, () => invalid(`an entry in the 'ips' field is NOT in CIDR notation, got: '${s}'`, `in ${field}`)),
  }));
}

export function loadStaticConfig(conf: StaticNetConf, cniArgs: string): StaticConfig {
  const ipam = conf.ipam;
  if (!ipam) throw invalid("IPAM config missing 'ipam' key");
  const cniVersion = conf.cniVersion ?? '';

  let addresses: StaticAddress[] = (ipam.addresses ?? []).map((a, i) => {
    const text = a.address ?? '';
    const net = cidrOr(text, () =>
      invalid(`the 'address' field is expected to be in CIDR notation, got: '${text}'`, `in ipam.addresses[${i}]`),
    );
    const out: StaticAddress = { net };
    if (a.gateway !== undefined && a.gateway !== '') {
      const gw = parseIP(a.gateway);
      if (!gw) throw invalid(`ipam.addresses[${i}].gateway: invalid IP address ${JSON.stringify(a.gateway)}`);
      out.gateway = gw;
    }
    return out;
  });

  const env = parseCniArgs(cniArgs, ['IP', 'GATEWAY'] as const);
  if (env.IP) {
    const fromEnv: StaticAddress[] = env.IP.split(',').map((item) => {
      const s = item.trim();
      return { net: cidrOr(s, () => invalid(`the 'ip' field is expected to be in CIDR notation, got: '${s}'`)) };
    });
    if (env.GATEWAY) {
      for (const item of env.GATEWAY.split(',')) {
        const gw = parseIP(item.trim());
        if (!gw) throw invalid(`invalid gateway address: ${item}`);
        for (const a of fromEnv) if (containsIP(a.net, gw)) a.gateway = gw;
      }
    }
    addresses = [...addresses, ...fromEnv];
  } else if (env.GATEWAY) {
    // Still validated, as the reference does, even with no CNI_ARGS address to attach it to.
    for (const item of env.GATEWAY.split(',')) {
      if (!parseIP(item.trim())) throw invalid(`invalid gateway address: ${item}`);
    }
  }
  // Checked accessors: a non-list here is code 7 naming the field, not a crash.
  const argIPs = argsCniIPs(conf) ?? [];
  if (argIPs.length > 0) addresses = fromIPsList(argIPs, 'args.cni.ips');
  const rtIPs = runtimeIPs(conf) ?? [];
  if (rtIPs.length > 0) addresses = fromIPsList(rtIPs, 'runtimeConfig.ips');

  const v4 = addresses.filter((a) => a.net.ip.family === 4).length;
  const v6 = addresses.length - v4;
  if ((v4 > 1 || v6 > 1) && !atLeast(cniVersion, '0.3.0')) {
    throw invalid(`CNI version ${cniVersion} does not support more than 1 address per family`);
  }

  const routes = ipam.routes?.map((r, i) => {
    const out = canonicalRoute(r, `ipam.routes[${i}]`);
    if (typeof out === 'string') throw invalid(out);
    return out;
  });
  return { cniVersion, addresses, routes, dns: ipam.dns };
}

export function toIPConfig(a: StaticAddress): IPConfig {
  const out: IPConfig = { address: formatCIDR(a.net) };
  if (a.gateway) out.gateway = formatIP(a.gateway);
  return out;
}

function atLeast(version: string, min: string): boolean {
  try {
    return version !== '' && versionAtLeast(version, min);
  } catch {
    return false;
  }
}
