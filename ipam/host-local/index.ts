// host-local IPAM: hands out addresses from range sets, one lease file per address on the node's
// disk, in the same format as the Go reference (see disk-store.ts), so either can take over.
import { parseConfig } from '../../shared/cni/config.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import * as v from '../../build/generated/validators/host-local.js';
import { type HostLocalNetConf, loadHostLocalConfig } from './config.js';
import { cmdAdd, cmdCheck, cmdDel, cmdGC, cmdStatus } from './commands.js';

const load = (args: CmdArgs) => loadHostLocalConfig(parseConfig<HostLocalNetConf>(args.stdinData, v), args.args);

export const plugin: Plugin = {
  name: 'host-local',
  description: 'CNI host-local IPAM plugin',
  resultAddresses: 'self',
  async add(args) {
    return cmdAdd(load(args), args.containerID, args.ifName, args.cniVersion);
  },
  async del(args) {
    cmdDel(load(args), args.containerID, args.ifName);
  },
  async check(args) {
    cmdCheck(load(args), args.containerID, args.ifName);
  },
  async gc(args) {
    cmdGC(load(args), args.validAttachments ?? []);
  },
  async status(args) {
    cmdStatus(load(args));
  },
};
