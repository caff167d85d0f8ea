// The suite's internal result model is the newest spec shape (1.1.0). The skel converts it to
// the config's cniVersion on output (shared/cni/convert.ts) and converts prevResult into it on input.

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig {
  /** Index into interfaces[]; absent for IPAM results. */
  interface?: number;
  /** CIDR with the host bits kept, e.g. "10.1.2.3/24". */
  address: string;
  gateway?: string;
}

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A result in the current (1.x) shape. cniVersion is the version it will be printed as. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** One attachment named in GC's cni.dev/valid-attachments. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** Fields every plugin config may carry (SPEC §"Plugin configuration objects"). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: IPAMConf;
  dns?: DNS;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
  prevResult?: Result;
  'cni.dev/valid-attachments'?: Attachment[];
}

export interface IPAMConf {
  type: string;
  [key: string]: unknown;
}
