import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, messageLength, MessageType } from '../../../shared/dbus/wire.js';
import { socketPathOf, systemBusAddress } from '../../../shared/dbus/connection.js';

describe('D-Bus wire format', () => {
  it('encodes a method call byte for byte (header fields aligned to 8, strings NUL-terminated)', () => {
    const bytes = encodeMessage(
      { type: MessageType.MethodCall, flags: 0, destination: 'org.fedoraproject.FirewallD1', path: '/org/fedoraproject/FirewallD1', interface: 'org.fedoraproject.FirewallD1.zone', member: 'addSource', signature: 'ss', body: ['trusted', '10.1.2.3/32'] },
      7,
    );
    expect(bytes.subarray(0, 12)).toEqual(Buffer.from([0x6c, 1, 0, 1, 28, 0, 0, 0, 7, 0, 0, 0]));
    // body: "trusted" (4-byte length, 7 bytes, NUL), then "10.1.2.3/32" (already 4-aligned)
    const body = bytes.subarray(bytes.length - 28);
    expect(body).toEqual(Buffer.concat([Buffer.from([7, 0, 0, 0]), Buffer.from('trusted\0'), Buffer.from([11, 0, 0, 0]), Buffer.from('10.1.2.3/32\0')]));
    expect(messageLength(bytes)).toBe(bytes.length);
    expect((bytes.length - 28) % 8).toBe(0);
  });

  it('round-trips every supported type and every header field', () => {
    const msg = { type: MessageType.MethodReturn, flags: 1, replySerial: 42, destination: ':1.5', sender: ':1.9', signature: 'sbuiyog', body: ['zone', true, 4000000000, -5, 200, '/a/b', 'ss'] };
    const decoded = decodeMessage(encodeMessage(msg, 9));
    expect(decoded).toMatchObject({ ...msg, serial: 9 });
    const err = decodeMessage(encodeMessage({ type: MessageType.Error, flags: 0, errorName: 'org.fedoraproject.FirewallD1.Exception', replySerial: 3, signature: 's', body: ['ZONE_ALREADY_SET: x'] }, 4));
    expect(err).toMatchObject({ type: 3, errorName: 'org.fedoraproject.FirewallD1.Exception', replySerial: 3, body: ['ZONE_ALREADY_SET: x'] });
  });

  it('reads big-endian messages too', () => {
    // A hand-built big-endian METHOD_RETURN with REPLY_SERIAL 5 and body "b" true.
    const fields = Buffer.from([5, 1, 0x75, 0, 0, 0, 0, 5, 8, 1, 0x67, 0, 1, 0x62, 0, 0]);
    // The array length excludes the padding after its last element.
    const head = Buffer.from([0x42, 2, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, fields.length - 1]);
    const msg = Buffer.concat([head, fields, Buffer.from([0, 0, 0, 1])]);
    expect(messageLength(msg)).toBe(msg.length);
    expect(decodeMessage(msg)).toMatchObject({ type: 2, replySerial: 5, signature: 'b', body: [true] });
  });

  it('reports incomplete input', () => {
    const bytes = encodeMessage({ type: MessageType.Signal, flags: 0, path: '/x', interface: 'a.b', member: 'C', signature: '', body: [] }, 1);
    expect(messageLength(bytes.subarray(0, 10))).toBeUndefined();
    expect(() => decodeMessage(bytes.subarray(0, bytes.length - 4))).toThrow();
  });

  it('finds the socket of a bus address', () => {
    expect(socketPathOf('unix:path=/run/dbus/system_bus_socket')).toBe('/run/dbus/system_bus_socket');
    expect(socketPathOf('tcp:host=x;unix:abstract=/tmp/dbus-x,guid=1')).toBe('\0/tmp/dbus-x');
    expect(socketPathOf('tcp:host=localhost,port=1')).toBeUndefined();
    expect(systemBusAddress({})).toBe('unix:path=/run/dbus/system_bus_socket');
    expect(systemBusAddress({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/tmp/b' })).toBe('unix:path=/tmp/b');
  });
});
