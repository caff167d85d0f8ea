// Every binary name the suite installs, and how to load its implementation. Loaders are lazy
// (dynamic import) so one invocation evaluates only the plugin it runs: start-up is the floor of
// every CNI call, and the multi-call bundle carries all plugins.
import type { Plugin } from '../../shared/cni/plugin.js';

export interface PluginEntry {
  /** One line for the about text, as the reference words it. */
  description: string;
  /**
   * undefined: the plugin is not in the running bundle. The executable runs each plugin name from a
   * bundle of that plugin's own code (scripts/build.mjs), so from bridge's, say, only bridge and the
   * IPAM plugins it runs in-process load; any other type is then run as a process.
   */
  load(): Promise<Plugin | undefined>;
}

export const PLUGINS: Readonly<Record<string, PluginEntry>> = {
  // main plugins
  bridge: {
    description: 'CNI bridge plugin',
    load: async () => (await import('../../plugins/bridge/index.js')).plugin,
  },
  ptp: {
    description: 'CNI ptp plugin',
    load: async () => (await import('../../plugins/ptp/index.js')).plugin,
  },
  macvlan: {
    description: 'CNI macvlan plugin',
    load: async () => (await import('../../plugins/macvlan/index.js')).plugin,
  },
  ipvlan: {
    description: 'CNI ipvlan plugin',
    load: async () => (await import('../../plugins/ipvlan/index.js')).plugin,
  },
  vlan: {
    description: 'CNI vlan plugin',
    load: async () => (await import('../../plugins/vlan/index.js')).plugin,
  },
  'host-device': {
    description: 'CNI host-device plugin',
    load: async () => (await import('../../plugins/host-device/index.js')).plugin,
  },
  tap: {
    description: 'CNI tap plugin',
    load: async () => (await import('../../plugins/tap/index.js')).plugin,
  },
  dummy: {
    description: 'CNI dummy plugin',
    load: async () => (await import('../../plugins/dummy/index.js')).plugin,
  },
  loopback: {
    description: 'CNI loopback plugin',
    load: async () => (await import('../../plugins/loopback/index.js')).plugin,
  },
  // IPAM plugins
  'host-local': {
    description: 'CNI host-local IPAM plugin',
    load: async () => (await import('../../ipam/host-local/index.js')).plugin,
  },
  dhcp: {
    description: 'CNI dhcp IPAM plugin',
    load: async () => (await import('../../ipam/dhcp/index.js')).plugin,
  },
  static: {
    description: 'CNI static IPAM plugin',
    load: async () => (await import('../../ipam/static/index.js')).plugin,
  },
  'cluster-ipam': {
    description: 'CNI cluster-ipam IPAM plugin (address pool shared by many nodes, in etcd)',
    load: async () => (await import('../../ipam/cluster-ipam/index.js')).plugin,
  },
  // meta plugins
  portmap: {
    description: 'CNI portmap plugin',
    load: async () => (await import('../../plugins/portmap/index.js')).plugin,
  },
  firewall: {
    description: 'CNI firewall plugin',
    load: async () => (await import('../../plugins/firewall/index.js')).plugin,
  },
  tuning: {
    description: 'CNI tuning plugin',
    load: async () => (await import('../../plugins/tuning/index.js')).plugin,
  },
  bandwidth: {
    description: 'CNI bandwidth plugin',
    load: async () => (await import('../../plugins/bandwidth/index.js')).plugin,
  },
  sbr: {
    description: 'CNI sbr plugin',
    load: async () => (await import('../../plugins/sbr/index.js')).plugin,
  },
  vrf: {
    description: 'CNI vrf plugin',
    load: async () => (await import('../../plugins/vrf/index.js')).plugin,
  },
  flannel: {
    description: 'CNI flannel plugin',
    load: async () => (await import('../../plugins/flannel/index.js')).plugin,
  },
};

export const PLUGIN_NAMES: readonly string[] = Object.keys(PLUGINS);

export function isPluginName(name: string): boolean {
  return Object.hasOwn(PLUGINS, name);
}
