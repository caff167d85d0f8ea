// DHCPv4 messages (RFC 2131 / RFC 2132): build the client's messages, parse the server's replies.
// Pure code (no I/O), unit-tested in test/unit/dhcp.
import { formatIP, ipFromBytes, ipToBytes, parseIP } from '../../shared/ip/index.js';
import { formatMac } from '../../shared/netlink/ipaddr.js';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const MAGIC_COOKIE = 0x63825363;
export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;
/** The BROADCAST bit of the flags field (RFC 2131 §2). */
export const FLAG_BROADCAST = 0x8000;

export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

export const MESSAGE_TYPE_NAMES: Record<number, string> = {
  1: 'DHCPDISCOVER', 2: 'DHCPOFFER', 3: 'DHCPREQUEST', 4: 'DHCPDECLINE', 5: 'DHCPACK', 6: 'DHCPNAK',
  7: 'DHCPRELEASE', 8: 'DHCPINFORM',
};

export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  HOST_NAME: 12,
  STATIC_ROUTE: 33,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS_ID: 60,
  CLIENT_ID: 61,
  USER_CLASS: 77,
  CLASSLESS_ROUTE: 121,
  END: 255,
} as const;

/** Option codes in the order they were added; a code appears once (a later set replaces). */
export type Options = Map<number, Buffer>;

export interface Packet {
  op: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Client hardware address (lowercase, colon separated; first hlen bytes of chaddr). */
  chaddr: string;
  options: Options;
}

/** The 4 wire bytes of an IPv4 address text. */
export function ipv4Bytes(text: string): Buffer {
  const ip = parseIP(text);
  if (ip?.family !== 4) throw new TypeError(`not an IPv4 address: ${text}`);
  return Buffer.from(ipToBytes(ip));
}

/** The IPv4 address in the 4 bytes at `off`, as text. */
export function bytesToIp(b: Uint8Array, off = 0): string {
  return formatIP(ipFromBytes(b.subarray(off, off + 4)));
}

