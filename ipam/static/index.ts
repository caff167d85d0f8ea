// static IPAM: returns the addresses, routes and DNS it is configured with; keeps no state.
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin.js';
import type { Result } from '../../shared/cni/types.js';
import { equalIP, formatIP, parseCIDR, parseIP } from '../../shared/ip/index.js';
import * as v from '../../build/generated/validators/static.js';
import { type StaticConfig, type StaticNetConf, loadStaticConfig, toIPConfig } from './config.js';

const load = (args: CmdArgs): StaticConfig => loadStaticConfig(parseConfig<StaticNetConf>(args.stdinData, v), args.args);

export const plugin: Plugin = {
  name: 'static',
  description: 'CNI static IPAM plugin',
  resultAddresses: 'self',
  async add(args) {
    const conf = load(args);
    const result: Result = { cniVersion: args.cniVersion, ips: conf.addresses.map(toIPConfig) };
    if (conf.routes) result.routes = conf.routes;
    if (conf.dns) result.dns = conf.dns;
    return result;
  },
  async del() {
    // Nothing was allocated, so nothing to release; like the reference, not even the config is read.
  },
  async check(args) {
    const conf = load(args);
    if (!args.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, 'Required prevResult missing');
    // Each configured address found in prevResult must carry the configured gateway, if any.
    for (const want of conf.addresses) {
      for (const got of args.prevResult.ips ?? []) {
        const gotIP = parseCIDR(got.address)?.ip;
        if (!gotIP || !equalIP(gotIP, want.net.ip)) continue;
        const gotGw = got.gateway !== undefined ? parseIP(got.gateway) : undefined;
        if (!want.gateway || (gotGw && equalIP(gotGw, want.gateway))) break;
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          `static: Failed to match addr ${formatIP(gotIP)} on interface ${args.ifName}`,
        );
      }
    }
  },
};
