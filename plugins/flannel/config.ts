// flannel's own config: decoding, defaults and the reference's checks of the `delegate` map.
import { parseConfig } from '../../shared/cni/config.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import type { JsonObject } from '../../shared/cni/fold.js';
import * as v from '../../build/generated/validators/flannel.js';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';

export interface FlannelConf {
  cniVersion: string;
  name: string;
  subnetFile: string;
  dataDir: string;
  delegate?: JsonObject;
  ipam?: JsonObject;
  runtimeConfig?: JsonObject;
}

interface RawConf {
  cniVersion?: string;
  name?: string;
  subnetFile?: string;
  dataDir?: string;
  delegate?: JsonObject;
  ipam?: JsonObject;
  runtimeConfig?: JsonObject;
}

const invalid = (msg: string, details = ''): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg, details);

export function loadConf(stdinData: Buffer | string): FlannelConf {
  const raw = parseConfig<RawConf>(stdinData, v);
  return {
    cniVersion: raw.cniVersion ?? '',
    name: raw.name ?? '',
    // The reference keeps a default only when the key is absent; an empty string stays empty and
    // then fails on open, so does ours.
    subnetFile: raw.subnetFile ?? DEFAULT_SUBNET_FILE,
    dataDir: raw.dataDir ?? DEFAULT_DATA_DIR,
    ...(raw.delegate !== undefined ? { delegate: raw.delegate } : {}),
    ...(raw.ipam !== undefined ? { ipam: raw.ipam } : {}),
    ...(raw.runtimeConfig !== undefined ? { runtimeConfig: raw.runtimeConfig } : {}),
  };
}

/** The reference's ADD-time checks of `delegate` (its messages; code 7 names the key). */
export function checkDelegateMap(d: JsonObject | undefined): void {
  if (!d) return;
  if (Object.hasOwn(d, 'type') && typeof d['type'] !== 'string') {
    throw invalid("'delegate' dictionary, if present, must have (string) 'type' field", `delegate.type: ${JSON.stringify(d['type'])}`);
  }
  if (Object.hasOwn(d, 'name')) {
    throw invalid("'delegate' dictionary must not have 'name' field, it'll be set by flannel", `delegate.name: ${JSON.stringify(d['name'])}`);
  }
  if (Object.hasOwn(d, 'ipam')) {
    throw invalid("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel", 'delegate.ipam');
  }
}
