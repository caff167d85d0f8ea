// Netlink.setAllmulti: IFF_ALLMULTI through ifi_change only (other flags untouched), read back
// from the link flags and checked against `ip -j link`.
import { afterEach, expect, it } from 'vitest';
import { IFF_ALLMULTI, IFF_PROMISC, Netlink } from '../../../shared/netlink/index.js';
import { createNetns, ipJson, netnsPath, removeAllNetns } from '../../helpers/netns.js';

afterEach(() => removeAllNetns());

it('turns all-multicast on and off without touching promisc or up', () => {
  const ns = createNetns('tn-nl');
  using nl = Netlink.open(netnsPath(ns));
  nl.createVeth({ name: 'am0', peerName: 'am0p' });
  const l = nl.getLink('am0');
  expect(l.flags & IFF_ALLMULTI).toBe(0);
  nl.setPromisc(l, true);
  nl.setLinkUp(l);
  nl.setAllmulti(l, true);
  const on = nl.getLink('am0');
  expect(on.flags & IFF_ALLMULTI).toBe(IFF_ALLMULTI);
  expect(on.flags & IFF_PROMISC).toBe(IFF_PROMISC);
  expect(on.up).toBe(true);
  const [o] = ipJson<{ flags: string[]; allmulti?: number }[]>(['link', 'show', 'am0'], ns);
  expect(o?.flags).toEqual(expect.arrayContaining(['ALLMULTI', 'PROMISC', 'UP']));
  nl.setAllmulti(l, false);
  const off = nl.getLink('am0');
  expect(off.flags & IFF_ALLMULTI).toBe(0);
  expect(off.promisc).toBe(true);
  const [o2] = ipJson<{ flags: string[] }[]>(['link', 'show', 'am0'], ns);
  expect(o2?.flags).not.toContain('ALLMULTI');
});
