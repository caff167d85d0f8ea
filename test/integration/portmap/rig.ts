// A node for portmap tests: a test netns playing the node, with our bridge + host-local (dist/bin)
// giving containers addresses on a bridge, then portmap chained with the bridge's result, as a
// runtime runs a conflist. Servers run inside containers, socat is the client; traffic only inside these netns.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createNetns, execInNetns, netnsPath, removeNetns } from '../../helpers/netns.js';
import { cniEnv, type Impl, removeDir, runIn, tempDir } from '../../helpers/node-rig.js';
import { DIST_BIN, type PluginRun } from '../../helpers/plugin.js';
import path from 'node:path';

export const NET = 'pmnet';
export const BRIDGE = 'pm-br0';
export const SUBNET4 = '10.31.1.0/24';
export const GW4 = '10.31.1.1';
export const SUBNET6 = 'fd31:1::/64';
export const GW6 = 'fd31:1::1';

export interface Mapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface Container {
  readonly id: string;
  readonly ns: string;
  readonly result: Record<string, unknown>;
  readonly ip4: string;
  readonly ip6: string;
}

export class PortmapNode {
  readonly ns: string;
  readonly stateDir = tempDir('pm-state-');
  private readonly ipamDir = tempDir('pm-ipam-');
  private readonly containers: Container[] = [];
  private readonly servers: ChildProcess[] = [];

  constructor(readonly cniVersion = '1.0.0') {
    this.ns = createNetns('pm-node');
    execInNetns(this.ns, 'ip', ['link', 'set', 'lo', 'up']);
  }

  bridgeConf(): Record<string, unknown> {
    return {
      cniVersion: this.cniVersion,
      name: NET,
      type: 'bridge',
      bridge: BRIDGE,
      isGateway: true,
      hairpinMode: true,
      ipam: { type: 'host-local', dataDir: this.ipamDir, ranges: [[{ subnet: SUBNET4 }], [{ subnet: SUBNET6 }]] },
    };
  }

