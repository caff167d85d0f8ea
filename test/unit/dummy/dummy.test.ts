// dummy: config validation and the link request (this kernel has no dummy module).
import { describe, expect, it } from 'vitest';
import * as C from '../../../shared/netlink/constants.js';
import { buildDummy } from '../../../shared/netlink/link-build.js';
import { attrString, attrU32 } from '../../../shared/netlink/message.js';
import { dummyRequest, loadConf } from '../../../plugins/dummy/index.js';
import { linkRequest } from '../../helpers/link-request.js';

describe('dummy', () => {
  it('requires ipam, with the reference message', () => {
    expect(() => loadConf('{"cniVersion":"1.0.0","name":"n","type":"dummy"}')).toThrow('dummy interface requires an IPAM configuration');
    expect(loadConf('{"cniVersion":"1.0.0","name":"n","type":"dummy","ipam":{"type":"host-local"}}').ipam).toBe('host-local');
  });

  it('is created as <if> straight in the container netns', () => {
    const { a, info, data } = linkRequest(buildDummy(dummyRequest('foobar0', 8), 8).finish(1));
    expect(attrString(a.get(C.IFLA_IFNAME))).toBe('foobar0');
    expect(attrU32(a.get(C.IFLA_NET_NS_FD))).toBe(8);
    expect(attrString(info.get(C.IFLA_INFO_KIND))).toBe('dummy');
    expect(data).toBeUndefined();
  });
});
