// RTM_GETROUTE for one destination ("ip route get <addr>"): the kernel's own lookup, policy rules
// included, so the answer is the interface a packet to that address would actually leave by.
import { RTA_DST, RTA_OIF, RTM_GETROUTE, RTM_NEWROUTE, RTMSG_LEN } from './constants.js';
import { familyBits, ipToBytes, mustParseIP } from '../ip/index.js';
import { familyToAf } from './ipaddr.js';
import { attrU32, MessageBuilder, type NlMsg, parseAttrs } from './message.js';
import { rtmsg } from './routes.js';
import { NetlinkSocket } from './socket.js';

export function buildRouteGet(ip: string): MessageBuilder {
  const addr = mustParseIP(ip, 'route lookup address');
  return new MessageBuilder(RTM_GETROUTE, 0, 64)
    .fixed(rtmsg(familyToAf(addr.family), familyBits(addr.family), 0, 0, 0, 0))
    .bytes(RTA_DST, ipToBytes(addr));
}

function parseOif(m: NlMsg): number | undefined {
  if (m.type !== RTM_NEWROUTE || m.payload.length < RTMSG_LEN) return undefined;
  return attrU32(parseAttrs(m.payload, RTMSG_LEN).get(RTA_OIF)) ?? 0;
}

/**
 * The index of the interface the current netns routes `ip` through, or undefined when there is no
 * route (ENETUNREACH and the like) or the route has no output interface.
 */
export function routeGetOutputIfindex(ip: string): number | undefined {
  const sock = NetlinkSocket.open();
  try {
    const oif = sock.get(buildRouteGet(ip), `route get ${ip}`, parseOif);
    return oif === 0 ? undefined : oif;
  } catch {
    return undefined;
  } finally {
    sock.close();
  }
}
