// The CNI result of a lease, built from the server's DHCPACK as the reference builds it:
// address = yiaddr / subnet mask, gateway = first router, routes = option 121 alone when present,
// else option 33 (classful destinations) plus a default route via the router.
import type { Route } from '../../shared/cni/types.js';
import { bytesToIp, Opt, optIp, type Packet } from './packet.js';

export interface LeaseResult {
  address: string;
  gateway?: string;
  routes: Route[];
}

const RT_SCOPE_LINK = 253;

export function maskToPrefix(mask: Buffer): number | undefined {
  if (mask.length !== 4) return undefined;
  const n = mask.readUInt32BE(0);
  const ones = Math.clz32(~n);
  // A valid mask is ones then zeros.
  const rebuilt = ones === 0 ? 0 : (0xffffffff << (32 - ones)) >>> 0;
  return rebuilt === n ? ones : undefined;
}

/** Classful default mask of an IPv4 destination (Go's net.IP.DefaultMask). */
function classfulPrefix(firstOctet: number): number {
  if (firstOctet < 0x80) return 8;
  if (firstOctet < 0xc0) return 16;
  return 24;
}

export function staticRoutes(opt: Buffer | undefined): Route[] {
  const routes: Route[] = [];
  if (!opt) return routes;
  for (let i = 0; i + 8 <= opt.length; i += 8) {
    routes.push({ dst: `${bytesToIp(opt, i)}/${classfulPrefix(opt[i]!)}`, gw: bytesToIp(opt, i + 4) });
  }
  return routes;
}

/** RFC 3442 classless routes; undefined when the option is malformed (the reference drops them all). */
export function classlessRoutes(opt: Buffer | undefined): Route[] | undefined {
  const routes: Route[] = [];
  if (!opt) return routes;
  let i = 0;
  while (opt.length - i >= 5) {
    const width = opt[i]!;
    if (width > 32) return undefined;
    const octets = width > 0 ? ((width - 1) >> 3) + 1 : 0;
    if (opt.length - i < 1 + octets + 4) return undefined;
    const dst = Buffer.alloc(4);
    opt.copy(dst, 0, i + 1, i + 1 + octets);
    const gw = bytesToIp(opt, i + 1 + octets);
    routes.push(gw === '0.0.0.0' ? { dst: `${bytesToIp(dst)}/${width}`, scope: RT_SCOPE_LINK } : { dst: `${bytesToIp(dst)}/${width}`, gw });
    i += 1 + octets + 4;
  }
  return routes;
}

export class LeaseResultError extends Error {}

export function leaseResult(ack: Packet, priority?: number): LeaseResult {
  const mask = ack.options.get(Opt.SUBNET_MASK);
  const prefix = mask ? maskToPrefix(mask) : undefined;
  if (prefix === undefined) throw new LeaseResultError('DHCP option Subnet Mask not found in DHCPACK');
  const gateway = optIp(ack, Opt.ROUTER);
  let routes: Route[];
  const cl = classlessRoutes(ack.options.get(Opt.CLASSLESS_ROUTE));
  if (cl && cl.length > 0) {
    routes = cl;
  } else {
    routes = staticRoutes(ack.options.get(Opt.STATIC_ROUTE));
    if (gateway) routes.push({ dst: '0.0.0.0/0', gw: gateway });
  }
  if (priority) routes = routes.map((r) => ({ ...r, priority }));
  return { address: `${ack.yiaddr}/${prefix}`, ...(gateway ? { gateway } : {}), routes };
}

/** Lease timers from the ACK (seconds): T1/T2 defaults of RFC 2131 §4.4.5, lease default 1 h. */
export function leaseTimes(ack: Packet): { lease: number; t1: number; t2: number } {
  const v = (code: number): number | undefined => {
    const b = ack.options.get(code);
    return b && b.length === 4 ? b.readUInt32BE(0) : undefined;
  };
  const lease = v(Opt.LEASE_TIME) ?? 3600;
  let t2 = v(Opt.REBINDING_TIME);
  if (t2 === undefined || t2 > lease) t2 = Math.floor((lease * 85) / 100);
  let t1 = v(Opt.RENEWAL_TIME);
  if (t1 === undefined || t1 > t2) t1 = Math.floor(lease / 2);
  return { lease, t1, t2 };
}
