// Pure parts of the dhcp plugin: DHCP message codec, framing, result building, options, flags, backoff.
import { describe, expect, it } from 'vitest';
import { clientIdFor, lenientArgs, parseOptionName, prepareOptions } from '../../../ipam/dhcp/config.js';
import { buildRequest } from '../../../ipam/dhcp/exchange.js';
import { parseDaemonFlags, parseDuration } from '../../../ipam/dhcp/flags.js';
import { Backoff } from '../../../ipam/dhcp/leases.js';
import {
  broadcastFrame, decodePacket, dhcpPayloadOfFrame, encodePacket, FLAG_BROADCAST, MessageType, messageType, Opt,
  type Packet, udpFrame,
} from '../../../ipam/dhcp/packet.js';
import { classlessRoutes, leaseResult, leaseTimes, maskToPrefix, staticRoutes } from '../../../ipam/dhcp/result.js';

const ID = { netns: '/run/netns/x', ifName: 'eth0', clientID: 'cid/net/eth0', requested: [3, 1], provided: [] as Array<[number, Buffer]>, broadcast: false };
const MAC = '02:00:00:00:00:01';

function ack(opts: Array<[number, number[]]>, yiaddr = '10.79.1.50'): Packet {
  return {
    op: 2, xid: 7, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr, siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: MAC,
    options: new Map(opts.map(([c, v]) => [c, Buffer.from(v)])),
  };
}

describe('DHCP messages', () => {
  it('a DISCOVER round-trips with client id (type 0), request list and padding to 300 bytes', () => {
    const p = buildRequest({ id: ID, mac: MAC, xid: 0xdeadbeef, type: MessageType.DISCOVER });
    const b = encodePacket(p);
    expect(b.length).toBe(300);
    const back = decodePacket(b);
    expect(back.xid).toBe(0xdeadbeef);
    expect(back.chaddr).toBe(MAC);
    expect(messageType(back)).toBe(MessageType.DISCOVER);
    expect(back.options.get(Opt.CLIENT_ID)).toEqual(Buffer.from('\0cid/net/eth0'));
    expect([...back.options.get(Opt.PARAMETER_REQUEST_LIST)!]).toEqual([3, 1]);
    expect(back.flags).toBe(0);
  });

  it('-broadcast sets the BROADCAST flag only while the client has no address', () => {
    const id = { ...ID, broadcast: true };
    expect(buildRequest({ id, mac: MAC, xid: 1, type: MessageType.DISCOVER }).flags).toBe(FLAG_BROADCAST);
    expect(buildRequest({ id, mac: MAC, xid: 1, type: MessageType.REQUEST, ciaddr: '10.0.0.2' }).flags).toBe(0);
  });

  it('SELECTING REQUEST carries requested IP and server id; provided options are sent', () => {
    const id = { ...ID, provided: [[12, Buffer.from('host')]] as Array<[number, Buffer]> };
    const p = decodePacket(encodePacket(buildRequest({ id, mac: MAC, xid: 1, type: 3, requestedIp: '10.0.0.9', serverId: '10.0.0.1' })));
    expect([...p.options.get(Opt.REQUESTED_IP)!]).toEqual([10, 0, 0, 9]);
    expect([...p.options.get(Opt.SERVER_ID)!]).toEqual([10, 0, 0, 1]);
    expect(p.options.get(12)?.toString()).toBe('host');
  });

  it('repeated options are concatenated and overloaded file/sname areas are parsed', () => {
    const b = encodePacket(ack([[Opt.MESSAGE_TYPE, [5]], [Opt.OVERLOAD, [1]]]));
    // put option 1 (mask) in the file area (offset 108)
    Buffer.from([1, 4, 255, 255, 255, 0, 255]).copy(b, 108);
    expect([...decodePacket(b).options.get(Opt.SUBNET_MASK)!]).toEqual([255, 255, 255, 0]);
    expect(() => decodePacket(Buffer.alloc(100))).toThrow(/too short/);
  });

  it('frames: broadcast from 0.0.0.0:68, unicast to the next hop, and parsing of a reply frame', () => {
    const payload = encodePacket(buildRequest({ id: ID, mac: MAC, xid: 5, type: 1 }));
    const f = broadcastFrame(MAC, payload);
    expect(f.subarray(0, 6)).toEqual(Buffer.alloc(6, 0xff));
    expect(f.readUInt16BE(12)).toBe(0x0800);
    // IP header checksum verifies to 0
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += f.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff);
    const u = udpFrame(MAC, '02:00:00:00:00:02', '10.0.0.2', '10.0.0.1', payload);
    expect(u.subarray(0, 6)).toEqual(Buffer.from([2, 0, 0, 0, 0, 2]));
    // a reply to port 68 is recognised, a frame to port 67 is not
    const reply = Buffer.from(u);
    reply.writeUInt16BE(67, 34);
    reply.writeUInt16BE(68, 36);
    expect(dhcpPayloadOfFrame(reply)?.payload).toEqual(payload);
    expect(dhcpPayloadOfFrame(reply)?.srcMac).toBe(MAC);
    expect(dhcpPayloadOfFrame(u)).toBeUndefined();
  });
});

