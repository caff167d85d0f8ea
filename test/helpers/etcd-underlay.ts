// A small "cluster network" for multi-node tests: an underlay netns with one bridge, an etcd cluster
// running inside it (member i on <base>.<1+i>), and node netns each attached to the bridge by a veth
// (node j on <base>.<11+j>, its end named `ul0`). Plugins run inside a node netns reach etcd at
// `underlay.etcd.endpoints`, as pods' CNI calls on real nodes reach a cluster's etcd.
import { execFileSync } from 'node:child_process';
import { EtcdCluster, portRange } from './etcd-cluster.js';
import { createNetns, removeNetns } from './netns.js';

export interface UnderlayOptions {
  /** Test prefix for netns and link names (e.g. 'tce'). */
  prefix: string;
  /** First three octets of the underlay /24, e.g. '10.155.0'. */
  base: string;
  nodes: number;
  etcdMembers?: number;
  /** First etcd client and peer port (members take consecutive ports). */
  clientPort: number;
  peerPort: number;
}

export interface UnderlayNode {
  ns: string;
  /** The node's underlay address (on `ul0`). */
  address: string;
}

export interface Underlay {
  ns: string;
  bridge: string;
  nodes: UnderlayNode[];
  etcd: EtcdCluster;
  /** Stops etcd and deletes every netns (so every link) it made. */
  remove(): Promise<void>;
}

const ip = (ns: string, ...args: string[]): void => {
  execFileSync('ip', ['-n', ns, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
};

export async function startUnderlay(opts: UnderlayOptions): Promise<Underlay> {
  const members = opts.etcdMembers ?? 3;
  const ns = createNetns(`${opts.prefix}-ul`);
  const nodes: UnderlayNode[] = [];
  const bridge = `${opts.prefix}-ulbr`;
  let etcd: EtcdCluster | undefined;
  const remove = async (): Promise<void> => {
    await etcd?.stop();
    for (const n of nodes) removeNetns(n.ns);
    removeNetns(ns);
  };
  try {
    ip(ns, 'link', 'set', 'lo', 'up');
    ip(ns, 'link', 'add', bridge, 'type', 'bridge');
    ip(ns, 'link', 'set', bridge, 'up');
    for (let i = 0; i < members; i++) ip(ns, 'addr', 'add', `${opts.base}.${1 + i}/24`, 'dev', bridge);
    for (let j = 0; j < opts.nodes; j++) {
      const node: UnderlayNode = { ns: createNetns(`${opts.prefix}-n${j}`), address: `${opts.base}.${11 + j}` };
      nodes.push(node);
      const port = `${opts.prefix}-u${j}`;
      ip(ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'ul0', 'netns', node.ns);
      ip(ns, 'link', 'set', port, 'master', bridge, 'up');
      ip(node.ns, 'link', 'set', 'lo', 'up');
      ip(node.ns, 'addr', 'add', `${node.address}/24`, 'dev', 'ul0');
      ip(node.ns, 'link', 'set', 'ul0', 'up');
    }
    etcd = await EtcdCluster.start({
      name: opts.prefix,
      members,
      netns: ns,
      hosts: Array.from({ length: members }, (_, i) => `${opts.base}.${1 + i}`),
      clientPorts: portRange(opts.clientPort, members),
      peerPorts: portRange(opts.peerPort, members),
    });
  } catch (err) {
    await remove();
    throw err;
  }
  return { ns, bridge, nodes, etcd, remove };
}