  portmapConf(prevResult: unknown, mappings: Mapping[], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cniVersion: this.cniVersion,
      name: NET,
      type: 'portmap',
      capabilities: { portMappings: true },
      ...extra,
      runtimeConfig: { portMappings: mappings },
      ...(prevResult === undefined ? {} : { prevResult }),
    };
  }

  /** A container on the bridge (our bridge + host-local ADD), its lo up. */
  addContainer(id: string): Container {
    const ns = createNetns('pm-ctr');
    execInNetns(ns, 'ip', ['link', 'set', 'lo', 'up']);
    const run = runIn(this.ns, 'bridge', cniEnv('ADD', ns, id), this.bridgeConf());
    if (run.status !== 0) throw new Error(`bridge ADD failed: ${run.stdout} ${run.stderr}`);
    const result = run.json as { ips: { address: string }[] };
    const addr = (v6: boolean): string => result.ips.map((i) => i.address.split('/')[0]!).find((a) => a.includes(':') === v6)!;
    const c: Container = { id, ns, result: run.json as Record<string, unknown>, ip4: addr(false), ip6: addr(true) };
    this.containers.push(c);
    return c;
  }

  /** Runs portmap (ours or the reference) in the node for one container. */
  portmap(command: string, c: Container, conf: Record<string, unknown>, impl: Impl = 'ours'): PluginRun {
    return runIn(this.ns, 'portmap', cniEnv(command, c.ns, c.id, 'eth0', { TSCNI_STATE_DIR: this.stateDir }), conf, impl);
  }

  /** The same, without blocking: for parallel calls. */
  portmapAsync(command: string, c: Container, conf: Record<string, unknown>): Promise<{ status: number; stdout: string }> {
    const env = { PATH: process.env.PATH, CNI_PATH: DIST_BIN, ...cniEnv(command, c.ns, c.id, 'eth0', { TSCNI_STATE_DIR: this.stateDir }) };
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', this.ns, path.join(DIST_BIN, 'portmap')], { env: env as NodeJS.ProcessEnv });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ status: code ?? -1, stdout }));
      child.stdin.end(JSON.stringify(conf));
    });
  }

  /**
   * Servers in a container: TCP `port` answers `tcp-<reply>` and closes, UDP `port` answers every
   * datagram with `udp-<reply>`. A few lines of Node (socat's UDP fork mode sometimes stops answering).
   */
  serve(c: Container, port: number, reply: string): void {
    const script = [
      "const [port, reply] = process.argv.slice(1);",
      "require('node:net').createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => {}); s.end(`tcp-${reply}\\n`); s.resume(); }).listen({ port: Number(port), host: '::', ipv6Only: false });",
      "const u = require('node:dgram').createSocket({ type: 'udp6', ipv6Only: false });",
      "u.on('message', (m, r) => u.send(`udp-${reply}\\n`, r.port, r.address));",
      "u.bind(Number(port), '::');",
    ].join('\n');
    const p = spawn('ip', ['netns', 'exec', c.ns, process.execPath, '-e', script, String(port), reply], { stdio: 'ignore' });
    this.servers.push(p);
    // Both sockets bound before any test sends (the server starts in the background).
    for (let i = 0; i < 100; i++) {
      const ss = (flags: string) => execInNetns(c.ns, 'ss', [flags, 'sport', '=', `:${port}`]).stdout.trim();
      if (ss('-Hltn') !== '' && ss('-Hlun') !== '') return;
      spawnSync('sleep', ['0.05']);
    }
    throw new Error(`servers on port ${port} in ${c.ns} did not start`);
  }

  /** What `tcp`/`udp` to host:port from netns `from` answers ('' when nothing does). */
  request(from: string, proto: 'tcp' | 'udp', host: string, port: number, tries = 3): string {
    const target = host.includes(':') ? `[${host}]` : host;
    const addr = proto === 'tcp' ? `TCP:${target}:${port},connect-timeout=2` : `UDP:${target}:${port}`;
    let out = '';
    for (let i = 0; i < tries && out === ''; i++) {
      // TCP sends nothing: data arriving after the server's `echo` exited would make it answer with
      // a RST, which discards the reply before the client reads it. UDP needs a datagram to answer.
      const input = proto === 'udp' ? 'ping\n' : '';
      const r = spawnSync('ip', ['netns', 'exec', from, 'socat', '-T', '2', '-t', '2', '-', addr], { input, encoding: 'utf8', timeout: 8000 });
      out = (r.stdout ?? '').trim();
    }
    return out;
  }

  /** `iptables-save -t nat` (or ip6tables) lines, without counters and comments of the tool. */
  natRules(family: 4 | 6): string[] {
    const r = execInNetns(this.ns, family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'nat']);
    return r.stdout.split('\n').filter((l) => l.startsWith('-A ') || (l.startsWith(':') && !/^:(PREROUTING|INPUT|OUTPUT|POSTROUTING) /.test(l)));
  }

  /** `nft -j list ruleset` items (metainfo dropped, handles removed). */
  nftRuleset(): unknown[] {
    const r = execInNetns(this.ns, 'nft', ['-j', 'list', 'ruleset']);
    const items = (JSON.parse(r.stdout || '{"nftables":[]}') as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
    return items
      .filter((i) => !('metainfo' in i))
      .map((i) => Object.fromEntries(Object.entries(i).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([f]) => f !== 'handle'))])));
  }

  /** `conntrack -L -p udp --dport N` lines in the node (the independent oracle). */
  conntrackUdp(port: number, family: 4 | 6 = 4): string[] {
    const r = execInNetns(this.ns, 'conntrack', ['-L', '-f', family === 4 ? 'ipv4' : 'ipv6', '-p', 'udp', '--dport', String(port)]);
    return r.stdout.split('\n').filter((l) => l.includes('udp'));
  }

  /** Makes the node's netns track connections (it does only once a rule needs conntrack). */
  enableConntrack(): void {
    const script = 'add table ip pm_ct\nadd chain ip pm_ct out { type filter hook output priority 0 ; }\nadd rule ip pm_ct out ct state new counter\n';
    const r = spawnSync('ip', ['netns', 'exec', this.ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft: ${r.stderr}`);
  }

  sysctl(name: string): string {
    return execInNetns(this.ns, 'sysctl', ['-n', name]).stdout.trim();
  }

  /** Removes every container (bridge DEL), server and netns of this node. */
  destroy(): void {
    for (const p of this.servers) if (p.pid !== undefined) p.kill('SIGKILL');
    for (const c of this.containers) {
      runIn(this.ns, 'bridge', cniEnv('DEL', c.ns, c.id), this.bridgeConf());
      removeNetns(c.ns);
    }
    removeNetns(this.ns);
    removeDir(this.stateDir);
    removeDir(this.ipamDir);
  }
}

export { netnsPath };
