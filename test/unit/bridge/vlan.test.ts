// vlanTrunk validation (the reference's messages), the port VLAN plan, and the bytes of the bridge
// VLAN netlink messages (this kernel cannot run them: no CONFIG_BRIDGE_VLAN_FILTERING).
import { describe, expect, it } from 'vitest';
import * as C from '../../../shared/netlink/constants.js';
import { attrList, MessageBuilder, parseAttrs, parseNested, type NlMsg } from '../../../shared/netlink/message.js';
import { ifinfomsg } from '../../../shared/netlink/link-build.js';
import {
  applyPortVlans, buildPortVlanMessage, buildVlanListRequest, collectVlanTrunk, parseVlanListReply, planPortVlans, type VlanSocket,
} from '../../../plugins/bridge/vlan.js';

describe('collectVlanTrunk', () => {
  it('accepts ids and ranges, sorted and unique', () => {
    expect(collectVlanTrunk(undefined)).toEqual([]);
    expect(collectVlanTrunk([])).toEqual([]);
    expect(collectVlanTrunk([{ minID: 100, maxID: 105 }])).toEqual([100, 101, 102, 103, 104, 105]);
    expect(collectVlanTrunk([{ id: 10 }])).toEqual([10]);
    expect(collectVlanTrunk([{ id: 10 }, { minID: 100, maxID: 105 }])).toEqual([10, 100, 101, 102, 103, 104, 105]);
    expect(collectVlanTrunk([{ id: 15 }, { id: 15 }, { minID: 14, maxID: 16, id: 4094 }])).toEqual([14, 15, 16, 4094]);
  });

  const cases: Array<[string, Parameters<typeof collectVlanTrunk>[0], string]> = [
    ['maxID missing', [{ minID: 100 }], 'minID and maxID should be configured simultaneously, maxID is missing'],
    ['minID missing', [{ maxID: 105 }], 'minID and maxID should be configured simultaneously, minID is missing'],
    ['minID negative', [{ minID: -1, maxID: 105 }], 'incorrect trunk minID parameter'],
    ['minID > 4094', [{ minID: 5000, maxID: 105 }], 'incorrect trunk minID parameter'],
    ['maxID > 4094', [{ minID: 100, maxID: 5000 }], 'incorrect trunk maxID parameter'],
    ['maxID negative', [{ minID: 100, maxID: -1 }], 'incorrect trunk maxID parameter'],
    ['id > 4094', [{ id: 5000 }], 'incorrect trunk id parameter'],
    ['id negative', [{ id: -1 }], 'incorrect trunk id parameter'],
    ['maxID < minID', [{ minID: 1000, maxID: 100 }], 'minID is greater than maxID in trunk parameter'],
  ];
  for (const [label, trunk, msg] of cases) {
    it(`rejects ${label}`, () => expect(() => collectVlanTrunk(trunk)).toThrow(new Error(msg)));
  }
  it('rejects 0 as an id', () => expect(() => collectVlanTrunk([{ id: 0 }])).toThrow('incorrect trunk id parameter'));
});

describe('planPortVlans', () => {
  it('no vlan config: nothing', () => expect(planPortVlans(0, [], false)).toEqual({ remove: false, add: [] }));
  it('access vlan: default removed, PVID untagged', () =>
    expect(planPortVlans(100, [], false)).toEqual({ remove: true, add: [{ vid: 100, pvid: true, untagged: true }] }));
  it('preserveDefaultVlan keeps existing entries', () => expect(planPortVlans(100, [], true).remove).toBe(false));
  it('trunk without access vlan: VLAN 1 is native, trunk VIDs tagged', () =>
    expect(planPortVlans(0, [101, 200], false)).toEqual({
      remove: true,
      add: [
        { vid: 1, pvid: true, untagged: true },
        { vid: 101, pvid: false, untagged: false },
        { vid: 200, pvid: false, untagged: false },
      ],
    }));
  it('trunk with access vlan: the access vlan is native', () =>
    expect(planPortVlans(100, [101], false).add).toEqual([
      { vid: 100, pvid: true, untagged: true },
      { vid: 101, pvid: false, untagged: false },
    ]));
});

