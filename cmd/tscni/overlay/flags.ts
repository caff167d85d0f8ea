// `tscni overlay` flags in flanneld's spelling, parsed as Go's flag package does: `-name value`,
// `-name=value`, `--name` alike; booleans take no separate value (`-ip-masq`, `-ip-masq=false`);
// parsing stops at the first non-flag argument or at `--`. As flanneld, FLANNELD_<NAME> environment
// variables (upper case, '-' -> '_') give defaults that the command line overrides.
export interface OverlayFlags {
  etcdEndpoints: string[];
  etcdPrefix: string;
  etcdCertfile: string;
  etcdKeyfile: string;
  etcdCafile: string;
  etcdUsername: string;
  etcdPassword: string;
  /** -iface, repeatable: interface names or addresses, tried in order. */
  iface: string[];
  publicIP: string;
  subnetFile: string;
  ipMasq: boolean;
  /** Ours: on SIGTERM/SIGINT also delete the lease, the device, the masquerade rules and subnet.env. */
  releaseOnExit: boolean;
  /** Minutes before the lease's expiry at which it is renewed (flanneld: 1..1439, default 60). */
  subnetLeaseRenewMargin: number;
  /** Ours: the lease's TTL in seconds (flanneld's is fixed at 24 h). */
  subnetLeaseTTL: number;
  help: boolean;
}

type Kind = 'string' | 'list' | 'bool' | 'int';
interface FlagDef {
  kind: Kind;
  key: keyof OverlayFlags;
  usage: string;
}

export const FLAG_DEFS: Readonly<Record<string, FlagDef>> = {
  'etcd-endpoints': { kind: 'string', key: 'etcdEndpoints', usage: 'a comma-delimited list of etcd endpoints' },
  'etcd-prefix': { kind: 'string', key: 'etcdPrefix', usage: 'etcd prefix' },
  'etcd-certfile': { kind: 'string', key: 'etcdCertfile', usage: 'SSL certification file used to secure etcd communication' },
  'etcd-keyfile': { kind: 'string', key: 'etcdKeyfile', usage: 'SSL key file used to secure etcd communication' },
  'etcd-cafile': { kind: 'string', key: 'etcdCafile', usage: 'SSL Certificate Authority file used to secure etcd communication' },
  'etcd-username': { kind: 'string', key: 'etcdUsername', usage: 'username for BasicAuth to etcd' },
  'etcd-password': { kind: 'string', key: 'etcdPassword', usage: 'password for BasicAuth to etcd' },
  iface: { kind: 'list', key: 'iface', usage: 'interface to use (IP or name) for inter-host communication; may be repeated' },
  'public-ip': { kind: 'string', key: 'publicIP', usage: 'IP accessible by other nodes for inter-host communication' },
  'subnet-file': { kind: 'string', key: 'subnetFile', usage: 'filename where env variables (subnet, MTU, ... ) will be written to' },
  'ip-masq': { kind: 'bool', key: 'ipMasq', usage: 'setup IP masquerade rule for traffic destined outside of overlay network' },
  'release-on-exit': { kind: 'bool', key: 'releaseOnExit', usage: 'on SIGTERM/SIGINT release the subnet lease and delete the VXLAN device, masquerade rules and subnet file' },
  'subnet-lease-renew-margin': { kind: 'int', key: 'subnetLeaseRenewMargin', usage: 'subnet lease renewal margin, in minutes, ranging from 1 to 1439' },
  'subnet-lease-ttl': { kind: 'int', key: 'subnetLeaseTTL', usage: 'subnet lease TTL in seconds (flanneld: 86400, fixed)' },
  help: { kind: 'bool', key: 'help', usage: 'print this message' },
  h: { kind: 'bool', key: 'help', usage: 'print this message' },
};

