// cluster-ipam: one address pool shared by many nodes, claimed in etcd (see README.md). Each
// address is one key, created only if absent; so two nodes can never hand out the same address.
import { parseConfig } from '../../shared/cni/config.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import * as v from '../../build/generated/validators/cluster-ipam.js';
import { type ClusterIpamNetConf, loadClusterIpamConfig } from './config.js';
import { cmdAdd, cmdCheck, cmdDel, cmdGC, cmdStatus } from './commands.js';

const load = (args: CmdArgs) => loadClusterIpamConfig(parseConfig<ClusterIpamNetConf>(args.stdinData, v), args.args);

export const plugin: Plugin = {
  name: 'cluster-ipam',
  description: 'CNI cluster-ipam IPAM plugin (address pool shared by many nodes, in etcd)',
  // Every result carries the claimed addresses, so it is expressible at every version.
  resultAddresses: 'self',
  async add(args) {
    return cmdAdd(load(args), args.containerID, args.ifName, args.cniVersion);
  },
  async del(args) {
    await cmdDel(load(args), args.containerID, args.ifName);
  },
  async check(args) {
    await cmdCheck(load(args), args.containerID, args.ifName);
  },
  async gc(args) {
    await cmdGC(load(args), args.validAttachments ?? []);
  },
  async status(args) {
    await cmdStatus(load(args));
  },
};
