// The firewalld backend: the container's addresses become sources of a firewalld zone, over D-Bus
// (org.fedoraproject.FirewallD1.zone addSource / removeSource / querySource), in-process. This
// module, and the D-Bus client with it, is loaded only when firewalld is (or may be) the backend.
import { CniError, ErrorCode, checkFailed } from '../../shared/cni/errors.js';
import { DBusConnection, DBusError, systemBusAddress, socketPathOf } from '../../shared/dbus/connection.js';
import { existsSync } from 'node:fs';
import { addIptablesIsolation } from './iptables.js';
import { hostCidr } from './iptables-rules.js';
import type { FirewallBackend } from './backend.js';
import { errorText } from '../../shared/sys/error-text.js';

export const FIREWALLD_NAME = 'org.fedoraproject.FirewallD1';
const FIREWALLD_PATH = '/org/fedoraproject/FirewallD1';
const ZONE_INTERFACE = 'org.fedoraproject.FirewallD1.zone';
const ZONE_ALREADY_SET = 'ZONE_ALREADY_SET';
/** How long to wait for the bus (connect, authenticate, Hello) before giving up. */
const BUS_TIMEOUT_MS = 3000;

/**
 * Connects to the system bus, or undefined when there is no bus socket at all (a node without
 * D-Bus must not pay a timeout for the default-backend probe).
 */
export async function connectSystemBus(env: NodeJS.ProcessEnv): Promise<DBusConnection | undefined> {
  const address = systemBusAddress(env);
  const path = socketPathOf(address);
  if (path !== undefined && !path.startsWith('\0') && !existsSync(path)) return undefined;
  return DBusConnection.connect(address, BUS_TIMEOUT_MS);
}

/** The reference's isFirewalldRunning: the name has an owner on the system bus. */
export async function firewalldOwnsName(conn: DBusConnection): Promise<boolean> {
  return conn.nameHasOwner(FIREWALLD_NAME);
}

function zoneCall(conn: DBusConnection, member: string, zone: string, source: string) {
  return conn.call({ destination: FIREWALLD_NAME, path: FIREWALLD_PATH, interface: ZONE_INTERFACE, member, signature: 'ss', args: [zone, source] });
}

export function firewalldBackend(conn: DBusConnection): FirewallBackend {
  return {
    name: 'firewalld',
    async add(req) {
      const zone = req.config.zone;
      const added: string[] = [];
      try {
        for (const ip of req.ips) {
          const source = hostCidr(ip);
          try {
            await zoneCall(conn, 'addSource', zone, source);
            added.push(source);
          } catch (e) {
            // Already in the zone (a repeated ADD, or another attachment's): as the reference, fine.
            if (e instanceof DBusError && e.message.includes(ZONE_ALREADY_SET)) continue;
            throw new CniError(ErrorCode.IOFailure, `failed to add the address ${source} to ${zone} zone`, errorText(e));
          }
        }
        // The reference sets up the ingress policy with iptables whatever the backend.
        await addIptablesIsolation(req);
      } catch (e) {
        // A failed ADD takes back the sources it added.
        for (const source of added) await zoneCall(conn, 'removeSource', zone, source).catch(() => undefined);
        throw e;
      }
    },
    async del(req) {
      // As the reference: errors (e.g. UNKNOWN_SOURCE on a second DEL) are ignored.
      for (const ip of req.ips) await zoneCall(conn, 'removeSource', req.config.zone, hostCidr(ip)).catch(() => undefined);
    },
    async check(req) {
      for (const ip of req.ips) {
        const source = hostCidr(ip);
        let found: unknown;
        try {
          [found] = await zoneCall(conn, 'querySource', req.config.zone, source);
        } catch (e) {
          throw new CniError(ErrorCode.IOFailure, `failed to find the address ${source} in ${req.config.zone} zone`, errorText(e));
        }
        if (found !== true) throw checkFailed(`failed to find the address ${source} in ${req.config.zone} zone`);
      }
    },
    close() {
      conn.close();
    },
  };
}
