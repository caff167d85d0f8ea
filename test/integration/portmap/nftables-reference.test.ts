// The nftables backend against the latest reference (Debian's 1.1.1 has no nftables backend): the
// reference's own expected transaction (portmap_nftables_test.go, knftables' dump of it) is loaded
// with `nft -f` in one node, our ADD runs in another, and `nft -j list ruleset` must be the same
// apart from handles. Then our DEL leaves exactly what the reference's DEL leaves.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetns, execInNetns, netnsPath, removeNetns } from '../../helpers/netns.js';
import { removeDir, runIn, tempDir } from '../../helpers/node-rig.js';

const CID = 'icee6giejonei6so';
const MAPPINGS = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8080, containerPort: 81, protocol: 'udp' },
  { hostPort: 8082, containerPort: 82, protocol: 'udp' },
  { hostPort: 8083, containerPort: 83, protocol: 'tcp', hostIP: '192.168.0.2' },
  { hostPort: 8084, containerPort: 84, protocol: 'tcp', hostIP: '0.0.0.0' },
  { hostPort: 8085, containerPort: 85, protocol: 'tcp', hostIP: '2001:db8:a::1' },
  { hostPort: 8086, containerPort: 86, protocol: 'tcp', hostIP: '::' },
  { hostPort: 9000, containerPort: 90, protocol: 'sctp' },
];

// The reference's expected IPv4 dump (snat on) and IPv6 dump; chains in the order its transaction
// creates them (portmap_nftables.go; knftables' fake dump sorts them by name), conditions left
// out (the reference test's "a b" are placeholders nft would refuse), an sctp mapping added. IPv6
// with snat on adds the hairpin masquerade rule the reference writes for every family.
const REFERENCE_ADD = `
add table ip cni_hostport { comment "CNI portmap plugin" ; }
add chain ip cni_hostport hostports
add chain ip cni_hostport hostip_hostports
add chain ip cni_hostport hostports_all
add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }
add chain ip cni_hostport output { type nat hook output priority -100 ; }
add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }
add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.0.0.2:80 comment "${CID}"
add rule ip cni_hostport hostports tcp dport 8081 dnat to 10.0.0.2:80 comment "${CID}"
add rule ip cni_hostport hostports udp dport 8080 dnat to 10.0.0.2:81 comment "${CID}"
add rule ip cni_hostport hostports udp dport 8082 dnat to 10.0.0.2:82 comment "${CID}"
add rule ip cni_hostport hostports ip daddr 192.168.0.2 tcp dport 8083 dnat to 10.0.0.2:83 comment "${CID}"
add rule ip cni_hostport hostports tcp dport 8084 dnat to 10.0.0.2:84 comment "${CID}"
add rule ip cni_hostport hostports sctp dport 9000 dnat to 10.0.0.2:90 comment "${CID}"
add rule ip cni_hostport hostports_all jump hostip_hostports
add rule ip cni_hostport hostports_all jump hostports
add rule ip cni_hostport masquerading ip saddr 10.0.0.2 ip daddr 10.0.0.2 masquerade comment "${CID}"
add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.0.0.2 masquerade comment "${CID}"
add rule ip cni_hostport output fib daddr type local jump hostports_all
add rule ip cni_hostport prerouting fib daddr type local jump hostports_all
add table ip6 cni_hostport { comment "CNI portmap plugin" ; }
add chain ip6 cni_hostport hostports
add chain ip6 cni_hostport hostip_hostports
add chain ip6 cni_hostport hostports_all
add chain ip6 cni_hostport prerouting { type nat hook prerouting priority -100 ; }
add chain ip6 cni_hostport output { type nat hook output priority -100 ; }
add chain ip6 cni_hostport masquerading { type nat hook postrouting priority 100 ; }
add rule ip6 cni_hostport hostports tcp dport 8080 dnat to [2001:db8::2]:80 comment "${CID}"
add rule ip6 cni_hostport hostports tcp dport 8081 dnat to [2001:db8::2]:80 comment "${CID}"
add rule ip6 cni_hostport hostports udp dport 8080 dnat to [2001:db8::2]:81 comment "${CID}"
add rule ip6 cni_hostport hostports udp dport 8082 dnat to [2001:db8::2]:82 comment "${CID}"
add rule ip6 cni_hostport hostports ip6 daddr 2001:db8:a::1 tcp dport 8085 dnat to [2001:db8::2]:85 comment "${CID}"
add rule ip6 cni_hostport hostports tcp dport 8086 dnat to [2001:db8::2]:86 comment "${CID}"
add rule ip6 cni_hostport hostports sctp dport 9000 dnat to [2001:db8::2]:90 comment "${CID}"
add rule ip6 cni_hostport hostports_all jump hostip_hostports
add rule ip6 cni_hostport hostports_all jump hostports
add rule ip6 cni_hostport masquerading ip6 saddr 2001:db8::2 ip6 daddr 2001:db8::2 masquerade comment "${CID}"
add rule ip6 cni_hostport output fib daddr type local jump hostports_all
add rule ip6 cni_hostport prerouting fib daddr type local jump hostports_all
`;