export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new TypeError(`not a MAC address: ${mac}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function bytesToMac(b: Uint8Array, off = 0, len = 6): string {
  return formatMac(b.subarray(off, off + len));
}

/** Fixed BOOTP header is 236 bytes, then the 4-byte cookie. */
const HEADER_LEN = 236;
/** BOOTP's minimum message size: pad up to it (some relays/servers drop shorter ones). */
const MIN_LEN = 300;

export function encodePacket(p: Packet): Buffer {
  const chunks: Buffer[] = [];
  for (const [code, value] of p.options) {
    if (code === Opt.PAD || code === Opt.END) continue;
    // Values longer than 255 bytes are split into consecutive instances (RFC 3396).
    let rest = value;
    do {
      const part = rest.subarray(0, 255);
      chunks.push(Buffer.from([code, part.length]), part);
      rest = rest.subarray(part.length);
    } while (rest.length > 0);
  }
  chunks.push(Buffer.from([Opt.END]));
  const opts = Buffer.concat(chunks);
  const len = Math.max(MIN_LEN, HEADER_LEN + 4 + opts.length);
  const b = Buffer.alloc(len);
  b[0] = p.op;
  b[1] = 1; // htype: Ethernet
  b[2] = 6; // hlen
  b[3] = 0; // hops
  b.writeUInt32BE(p.xid >>> 0, 4);
  b.writeUInt16BE(p.secs, 8);
  b.writeUInt16BE(p.flags, 10);
  ipv4Bytes(p.ciaddr).copy(b, 12);
  ipv4Bytes(p.yiaddr).copy(b, 16);
  ipv4Bytes(p.siaddr).copy(b, 20);
  ipv4Bytes(p.giaddr).copy(b, 24);
  macToBytes(p.chaddr).copy(b, 28);
  b.writeUInt32BE(MAGIC_COOKIE, HEADER_LEN);
  opts.copy(b, HEADER_LEN + 4);
  return b;
}

/** Parses an options area into `into`; repeated codes are concatenated (RFC 3396). */
function parseOptionArea(buf: Buffer, into: Options): void {
  let i = 0;
  while (i < buf.length) {
    const code = buf[i]!;
    if (code === Opt.PAD) {
      i++;
      continue;
    }
    if (code === Opt.END) return;
    if (i + 1 >= buf.length) throw new Error('truncated DHCP option');
    const len = buf[i + 1]!;
    if (i + 2 + len > buf.length) throw new Error(`truncated DHCP option ${code}`);
    const value = buf.subarray(i + 2, i + 2 + len);
    const prev = into.get(code);
    into.set(code, prev ? Buffer.concat([prev, value]) : Buffer.from(value));
    i += 2 + len;
  }
}

/** Parses a BOOTP/DHCP message; throws on anything that is not one. */
export function decodePacket(b: Buffer): Packet {
  if (b.length < HEADER_LEN + 4) throw new Error(`DHCP message too short (${b.length} bytes)`);
  if (b.readUInt32BE(HEADER_LEN) !== MAGIC_COOKIE) throw new Error('no DHCP magic cookie');
  const hlen = Math.min(b[2]!, 16);
  const options: Options = new Map();
  parseOptionArea(b.subarray(HEADER_LEN + 4), options);
  // Option overload (52): 1 = file carries options, 2 = sname, 3 = both.
  const overload = options.get(Opt.OVERLOAD)?.[0] ?? 0;
  if (overload & 1) parseOptionArea(b.subarray(108, 236), options);
  if (overload & 2) parseOptionArea(b.subarray(44, 108), options);
  return {
    op: b[0]!,
    xid: b.readUInt32BE(4),
    secs: b.readUInt16BE(8),
    flags: b.readUInt16BE(10),
    ciaddr: bytesToIp(b, 12),
    yiaddr: bytesToIp(b, 16),
    siaddr: bytesToIp(b, 20),
    giaddr: bytesToIp(b, 24),
    chaddr: bytesToMac(b, 28, hlen),
    options,
  };
}

export function messageType(p: Packet): number {
  return p.options.get(Opt.MESSAGE_TYPE)?.[0] ?? 0;
}

export function optIp(p: Packet, code: number): string | undefined {
  const v = p.options.get(code);
  return v && v.length >= 4 ? bytesToIp(v) : undefined;
}

export function optU32(p: Packet, code: number): number | undefined {
  const v = p.options.get(code);
  return v && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

/** Option 61 as the reference sends it: type 0 followed by the client id text. */
export function clientIdOption(clientID: string): Buffer {
  return Buffer.concat([Buffer.from([0]), Buffer.from(clientID)]);
}

// ---------------------------------------------------------------------------------------------
// Link-level framing for the broadcast path (AF_PACKET, SOCK_RAW): Ethernet + IPv4 + UDP.

function ipChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function udpChecksum(src: Buffer, dst: Buffer, udp: Buffer): number {
  const pseudo = Buffer.alloc(12);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 4);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(udp.length, 10);
  const all = Buffer.concat([pseudo, udp, udp.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  const c = ipChecksum(all);
  return c === 0 ? 0xffff : c;
}

/** An Ethernet frame carrying `payload` from 0.0.0.0:68 to 255.255.255.255:67, broadcast. */
export function broadcastFrame(srcMac: string, payload: Buffer): Buffer {
  return udpFrame(srcMac, 'ff:ff:ff:ff:ff:ff', '0.0.0.0', '255.255.255.255', payload);
}

/**
 * An Ethernet frame carrying `payload` from srcIp:68 to dstIp:67. For unicast (RENEW, RELEASE) the
 * destination MAC is the L2 source of the server's last reply: the server itself, or the router
 * toward it when a relay answered. So no ARP, route or address in the container is needed.
 */
export function udpFrame(srcMac: string, dstMac: string, srcIp: string, dstIp: string, payload: Buffer): Buffer {
  const src = ipv4Bytes(srcIp);
  const dst = ipv4Bytes(dstIp);
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(CLIENT_PORT, 0);
  udp.writeUInt16BE(SERVER_PORT, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  udp.writeUInt16BE(udpChecksum(src, dst, udp), 6);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[1] = 0x10; // TOS: low delay, as common DHCP clients
  ip.writeUInt16BE(20 + udp.length, 2);
  ip[8] = 64; // TTL
  ip[9] = 17; // UDP
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(ipChecksum(ip), 10);
  const eth = Buffer.alloc(14);
  macToBytes(dstMac).copy(eth, 0);
  macToBytes(srcMac).copy(eth, 6);
  eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([eth, ip, udp]);
}

/**
 * The DHCP payload of a received Ethernet frame when it is IPv4/UDP to port 68 (unfragmented),
 * with the IP source; undefined otherwise.
 */
export function dhcpPayloadOfFrame(frame: Buffer): { payload: Buffer; srcIp: string; srcMac: string } | undefined {
  if (frame.length < 14 + 20 + 8) return undefined;
  if (frame.readUInt16BE(12) !== 0x0800) return undefined;
  const ip = 14;
  const ihl = (frame[ip]! & 0x0f) * 4;
  if (frame[ip]! >> 4 !== 4 || ihl < 20 || frame[ip + 9] !== 17) return undefined;
  if ((frame.readUInt16BE(ip + 6) & 0x3fff) !== 0) return undefined; // fragment
  const totalLen = frame.readUInt16BE(ip + 2);
  const udp = ip + ihl;
  if (frame.length < udp + 8) return undefined;
  if (frame.readUInt16BE(udp + 2) !== CLIENT_PORT) return undefined;
  const udpLen = frame.readUInt16BE(udp + 4);
  const end = Math.min(frame.length, ip + totalLen, udp + udpLen);
  return { payload: frame.subarray(udp + 8, end), srcIp: bytesToIp(frame, ip + 12), srcMac: bytesToMac(frame, 6) };
}
