// The ifb device egress traffic is redirected to: its name (the reference's hash), its alias (ours:
// how GC finds the ifbs of stale attachments of one network without state files), its creation with
// a one-time `modprobe ifb` fallback, and its removal.
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { formatHashWithPrefix } from '../../shared/firewall/hash.js';
import { runTool } from '../../shared/firewall/exec.js';
import { isErrno, type Link, type Netlink } from '../../shared/netlink/index.js';
import { errorText } from '../../shared/sys/error-text.js';
import { tracePhase } from '../../shared/sys/trace.js';

const IFALIASZ = 256;
const ALIAS_PREFIX = 'tscni bandwidth ';

/** bwp + sha512(network + containerID) hex, 15 characters (the reference's getIfbDeviceName). */
export const ifbName = (network: string, containerID: string): string => formatHashWithPrefix(15, 'bwp', network + containerID);

export interface IfbOwner {
  network: string;
  containerID: string;
  ifName: string;
  /** The host veth whose ingress is redirected to this ifb. */
  hostVeth: string;
}

/** "tscni bandwidth net=<net> id=<cid> if=<if> host=<veth>"; undefined when it would not fit IFALIASZ. */
export function formatIfbAlias(o: IfbOwner): string | undefined {
  const alias = `${ALIAS_PREFIX}net=${o.network} id=${o.containerID} if=${o.ifName} host=${o.hostVeth}`;
  return Buffer.byteLength(alias) < IFALIASZ ? alias : undefined;
}

/** The owner named by an alias we wrote; undefined for any other alias (a Go-created ifb has none). */
export function parseIfbAlias(alias: string | undefined): IfbOwner | undefined {
  if (!alias?.startsWith(ALIAS_PREFIX)) return undefined;
  const fields = new Map<string, string>();
  for (const part of alias.slice(ALIAS_PREFIX.length).split(' ')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const network = fields.get('net');
  const containerID = fields.get('id');
  const ifName = fields.get('if');
  const hostVeth = fields.get('host');
  if (!network || !containerID || !ifName || !hostVeth) return undefined;
  return { network, containerID, ifName, hostVeth };
}

// The kernel answers an unknown link kind with EOPNOTSUPP once its own module request failed.
const NO_IFB = ['EOPNOTSUPP', 'ENODEV', 'ENOENT', 'EPROTONOSUPPORT'];
const noIfbSupport = (err: unknown): boolean => NO_IFB.some((code) => isErrno(err, code));

export interface CreateIfbOptions {
  name: string;
  mtu: number;
  txQLen: number;
  alias: string | undefined;
}

/** Creates the ifb UP with the host veth's MTU; loads the ifb module once if the kind is unknown. */
export async function createIfb(host: Netlink, o: CreateIfbOptions): Promise<Link> {
  const create = (): void => host.createIfb({ name: o.name, mtu: o.mtu, txQLen: o.txQLen, up: true });
  try {
    create();
  } catch (err) {
    if (!noIfbSupport(err)) throw new Error(`adding link: ${errorText(err)}`, { cause: err });
    let loaded = '';
    try {
      const r = await runTool('modprobe', ['ifb']);
      loaded = r.code === 0 ? '' : `modprobe ifb exited ${r.code}: ${r.stderr.trim()}`;
    } catch (e) {
      loaded = `modprobe ifb: ${errorText(e)}`;
    }
    try {
      create();
    } catch (again) {
      const why = errorText(again);
      throw new CniError(ErrorCode.KernelRefused, `the kernel has no ifb support: cannot create ifb device ${o.name} for egress shaping`, loaded ? `${why}; ${loaded}` : why);
    }
  }
  const link = host.getLink(o.name);
  if (o.alias !== undefined) {
    try {
      host.setAlias(link, o.alias);
    } catch (err) {
      host.deleteLink(link);
      throw err;
    }
  }
  return link;
}

/**
 * Deletes the ifb by name; a missing one is fine (the reference's TeardownIfb). A link of that name
 * that is not an ifb is not ours (an ADD that found the name taken failed): left alone, where the
 * reference would delete it.
 */
export function deleteIfb(host: Netlink, name: string): void {
  const link = host.findLink(name);
  if (!link || link.kind !== 'ifb') return;
  // TSCNI_TRACE=1: the kernel's own link delete (most of a DEL) apart from our work, as bridge's.
  tracePhase('bandwidth', 'link found');
  try {
    host.deleteLink(link);
  } catch (err) {
    if (!isErrno(err, 'ENODEV')) throw err;
  }
  tracePhase('bandwidth', 'link deleted');
}
