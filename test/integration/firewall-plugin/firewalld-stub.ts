// A stand-in for firewalld on a test-owned private bus: owns org.fedoraproject.FirewallD1 and
// implements the zone methods the firewall plugin calls, with firewalld's error names, logging
// every call as one JSON line to the file given as argv[3]. Started by firewalld.test.ts as
//   node --import ts-resolve.mjs firewalld-stub.ts <bus address> <log file>
// It prints "ready" on stdout once it owns the name, and runs until killed.
import { appendFileSync } from 'node:fs';
import { DBusConnection, DBusError } from '../../../shared/dbus/connection.js';

const [address, log] = process.argv.slice(2);
if (!address || !log) throw new Error('usage: firewalld-stub.ts <bus address> <log file>');

const EXCEPTION = 'org.fedoraproject.FirewallD1.Exception';
const zones = new Map<string, Set<string>>();
const sourcesOf = (zone: string): Set<string> => zones.get(zone) ?? zones.set(zone, new Set()).get(zone)!;

const conn = await DBusConnection.connect(address);
conn.serve((call) => {
  const [zone, source] = call.body.map(String);
  appendFileSync(log, `${JSON.stringify({ interface: call.interface, member: call.member, path: call.path, signature: call.signature, zone, source })}\n`);
  if (call.interface !== 'org.fedoraproject.FirewallD1.zone' || call.path !== '/org/fedoraproject/FirewallD1' || call.signature !== 'ss') {
    return new DBusError('org.freedesktop.DBus.Error.UnknownMethod', `no ${call.interface}.${call.member}(${call.signature})`);
  }
  const sources = sourcesOf(zone!);
  switch (call.member) {
    case 'addSource':
      if (sources.has(source!)) return new DBusError(EXCEPTION, `ZONE_ALREADY_SET: '${source}' already bound to '${zone}'`);
      sources.add(source!);
      return { signature: 's', body: [zone!] };
    case 'removeSource':
      if (!sources.delete(source!)) return new DBusError(EXCEPTION, `UNKNOWN_SOURCE: ${source}`);
      return { signature: 's', body: [zone!] };
    case 'querySource':
      return { signature: 'b', body: [sources.has(source!)] };
    default:
      return new DBusError('org.freedesktop.DBus.Error.UnknownMethod', `no method ${call.member}`);
  }
});
if (!(await conn.requestName('org.fedoraproject.FirewallD1'))) throw new Error('could not own org.fedoraproject.FirewallD1');
process.stdout.write('ready\n');
