// The plugin side of the config: socket path, the options to request and to provide (with the
// reference's rules), the client identifier. Pure functions, unit-tested.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { Opt } from './packet.js';

export const DEFAULT_SOCKET_PATH = '/run/cni/dhcp.sock';

export interface DhcpIpamConf {
  type?: string;
  daemonSocketPath?: string;
  request?: Array<{ option?: string; skipDefault?: boolean }>;
  provide?: Array<{ option?: string; value?: string; fromArg?: string }>;
  priority?: number;
}

export interface DhcpNetConf {
  cniVersion: string;
  name: string;
  ipam?: DhcpIpamConf;
}

/** The option names the reference accepts, besides decimal codes. */
export const OPTION_NAMES: Readonly<Record<string, number>> = {
  'dhcp-client-identifier': Opt.CLIENT_ID,
  'subnet-mask': Opt.SUBNET_MASK,
  routers: Opt.ROUTER,
  'host-name': Opt.HOST_NAME,
  'user-class': Opt.USER_CLASS,
  'vendor-class-identifier': Opt.VENDOR_CLASS_ID,
};

/** Requested when no request[] entry says skipDefault. */
export const DEFAULT_REQUESTED = [Opt.ROUTER, Opt.SUBNET_MASK];

export function parseOptionName(option: string): number {
  const named = OPTION_NAMES[option];
  if (named !== undefined) return named;
  if (!/^[0-9]{1,3}$/.test(option) || Number(option) > 255) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `Can not parse option ${JSON.stringify(option)}: Can not parse option: strconv.ParseUint: parsing ${JSON.stringify(option)}: invalid syntax`,
    );
  }
  return Number(option);
}

/** CNI_ARGS read leniently, as the reference's dhcp does (split on ";", then on the first "="). */
export function lenientArgs(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of raw.split(';')) {
    const eq = pair.indexOf('=');
    if (eq >= 0) out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

export interface PreparedOptions {
  requested: number[];
  provided: Array<[number, Buffer]>;
}

/** The reference's prepareOptions: provide[] values (fromArg wins over value), request[] codes. */
export function prepareOptions(cniArgs: string, ipam: DhcpIpamConf): PreparedOptions {
  const args = lenientArgs(cniArgs);
  const provided = new Map<number, Buffer>();
  for (const opt of ipam.provide ?? []) {
    const name = opt.option ?? '';
    const code = parseOptionName(name);
    if (opt.value) {
      if (Buffer.byteLength(opt.value) > 255) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, `value too long for option ${JSON.stringify(name)}: ${JSON.stringify(opt.value)}`);
      }
      provided.set(code, Buffer.from(opt.value));
    }
    const fromArg = args.get(opt.fromArg ?? '');
    if (fromArg !== undefined && opt.fromArg !== undefined) {
      if (Buffer.byteLength(fromArg) > 255) {
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          `value too long for option ${JSON.stringify(name)} from CNI_ARGS ${JSON.stringify(opt.fromArg)}: ${JSON.stringify(fromArg)}`,
        );
      }
      provided.set(code, Buffer.from(fromArg));
    }
  }
  const requested: number[] = [];
  let skipDefault = false;
  for (const opt of ipam.request ?? []) {
    if (opt.skipDefault) skipDefault = true;
    const code = parseOptionName(opt.option ?? '');
    if (!requested.includes(code)) requested.push(code);
  }
  if (!skipDefault) for (const code of DEFAULT_REQUESTED) if (!requested.includes(code)) requested.push(code);
  return { requested, provided: [...provided] };
}

/** `<cid>/<net>/<if>`, cut to 254 bytes (RFC 2132 option length). */
export function clientIdFor(containerID: string, network: string, ifName: string): string {
  const id = Buffer.from(`${containerID}/${network}/${ifName}`);
  return id.length > 254 ? id.subarray(0, 254).toString() : id.toString();
}
