// What the node programs for every other node's lease (REFERENCE-flannel.md §2 "Per remote
// lease"), all on flannel.<VNI>: a permanent neighbour (the remote VTEP address -> its VTEP MAC),
// an FDB entry (that MAC -> the remote public IP) and a route to the remote subnet via its VTEP
// address, onlink. Reconcile removes entries of leases that are gone (after a restart, a missed
// event or a resync) and adds the missing ones.
import { isErrno, Netlink, NUD_PERMANENT } from '../../../shared/netlink/index.js';
import type { VxlanControl } from '../../../shared/netlink/vxlan.js';
import { errorText } from '../../../shared/sys/error-text.js';
import { type Subnet, subnetGatewayIP, subnetText } from './lease.js';

export interface Remote {
  subnet: Subnet;
  publicIP: string;
  vtepMAC: string;
}

export const sameRemote = (a: Remote, b: Remote): boolean =>
  a.subnet.base === b.subnet.base && a.subnet.len === b.subnet.len && a.publicIP === b.publicIP && a.vtepMAC === b.vtepMAC;

const routeOf = (r: Remote, ifindex: number) => ({ dst: subnetText(r.subnet), gw: subnetGatewayIP(r.subnet), ifindex, onlink: true });

/** Adds the three entries in flanneld's order; a failure undoes the earlier ones and is thrown. */
export function addRemote(nl: Netlink, vx: VxlanControl, ifindex: number, r: Remote): void {
  const vtep = subnetGatewayIP(r.subnet);
  nl.replaceNeighbor({ ifindex, ip: vtep, mac: r.vtepMAC, state: NUD_PERMANENT });
  try {
    vx.replaceFdb({ ifindex, mac: r.vtepMAC, dst: r.publicIP });
    try {
      nl.replaceRoute(routeOf(r, ifindex));
    } catch (err) {
      ignoreMissing(() => vx.deleteFdb({ ifindex, mac: r.vtepMAC, dst: r.publicIP }));
      throw err;
    }
  } catch (err) {
    ignoreMissing(() => nl.deleteNeighbor(ifindex, vtep));
    throw err;
  }
}

function ignoreMissing(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH') || isErrno(err, 'ENODEV')) return undefined;
    return errorText(err);
  }
}

/** Removes the three entries; entries already gone are fine, other failures are returned as text. */
export function removeRemote(nl: Netlink, vx: VxlanControl, ifindex: number, r: Remote): string[] {
  const errors = [
    ignoreMissing(() => nl.deleteNeighbor(ifindex, subnetGatewayIP(r.subnet))),
    ignoreMissing(() => vx.deleteFdb({ ifindex, mac: r.vtepMAC, dst: r.publicIP })),
    ignoreMissing(() => nl.deleteRoute({ dst: subnetText(r.subnet), gw: subnetGatewayIP(r.subnet), ifindex })),
  ];
  return errors.filter((e): e is string => e !== undefined);
}

/**
 * Makes the device hold exactly `desired`: stale routes, permanent neighbours and FDB entries on it
 * are deleted, missing ones added. Returns the failures as text (the caller logs them).
 */
export function reconcileRemotes(nl: Netlink, vx: VxlanControl, ifindex: number, desired: readonly Remote[]): string[] {
  const errors: string[] = [];
  const wantRoutes = new Set(desired.map((r) => `${subnetText(r.subnet)} ${subnetGatewayIP(r.subnet)}`));
  for (const rt of nl.listRoutes({ family: 4, ifindex })) {
    if (wantRoutes.has(`${rt.dst} ${rt.gw ?? ''}`)) continue;
    const e = ignoreMissing(() => nl.deleteRoute({ dst: rt.dst, ...(rt.gw !== undefined ? { gw: rt.gw } : {}), ifindex }));
    if (e) errors.push(e);
  }
  const wantNeigh = new Set(desired.map((r) => `${subnetGatewayIP(r.subnet)} ${r.vtepMAC}`));
  for (const n of nl.listNeighbors({ ifindex, family: 4 })) {
    if ((n.state & NUD_PERMANENT) === 0 || wantNeigh.has(`${n.ip} ${n.mac ?? ''}`)) continue;
    const e = ignoreMissing(() => nl.deleteNeighbor(ifindex, n.ip));
    if (e) errors.push(e);
  }
  const wantFdb = new Set(desired.map((r) => `${r.vtepMAC} ${r.publicIP}`));
  for (const f of vx.listFdb(ifindex)) {
    if (f.dst === undefined || (f.state & NUD_PERMANENT) === 0 || wantFdb.has(`${f.mac} ${f.dst}`)) continue;
    const dst = f.dst;
    const e = ignoreMissing(() => vx.deleteFdb({ ifindex, mac: f.mac, dst }));
    if (e) errors.push(e);
  }
  for (const r of desired) {
    try {
      addRemote(nl, vx, ifindex, r);
    } catch (err) {
      errors.push(`${subnetText(r.subnet)} at ${r.publicIP}: ${errorText(err)}`);
    }
  }
  return errors;
}
