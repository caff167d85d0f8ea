// tun/tap devices: created through /dev/net/tun ioctls (rtnetlink cannot create them), made
// persistent so they outlive our file descriptor. Acts in the calling thread's netns.
import fs from 'node:fs';
import { ioctl } from '../sys/libc.js';
import { checkIfName } from './link-build.js';

export interface TuntapOptions {
  name: string;
  mode: 'tun' | 'tap';
  /** IFF_MULTI_QUEUE. */
  multiQueue?: boolean;
  /** IFF_VNET_HDR: frames carry a virtio-net header. */
  vnetHdr?: boolean;
  /** IFF_NO_PI: no packet-information prefix (default true). */
  noPi?: boolean;
  /** Owner uid / group gid allowed to attach. */
  owner?: number;
  group?: number;
}

const IFF_TUN = 0x0001;
const IFF_TAP = 0x0002;
const IFF_MULTI_QUEUE = 0x0100;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;

// _IOW('T', nr, int)
const TUNSETIFF = 0x400454ca;
const TUNSETPERSIST = 0x400454cb;
const TUNSETOWNER = 0x400454cc;
const TUNSETGROUP = 0x400454ce;

const IFREQ_LEN = 40;

/** struct ifreq with a name and ifr_flags, as TUNSETIFF reads it. */
export function tunIfreq(o: TuntapOptions): Buffer {
  checkIfName(o.name);
  let flags = o.mode === 'tap' ? IFF_TAP : IFF_TUN;
  if (o.noPi ?? true) flags |= IFF_NO_PI;
  if (o.multiQueue) flags |= IFF_MULTI_QUEUE;
  if (o.vnetHdr) flags |= IFF_VNET_HDR;
  const req = Buffer.alloc(IFREQ_LEN);
  req.write(o.name, 0);
  req.writeUInt16LE(flags, 16);
  return req;
}

export function createTuntap(o: TuntapOptions): void {
  const req = tunIfreq(o);
  const fd = fs.openSync('/dev/net/tun', 'r+');
  try {
    ioctl(fd, TUNSETIFF, req, `tuntap add ${o.name}`);
    if (o.owner !== undefined) ioctl(fd, TUNSETOWNER, BigInt(o.owner), `tuntap ${o.name} set owner`);
    if (o.group !== undefined) ioctl(fd, TUNSETGROUP, BigInt(o.group), `tuntap ${o.name} set group`);
    ioctl(fd, TUNSETPERSIST, 1n, `tuntap ${o.name} set persist`);
  } finally {
    fs.closeSync(fd);
  }
}
