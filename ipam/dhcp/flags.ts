// Daemon flags with Go's `flag` package rules: `-name value`, `-name=value`, `--name`, booleans
// without a value, Go durations ("10s", "1m30s", "250ms").
export interface DaemonFlags {
  socketPath: string;
  pidfile: string;
  hostPrefix: string;
  timeoutMs: number;
  resendMaxMs: number;
  resendTimeoutMs: number;
  broadcast: boolean;
  stateDir: string;
  leaseTimeScale: number;
}

export const DEFAULT_STATE_DIR = '/var/lib/cni/dhcp';

export const DAEMON_USAGE = `Usage of dhcp daemon:
  -socketpath string      unix socket the plugin talks to (default /run/cni/dhcp.sock)
  -pidfile string         optional absolute path to write the daemon's PID to
  -hostprefix string      optional prefix of the host root (socket and netns paths)
  -timeout duration       one DHCP exchange (default 10s)
  -resendmax duration     cap of the retry backoff (default 1m2s)
  -resendtimeout duration give up acquiring a lease after this long (default 3m28s)
  -broadcast              ask servers to broadcast their replies (BROADCAST flag)
  -statedir string        lease files, reloaded on start (default ${DEFAULT_STATE_DIR})
  -test-lease-scale float TESTS ONLY: multiply T1, T2 and lease time by this factor (default 1)
`;

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  const neg = s.startsWith('-');
  if (neg || s.startsWith('+')) pos = 1;
  if (pos >= s.length) throw new Error(`time: invalid duration "${s}"`);
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new Error(`time: invalid duration "${s}"`);
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return neg ? -total : total;
}

export function parseDaemonFlags(argv: readonly string[]): DaemonFlags {
  const f: DaemonFlags = {
    socketPath: '',
    pidfile: '',
    hostPrefix: '',
    timeoutMs: 10_000,
    resendMaxMs: 62_000,
    resendTimeoutMs: 208_000,
    broadcast: false,
    stateDir: DEFAULT_STATE_DIR,
    leaseTimeScale: 1,
  };
  const strings: Record<string, (v: string) => void> = {
    socketpath: (v) => (f.socketPath = v),
    pidfile: (v) => (f.pidfile = v),
    hostprefix: (v) => (f.hostPrefix = v),
    statedir: (v) => (f.stateDir = v),
    timeout: (v) => (f.timeoutMs = parseDuration(v)),
    resendmax: (v) => (f.resendMaxMs = parseDuration(v)),
    resendtimeout: (v) => (f.resendTimeoutMs = parseDuration(v)),
    'test-lease-scale': (v) => {
      const n = Number(v);
      if (!(n > 0) || !Number.isFinite(n)) throw new Error(`invalid value "${v}" for flag -test-lease-scale`);
      f.leaseTimeScale = n;
    },
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-' ) throw new Error(`unexpected argument "${a}"`);
    if (a === '--') break;
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (name === 'h' || name === 'help') throw new Error('help requested');
    if (name === 'broadcast') {
      const v = (inline ?? 'true').toLowerCase();
      if (!['1', 't', 'true', '0', 'f', 'false'].includes(v)) throw new Error(`invalid boolean value "${inline}" for -broadcast`);
      f.broadcast = ['1', 't', 'true'].includes(v);
      continue;
    }
    const set = strings[name];
    if (!set) throw new Error(`flag provided but not defined: -${name}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`flag needs an argument: -${name}`);
    try {
      set(value);
    } catch (e) {
      throw new Error(`invalid value "${value}" for flag -${name}: ${(e as Error).message}`);
    }
  }
  if (f.socketPath === '') f.socketPath = '/run/cni/dhcp.sock';
  return f;
}