export function defaultFlags(): OverlayFlags {
  return {
    etcdEndpoints: ['http://127.0.0.1:4001', 'http://127.0.0.1:2379'],
    etcdPrefix: '/coreos.com/network',
    etcdCertfile: '',
    etcdKeyfile: '',
    etcdCafile: '',
    etcdUsername: '',
    etcdPassword: '',
    iface: [],
    publicIP: '',
    subnetFile: '/run/flannel/subnet.env',
    ipMasq: false,
    releaseOnExit: false,
    subnetLeaseRenewMargin: 60,
    subnetLeaseTTL: 86400,
    help: false,
  };
}

/** A usage error: the message as Go's flag package words it (the command exits 2). */
export class FlagError extends Error {}

function parseBool(name: string, text: string): boolean {
  // strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new FlagError(`invalid boolean value ${JSON.stringify(text)} for -${name}: parse error`);
}

function parseInt10(name: string, text: string): number {
  if (!/^[+-]?[0-9]+$/.test(text)) throw new FlagError(`invalid value ${JSON.stringify(text)} for flag -${name}: parse error`);
  return Number(text);
}

function assign(flags: OverlayFlags, name: string, def: FlagDef, value: string, fromEnv: boolean): void {
  const f = flags as unknown as Record<string, unknown>;
  switch (def.kind) {
    case 'bool':
      f[def.key] = parseBool(name, value);
      break;
    case 'int':
      f[def.key] = parseInt10(name, value);
      break;
    case 'list':
      // The environment gives a comma list; each -iface on the command line adds one.
      f[def.key] = fromEnv ? value.split(',').filter((s) => s !== '') : [...(f[def.key] as string[]), value];
      break;
    case 'string':
      if (def.key === 'etcdEndpoints') f[def.key] = value.split(',').filter((s) => s !== '');
      else f[def.key] = value;
      break;
  }
}

/** Parses argv (without the program and command names). `env` supplies FLANNELD_* defaults. */
export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv = {}): { flags: OverlayFlags; rest: string[] } {
  const flags = defaultFlags();
  for (const [name, def] of Object.entries(FLAG_DEFS)) {
    if (name === 'h' || name === 'help') continue;
    const v = env[`FLANNELD_${name.toUpperCase().replace(/-/g, '_')}`];
    if (v !== undefined && v !== '') assign(flags, name, def, v, true);
  }
  let cmdlineIface = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.length < 2 || arg[0] !== '-') break;
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new FlagError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const def = FLAG_DEFS[name];
    if (!def || !Object.hasOwn(FLAG_DEFS, name)) throw new FlagError(`flag provided but not defined: -${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (def.kind === 'bool') value = 'true';
    else {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    // The command line replaces the environment's -iface list instead of adding to it.
    if (def.kind === 'list' && !cmdlineIface) {
      flags.iface = [];
      cmdlineIface = true;
    }
    assign(flags, name, def, value, false);
  }
  if (flags.subnetLeaseRenewMargin < 1 || flags.subnetLeaseRenewMargin > 1439) {
    throw new FlagError(`invalid value "${flags.subnetLeaseRenewMargin}" for flag -subnet-lease-renew-margin: must be 1..1439`);
  }
  if (flags.subnetLeaseTTL < 2) throw new FlagError(`invalid value "${flags.subnetLeaseTTL}" for flag -subnet-lease-ttl: must be at least 2 seconds`);
  return { flags, rest: argv.slice(i) };
}

export function usage(): string {
  const lines = ['Usage: tscni overlay [flags]', ''];
  const d = defaultFlags() as unknown as Record<string, unknown>;
  for (const [name, def] of Object.entries(FLAG_DEFS)) {
    if (name === 'h') continue;
    const dv = d[def.key];
    const shown = Array.isArray(dv) ? dv.join(',') : String(dv);
    lines.push(`  -${name}${def.kind === 'bool' ? '' : ' ' + def.kind}`);
    lines.push(`    \t${def.usage}${shown !== '' && shown !== 'false' ? ` (default ${JSON.stringify(shown)})` : ''}`);
  }
  return lines.join('\n') + '\n';
}
