// Routes as the reference prints them: dst and gw go through Go's net types, so their text comes
// back canonical ("3ffe:ffff:0:01ff::1/64" -> "3ffe:ffff:0:1ff::1/64", host bits kept).
import type { Route } from '../cni/types.js';
import { formatCIDR, parseCIDR } from './cidr.js';
import { formatIP, parseIP } from './ip.js';

/** A route with canonical dst/gw, or an error text naming the bad field (field is e.g. "ipam.routes[0]"). */
export function canonicalRoute(route: Route, field: string): Route | string {
  // A route without dst (the schema lets it through) is the reference's ParseCIDR("") error.
  const dst = typeof route.dst === 'string' ? parseCIDR(route.dst) : undefined;
  if (!dst) return `${field}.dst: invalid CIDR address ${JSON.stringify(route.dst ?? '')}`;
  const out: Route = { ...route, dst: formatCIDR(dst) };
  if (route.gw !== undefined && route.gw !== '') {
    const gw = parseIP(route.gw);
    if (!gw) return `${field}.gw: invalid IP address ${JSON.stringify(route.gw)}`;
    out.gw = formatIP(gw);
  } else {
    delete out.gw;
  }
  return out;
}
