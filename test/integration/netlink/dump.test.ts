// Multi-datagram dumps and the receive buffer growing when a datagram does not fit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netlink } from '../../../shared/netlink/index.js';
import { AF_UNSPEC, RTM_GETLINK } from '../../../shared/netlink/constants.js';
import { ifinfomsg } from '../../../shared/netlink/link-build.js';
import { parseLink } from '../../../shared/netlink/link-parse.js';
import { MessageBuilder } from '../../../shared/netlink/message.js';
import { withNetns } from '../../../shared/netlink/netns.js';
import { NetlinkSocket, resizeReceiveBuffer } from '../../../shared/netlink/socket.js';
import { addNetns, deleteNetns, ipJson, nsPath } from './helpers.js';

const created: string[] = [];
let ns: string;
let nl: Netlink;
const PAIRS = 120;

beforeAll(() => {
  ns = addNetns(created);
  nl = Netlink.open(nsPath(ns));
  for (let i = 0; i < PAIRS; i++) nl.createVeth({ name: `d${i}a`, peerName: `d${i}b` });
  const eth = nl.getLink('d0a');
  nl.setLinkUp(eth);
  nl.setLinkUp(nl.getLink('d0b'));
  nl.addAddress(eth, '10.66.0.1/16');
  for (let i = 0; i < 400; i++) nl.addRoute({ dst: `10.${100 + (i >> 8)}.${i & 255}.0/24`, gw: '10.66.0.2' });
});

afterAll(() => {
  nl?.close();
  resizeReceiveBuffer(65536);
  deleteNetns(created);
});

describe('dumps', () => {
  it('collects every link and route of a dump spanning many datagrams', () => {
    const links = nl.listLinks();
    expect(links).toHaveLength(2 * PAIRS + 1);
    const oracle = ipJson<Array<{ ifindex: number; ifname: string }>>(ns, ['link', 'show']);
    expect(links.map((l) => `${l.index}:${l.name}`).sort()).toEqual(oracle.map((l) => `${l.ifindex}:${l.ifname}`).sort());
    const routes = nl.listRoutes({ family: 4 }).filter((r) => r.gw === '10.66.0.2');
    expect(routes).toHaveLength(400);
  });

  it('grows the receive buffer when a datagram is larger than it', () => {
    resizeReceiveBuffer(256); // smaller than one RTM_NEWLINK message
    expect(nl.listLinks()).toHaveLength(2 * PAIRS + 1);
    expect(nl.getLink('d7a').name).toBe('d7a');
  });

  it('keeps the socket usable when a dump parser throws (reads the dump to its end first)', () => {
    const sock = withNetns(nsPath(ns), () => NetlinkSocket.open());
    try {
      const dumpLinks = (): MessageBuilder => new MessageBuilder(RTM_GETLINK, 0).fixed(ifinfomsg(AF_UNSPEC));
      let seen = 0;
      // A parse failure aborts the dump after its first message, leaving the rest queued on the socket.
      expect(() =>
        sock.dump(dumpLinks(), 'link list', () => {
          seen++;
          throw new Error('abort');
        }),
      ).toThrowError('abort');
      expect(seen).toBe(1);
      const names = sock.dump(dumpLinks(), 'link list', parseLink).map((l) => l.name);
      expect(names).toHaveLength(2 * PAIRS + 1);
      expect(new Set(names).size).toBe(names.length);
    } finally {
      sock.close();
    }
  });
});
