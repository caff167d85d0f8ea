// Hostile inputs every plugin meets through the shared skeleton: stdin that is not a config, bad
// names that would become paths, bad CNI_* variables, versions, prevResult problems, bad netns.
import { type BadRow, NET, nsPath, setPath } from './harness.js';

const prev04 = { cniVersion: '0.4.0', interfaces: [], ips: [{ version: '4', address: '10.123.7.2/24' }] };
const prev10 = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.123.7.2/24', interface: 0 }] };

export const SKEL_ROWS: (BadRow & { extended?: boolean })[] = [
  // stdin
  { label: 'non-JSON stdin', stdin: () => 'this is not json', code: 6, mentions: ['network config', /not valid JSON/] },
  { extended: true, label: 'truncated JSON', stdin: (c) => JSON.stringify(c).slice(0, 20), code: 6, mentions: ['network config'] },
  { label: 'empty stdin', stdin: () => '', code: 6, mentions: ['network config'] },
  { label: 'JSON array', stdin: () => '[1,2]', code: 6, mentions: ['network config', 'array'] },
  { extended: true, label: 'JSON string', stdin: () => '"bridge"', code: 6, mentions: ['network config', 'string'] },
  { extended: true, label: 'JSON number', stdin: () => '42', code: 6, mentions: ['network config', 'number'] },
  { label: 'JSON null', stdin: () => 'null', code: 7, mentions: ['network name'] },
  { label: 'DEL with non-JSON stdin', command: 'DEL', stdin: () => '{', code: 6, mentions: ['network config'] },
  // network name (becomes a host-local directory, chain and rule comments)
  { label: 'missing name', stdin: (c) => setPath(c, 'name', undefined), code: 7, mentions: ['network name'] },
  { label: 'empty name', stdin: (c) => setPath(c, 'name', ''), code: 7, mentions: ['network name'] },
  { label: 'name ../x', stdin: (c) => setPath(c, 'name', '../x'), code: 7, mentions: ['network name', '../x'] },
  { label: 'name a/b', stdin: (c) => setPath(c, 'name', 'a/b'), code: 7, mentions: ['network name', 'a/b'] },
  { extended: true, label: 'name ..', stdin: (c) => setPath(c, 'name', '..'), code: 7, mentions: ['network name', '..'] },
  { extended: true, label: 'name with a space', stdin: (c) => setPath(c, 'name', 'my net'), code: 7, mentions: ['network name', 'my net'] },
  { label: 'name not a string', stdin: (c) => setPath(c, 'name', 5), code: 6, mentions: ['name', 'number'] },
  { label: 'DEL with name ../x', command: 'DEL', stdin: (c) => setPath(c, 'name', '../x'), code: 7, mentions: ['network name', '../x'] },
  // CNI_CONTAINERID
  { label: 'container ID with /', env: () => ({ CNI_CONTAINERID: 'ab/../cd' }), code: 4, mentions: ['containerID', 'ab/../cd'] },
  { label: 'container ID with a space', env: () => ({ CNI_CONTAINERID: 'ab cd' }), code: 4, mentions: ['containerID', 'ab cd'] },
  { extended: true, label: 'container ID ..', env: () => ({ CNI_CONTAINERID: '..' }), code: 4, mentions: ['containerID', '..'] },
  { label: 'DEL with container ID with /', command: 'DEL', env: () => ({ CNI_CONTAINERID: 'a/b' }), code: 4, mentions: ['containerID', 'a/b'] },
  // CNI_IFNAME
  { label: 'ifname too long', env: () => ({ CNI_IFNAME: 'eth0123456789abc' }), code: 4, mentions: ['interface name', 'CNI_IFNAME', 'eth0123456789abc'] },
  { label: 'ifname with /', env: () => ({ CNI_IFNAME: 'a/b' }), code: 4, mentions: ['interface name', 'CNI_IFNAME', 'a/b'] },
  { label: 'ifname .', env: () => ({ CNI_IFNAME: '.' }), code: 4, mentions: ['interface name', 'CNI_IFNAME', '"."'] },
  { extended: true, label: 'ifname ..', env: () => ({ CNI_IFNAME: '..' }), code: 4, mentions: ['interface name', 'CNI_IFNAME', '".."'] },
  { label: 'ifname with a space', env: () => ({ CNI_IFNAME: 'eth 0' }), code: 4, mentions: ['interface name', 'CNI_IFNAME', 'eth 0'] },
  { extended: true, label: 'ifname with :', env: () => ({ CNI_IFNAME: 'eth:0' }), code: 4, mentions: ['interface name', 'CNI_IFNAME', 'eth:0'] },
  { label: 'DEL with ifname ../x', command: 'DEL', env: () => ({ CNI_IFNAME: '../x' }), code: 4, mentions: ['interface name', 'CNI_IFNAME', '../x'] },
  // CNI_COMMAND and required variables, per command
  { label: 'unknown CNI_COMMAND', command: 'ADDD', code: 4, mentions: ['CNI_COMMAND', 'ADDD'] },
  { extended: true, label: 'lower-case CNI_COMMAND', command: 'add', code: 4, mentions: ['CNI_COMMAND', 'add'] },
  { extended: true, label: 'ADD without CNI_CONTAINERID', env: () => ({ CNI_CONTAINERID: undefined }), code: 4, mentions: ['CNI_CONTAINERID'] },
  { label: 'ADD without CNI_NETNS', env: () => ({ CNI_NETNS: undefined }), code: 4, mentions: ['CNI_NETNS'] },
  { extended: true, label: 'ADD without CNI_IFNAME', env: () => ({ CNI_IFNAME: undefined }), code: 4, mentions: ['CNI_IFNAME'] },
  { label: 'ADD without CNI_PATH', env: () => ({ CNI_PATH: undefined }), code: 4, mentions: ['CNI_PATH'] },
  { extended: true, label: 'ADD with empty CNI_NETNS', env: () => ({ CNI_NETNS: '' }), code: 4, mentions: ['CNI_NETNS'] },
  { label: 'DEL without CNI_CONTAINERID', command: 'DEL', env: () => ({ CNI_CONTAINERID: undefined }), code: 4, mentions: ['CNI_CONTAINERID'] },
  { label: 'DEL without CNI_IFNAME', command: 'DEL', env: () => ({ CNI_IFNAME: undefined }), code: 4, mentions: ['CNI_IFNAME'] },
  { extended: true, label: 'DEL without CNI_PATH', command: 'DEL', env: () => ({ CNI_PATH: undefined }), code: 4, mentions: ['CNI_PATH'] },
  {
    label: 'CHECK without CNI_NETNS and CNI_IFNAME',
    command: 'CHECK',
    env: () => ({ CNI_NETNS: undefined, CNI_IFNAME: undefined }),
    stdin: (c) => ({ ...c, prevResult: prev10 }),
    code: 4,
    mentions: ['CNI_NETNS,CNI_IFNAME'],
  },
  { label: 'GC without CNI_PATH', command: 'GC', env: () => ({ CNI_PATH: undefined }), stdin: (c) => ({ ...c, cniVersion: '1.1.0' }), code: 4, mentions: ['CNI_PATH'] },
  { extended: true, label: 'STATUS without CNI_PATH', command: 'STATUS', env: () => ({ CNI_PATH: undefined }), stdin: (c) => ({ ...c, cniVersion: '1.1.0' }), code: 4, mentions: ['CNI_PATH'] },
  // cniVersion
  { label: 'unsupported cniVersion', stdin: (c) => setPath(c, 'cniVersion', '9.9.9'), code: 1, mentions: ['CNI version', '9.9.9'] },
  { extended: true, label: 'cniVersion 1.0 (not string-equal)', stdin: (c) => setPath(c, 'cniVersion', '1.0'), code: 1, mentions: ['CNI version', '"1.0"'] },
  { label: 'cniVersion not a string', stdin: (c) => setPath(c, 'cniVersion', 1), code: 6, mentions: ['cniVersion', 'number'] },
  { label: 'DEL with unsupported cniVersion', command: 'DEL', stdin: (c) => setPath(c, 'cniVersion', '0.0.9'), code: 1, mentions: ['CNI version', '0.0.9'] },
  { label: 'CHECK at 0.3.1', command: 'CHECK', stdin: (c) => setPath(c, 'cniVersion', '0.3.1'), code: 1, mentions: ['CHECK'] },
  { label: 'GC at 1.0.0', command: 'GC', stdin: (c) => setPath(c, 'cniVersion', '1.0.0'), code: 1, mentions: ['GC'] },
  { extended: true, label: 'STATUS at 0.4.0', command: 'STATUS', stdin: (c) => setPath(c, 'cniVersion', '0.4.0'), code: 1, mentions: ['STATUS'] },
  // prevResult
  { label: 'CHECK without prevResult', command: 'CHECK', code: 7, mentions: ['prevResult'], when: (p) => p.delegates },
  { label: 'CHECK with prevResult of the 0.4.0 family', command: 'CHECK', stdin: (c) => ({ ...c, prevResult: prev04 }), code: 6, mentions: ['prevResult', '"0.4.0"'] },
  { label: 'ADD with prevResult of the 0.4.0 family', stdin: (c) => ({ ...c, prevResult: prev04 }), code: 6, mentions: ['prevResult', '"0.4.0"'] },
  {
    extended: true,
    label: 'CHECK at 0.4.0 with a 1.0.0 prevResult',
    command: 'CHECK',
    stdin: (c) => ({ ...c, cniVersion: '0.4.0', prevResult: prev10 }),
    code: 6,
    mentions: ['prevResult', '"1.0.0"'],
  },
  { label: 'prevResult not an object', command: 'CHECK', stdin: (c) => ({ ...c, prevResult: 'x' }), code: 6, mentions: ['prevResult', 'string'] },
  {
    label: 'prevResult with a bad address',
    command: 'CHECK',
    stdin: (c) => ({ ...c, prevResult: { ...prev10, ips: [{ address: 'nope', interface: 0 }] } }),
    code: 6,
    mentions: ['prevResult', 'nope'],
  },
  // CNI_NETNS that is no netns (plugins that enter it)
  {
    label: 'ADD with a missing netns path',
    env: () => ({ CNI_NETNS: '/run/netns/tscni-rb-does-not-exist' }),
    code: 8,
    mentions: ['netns', '/run/netns/tscni-rb-does-not-exist'],
    when: (p) => p.usesNetns,
  },
  { label: 'ADD with a netns path that is a file', env: () => ({ CNI_NETNS: '/etc/hostname' }), code: 8, mentions: ['netns', '/etc/hostname'], when: (p) => p.usesNetns },
  { extended: true, label: 'ADD with a netns path that is a directory', env: () => ({ CNI_NETNS: '/run/netns' }), code: 8, mentions: ['netns', '/run/netns'], when: (p) => p.usesNetns },
  {
    label: 'CHECK with a missing netns path',
    command: 'CHECK',
    env: () => ({ CNI_NETNS: '/run/netns/tscni-rb-does-not-exist' }),
    stdin: (c) => ({ ...c, prevResult: prev10 }),
    code: 8,
    mentions: ['netns', '/run/netns/tscni-rb-does-not-exist'],
    when: (p) => p.usesNetns && p.name !== 'loopback',
  },
  // runtime args
  { label: 'CNI_ARGS with an unknown key', env: () => ({ CNI_ARGS: 'FOO=bar' }), code: 4, mentions: ['ARGS', 'FOO=bar'], when: (p) => ['bridge', 'macvlan', 'tap', 'host-local', 'static'].includes(p.name) },
  { label: 'CNI_ARGS pair without =', env: () => ({ CNI_ARGS: 'IgnoreUnknown=1;junk' }), code: 4, mentions: ['ARGS', 'junk'], when: (p) => ['bridge', 'macvlan', 'tap', 'host-local', 'static'].includes(p.name) },
];

/** Rows every binary gets; `extended` ones (same skeleton path, other values) go to a few. */
export const CORE_ROWS = SKEL_ROWS.filter((r) => !r.extended);
export const EXTENDED_ROWS = SKEL_ROWS.filter((r) => r.extended);

export { NET, nsPath };