describe('lease result', () => {
  it('address from yiaddr/mask, gateway from routers, default route', () => {
    expect(leaseResult(ack([[1, [255, 255, 255, 0]], [3, [10, 79, 1, 1]]]))).toEqual({
      address: '10.79.1.50/24', gateway: '10.79.1.1', routes: [{ dst: '0.0.0.0/0', gw: '10.79.1.1' }],
    });
  });
  it('no subnet mask is the reference error', () => {
    expect(() => leaseResult(ack([[3, [10, 0, 0, 1]]]))).toThrow('DHCP option Subnet Mask not found in DHCPACK');
  });
  it('option 121 wins over 33 and the router; 0.0.0.0 gw means on-link; priority on every route', () => {
    const r = leaseResult(
      ack([[1, [255, 255, 0, 0]], [3, [10, 0, 0, 1]], [33, [10, 0, 0, 0, 10, 0, 0, 254]], [121, [24, 192, 168, 5, 10, 0, 0, 1, 0, 0, 0, 0, 0]]]),
      7,
    );
    expect(r.routes).toEqual([
      { dst: '192.168.5.0/24', gw: '10.0.0.1', priority: 7 },
      { dst: '0.0.0.0/0', scope: 253, priority: 7 },
    ]);
  });
  it('option 33 routes are classful, then the default route', () => {
    expect(staticRoutes(Buffer.from([172, 16, 0, 0, 10, 0, 0, 9, 192, 168, 1, 0, 10, 0, 0, 9]))).toEqual([
      { dst: '172.16.0.0/16', gw: '10.0.0.9' },
      { dst: '192.168.1.0/24', gw: '10.0.0.9' },
    ]);
  });
  it('malformed 121 is dropped as a whole', () => {
    expect(classlessRoutes(Buffer.from([33, 1, 2, 3, 4, 5, 6, 7, 8]))).toBeUndefined();
    expect(classlessRoutes(Buffer.from([24, 1, 2, 3, 4, 5]))).toBeUndefined();
  });
  it('masks and lease times', () => {
    expect(maskToPrefix(Buffer.from([255, 255, 255, 0]))).toBe(24);
    expect(maskToPrefix(Buffer.from([0, 0, 0, 0]))).toBe(0);
    expect(maskToPrefix(Buffer.from([255, 255, 255, 255]))).toBe(32);
    expect(maskToPrefix(Buffer.from([255, 0, 255, 0]))).toBeUndefined();
    expect(leaseTimes(ack([[51, [0, 0, 0, 120]]]))).toEqual({ lease: 120, t1: 60, t2: 102 });
    expect(leaseTimes(ack([]))).toEqual({ lease: 3600, t1: 1800, t2: 3060 });
    expect(leaseTimes(ack([[51, [0, 0, 0, 100]], [58, [0, 0, 0, 90]], [59, [0, 0, 0, 80]]]))).toEqual({ lease: 100, t1: 50, t2: 80 });
  });
});

describe('options and client id', () => {
  it('defaults are routers and subnet-mask; skipDefault drops them', () => {
    expect(prepareOptions('', {}).requested).toEqual([3, 1]);
    expect(prepareOptions('', { request: [{ option: '121' }] }).requested).toEqual([121, 3, 1]);
    expect(prepareOptions('', { request: [{ option: 'host-name', skipDefault: true }] }).requested).toEqual([12]);
  });
  it('provide: value, and fromArg (lenient CNI_ARGS) wins', () => {
    const p = prepareOptions('IgnoreUnknown=1;POD=a=b;junk', {
      provide: [{ option: 'host-name', value: 'v', fromArg: 'POD' }, { option: '60', value: 'x' }],
    });
    expect(p.provided.map(([c, b]) => [c, b.toString()])).toEqual([[12, 'a=b'], [60, 'x']]);
    expect(lenientArgs('A=1;B').get('A')).toBe('1');
  });
  it('bad option names and long values are config errors', () => {
    expect(() => parseOptionName('nope')).toThrow(/Can not parse option "nope"/);
    expect(() => parseOptionName('256')).toThrow();
    expect(() => prepareOptions('', { provide: [{ option: '12', value: 'x'.repeat(256) }] })).toThrow(/value too long/);
  });
  it('client id is <cid>/<net>/<if>, at most 254 bytes', () => {
    expect(clientIdFor('c', 'n', 'eth0')).toBe('c/n/eth0');
    expect(Buffer.byteLength(clientIdFor('x'.repeat(300), 'n', 'eth0'))).toBe(254);
  });
});

describe('daemon flags and backoff', () => {
  it('Go flag syntax and durations', () => {
    const f = parseDaemonFlags(['-socketpath', '/x.sock', '--timeout=2s', '-broadcast', '-resendmax', '1m2s', '-test-lease-scale=0.1']);
    expect(f).toMatchObject({ socketPath: '/x.sock', timeoutMs: 2000, broadcast: true, resendMaxMs: 62_000, leaseTimeScale: 0.1 });
    expect(parseDaemonFlags([]).socketPath).toBe('/run/cni/dhcp.sock');
    expect(parseDaemonFlags(['-broadcast=false']).broadcast).toBe(false);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDaemonFlags(['-nope'])).toThrow('flag provided but not defined: -nope');
    expect(() => parseDaemonFlags(['-timeout', '10'])).toThrow(/invalid value "10"/);
  });
  it('backoff: 4 quick retries around 2 s, then 4 s doubling up to the cap, then stop', () => {
    const b = new Backoff(16_000);
    const d: number[] = [];
    for (let x = b.next(); x !== undefined; x = b.next()) d.push(Math.round(x / 1000));
    expect(d.length).toBe(4 + 3);
    for (const x of d.slice(0, 4)) expect(x).toBeGreaterThanOrEqual(1);
    for (const x of d.slice(0, 4)) expect(x).toBeLessThanOrEqual(3);
    expect(d[6]).toBeGreaterThanOrEqual(15);
  });
});