describe('bridge VLAN netlink messages', () => {
  it('add: RTM_SETLINK AF_BRIDGE with IFLA_AF_SPEC {flags=MASTER, vlan info PVID|UNTAGGED vid}', () => {
    const msg = buildPortVlanMessage(7, { vid: 100, pvid: true, untagged: true }).finish(1);
    expect(msg.readUInt16LE(4)).toBe(C.RTM_SETLINK);
    expect(msg.readUInt8(16)).toBe(C.AF_BRIDGE);
    expect(msg.readInt32LE(16 + 4)).toBe(7);
    const attrs = attrList(msg, 16 + C.IFINFOMSG_LEN);
    expect(attrs.map(([t]) => t)).toEqual([C.IFLA_AF_SPEC]);
    // The nested flag is set on IFLA_AF_SPEC.
    expect(msg.readUInt16LE(16 + C.IFINFOMSG_LEN + 2)).toBe(C.IFLA_AF_SPEC | C.NLA_F_NESTED);
    const spec = parseNested(attrs[0]![1]);
    expect(spec.get(C.IFLA_BRIDGE_FLAGS)!.readUInt16LE(0)).toBe(C.BRIDGE_FLAGS_MASTER);
    const info = spec.get(C.IFLA_BRIDGE_VLAN_INFO)!;
    expect(info.readUInt16LE(0)).toBe(C.BRIDGE_VLAN_INFO_PVID | C.BRIDGE_VLAN_INFO_UNTAGGED);
    expect(info.readUInt16LE(2)).toBe(100);
    expect(msg.length).toBe(16 + 16 + 4 + 8 + 8);
  });

  it('tagged add and delete', () => {
    const add = buildPortVlanMessage(3, { vid: 4094, pvid: false, untagged: false }).finish(1);
    const info = parseNested(parseAttrs(add, 32).get(C.IFLA_AF_SPEC)!).get(C.IFLA_BRIDGE_VLAN_INFO)!;
    expect(info.readUInt16LE(0)).toBe(0);
    expect(info.readUInt16LE(2)).toBe(4094);
    const del = buildPortVlanMessage(3, { vid: 1, pvid: true, untagged: true }, true).finish(1);
    expect(del.readUInt16LE(4)).toBe(C.RTM_DELLINK);
  });

  it('refuses VID 0 and 4095', () => {
    expect(() => buildPortVlanMessage(1, { vid: 0, pvid: false, untagged: false })).toThrow(TypeError);
    expect(() => buildPortVlanMessage(1, { vid: 4095, pvid: false, untagged: false })).toThrow(TypeError);
  });

  it('list request: AF_BRIDGE dump with IFLA_EXT_MASK = RTEXT_FILTER_BRVLAN', () => {
    const msg = buildVlanListRequest().finish(1);
    expect(msg.readUInt16LE(4)).toBe(C.RTM_GETLINK);
    expect(msg.readUInt16LE(6) & C.NLM_F_DUMP).toBe(C.NLM_F_DUMP);
    expect(msg.readUInt8(16)).toBe(C.AF_BRIDGE);
    expect(parseAttrs(msg, 32).get(C.IFLA_EXT_MASK)!.readUInt32LE(0)).toBe(C.RTEXT_FILTER_BRVLAN);
  });

  it('parses a dump reply into the port VLAN list', () => {
    const info = (flags: number, vid: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt16LE(flags, 0);
      b.writeUInt16LE(vid, 2);
      return b;
    };
    const b = new MessageBuilder(C.RTM_NEWLINK, 0).fixed(ifinfomsg(C.AF_BRIDGE, 9));
    b.str(C.IFLA_IFNAME, 'veth0');
    b.nest(C.IFLA_AF_SPEC, () => {
      b.bytes(C.IFLA_BRIDGE_VLAN_INFO, info(C.BRIDGE_VLAN_INFO_PVID | C.BRIDGE_VLAN_INFO_UNTAGGED, 1));
      b.bytes(C.IFLA_BRIDGE_VLAN_INFO, info(0, 101));
    });
    const raw = b.finish(1);
    const m: NlMsg = { type: C.RTM_NEWLINK, flags: 0, seq: 1, portId: 0, payload: raw.subarray(16) };
    expect(parseVlanListReply(m)).toEqual({
      index: 9,
      vlans: [
        { vid: 1, pvid: true, untagged: true },
        { vid: 101, pvid: false, untagged: false },
      ],
    });
  });

  it('applyPortVlans: lists, removes the existing entries, then adds in order', () => {
    const sent: string[] = [];
    const sock: VlanSocket = {
      ack(req, op) {
        const msg = req.finish(1);
        const vid = parseNested(parseAttrs(msg, 32).get(C.IFLA_AF_SPEC)!).get(C.IFLA_BRIDGE_VLAN_INFO)!.readUInt16LE(2);
        sent.push(`${msg.readUInt16LE(4) === C.RTM_DELLINK ? 'del' : 'add'} ${vid} (${op})`);
      },
      dump<T>(_req: MessageBuilder, _op: string, parse: (m: NlMsg) => T | undefined): T[] {
        void parse;
        return [{ index: 5, vlans: [{ vid: 1, pvid: true, untagged: true }] }, { index: 6, vlans: [{ vid: 7, pvid: false, untagged: false }] }] as T[];
      },
    };
    applyPortVlans(sock, 5, 'vethX', planPortVlans(0, [101], false));
    expect(sent).toEqual([
      'del 1 (bridge vlan del vid 1 dev vethX)',
      'add 1 (bridge vlan add vid 1 dev vethX)',
      'add 101 (bridge vlan add vid 101 dev vethX)',
    ]);
  });

  it('applyPortVlans: errors carry the reference wording', () => {
    const sock: VlanSocket = {
      ack() {
        throw new Error('EOPNOTSUPP');
      },
      dump: <T>() => [] as T[],
    };
    expect(() => applyPortVlans(sock, 5, 'vethX', planPortVlans(100, [], true))).toThrow('failed to setup vlan tag on interface "vethX": EOPNOTSUPP');
  });
});