/** `nft -j list ruleset` of a netns, without metainfo and handles, chains and rules in listing order. */
function ruleset(ns: string): unknown[] {
  const out = execInNetns(ns, 'nft', ['-j', 'list', 'ruleset']).stdout;
  return (JSON.parse(out) as { nftables: Record<string, Record<string, unknown>>[] }).nftables
    .filter((i) => !('metainfo' in i))
    .map((i) => Object.fromEntries(Object.entries(i).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([f]) => f !== 'handle'))])));
}

describe('portmap nftables backend vs the reference transaction', () => {
  let refNode: string;
  let ourNode: string;
  let container: string;
  let state: string;
  beforeEach(() => {
    refNode = createNetns('pm-nref');
    ourNode = createNetns('pm-nour');
    container = createNetns('pm-nctr');
    state = tempDir('pm-nstate-');
  });
  afterEach(() => {
    for (const ns of [refNode, ourNode, container]) removeNetns(ns);
    removeDir(state);
  });

  it('our ADD gives the same `nft -j list ruleset`, our DEL leaves what the reference DEL leaves', () => {
    const load = spawnSync('ip', ['netns', 'exec', refNode, 'nft', '-f', '-'], { input: REFERENCE_ADD, encoding: 'utf8' });
    expect(load.status, load.stderr).toBe(0);

    const prevResult = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: netnsPath(container) }],
      ips: [{ interface: 0, address: '10.0.0.2/24' }, { interface: 0, address: '2001:db8::2/64' }],
    };
    const conf = { cniVersion: '1.0.0', name: 'test', type: 'portmap', backend: 'nftables', snat: true, runtimeConfig: { portMappings: MAPPINGS }, prevResult };
    const env = (command: string) => ({ CNI_COMMAND: command, CNI_CONTAINERID: CID, CNI_NETNS: netnsPath(container), CNI_IFNAME: 'eth0', TSCNI_STATE_DIR: state });
    const add = runIn(ourNode, 'portmap', env('ADD'), conf);
    expect(add.status, add.stdout + add.stderr).toBe(0);
    expect(ruleset(ourNode)).toEqual(ruleset(refNode));

    // The reference's DEL deletes the rules carrying the container ID from hostports, hostip_hostports, masquerading.
    const handles = JSON.parse(execInNetns(refNode, 'nft', ['-j', 'list', 'ruleset']).stdout) as { nftables: { rule?: { family: string; chain: string; handle: number; comment?: string } }[] };
    const dels = handles.nftables.flatMap((i) => (i.rule && i.rule.comment === CID ? [`delete rule ${i.rule.family} cni_hostport ${i.rule.chain} handle ${i.rule.handle}`] : []));
    expect(spawnSync('ip', ['netns', 'exec', refNode, 'nft', '-f', '-'], { input: `${dels.join('\n')}\n` }).status).toBe(0);
    const del = runIn(ourNode, 'portmap', env('DEL'), conf);
    expect(del.status, del.stdout).toBe(0);
    expect(ruleset(ourNode)).toEqual(ruleset(refNode));
    expect(JSON.stringify(ruleset(ourNode))).not.toContain(CID);
  });
});
