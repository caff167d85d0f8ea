// A private D-Bus daemon for the firewalld tests (never the host's system bus), and the stub
// firewalld service on it. Everything started here is stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../helpers/plugin.js';

const NODE = join(ROOT, 'node_modules/.bin/node');
const RESOLVER = join(ROOT, 'test/integration/firewall/ts-resolve.mjs');
const STUB = join(ROOT, 'test/integration/firewall-plugin/firewalld-stub.ts');

/** Lines from a child's stdout until `want` matches one; rejects after `ms`. */
function firstLine(child: ChildProcess, want: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${want}: ${buf} ${err}`)), ms);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => want.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${want}: ${buf} ${err}`));
    });
  });
}

export interface Call {
  interface: string;
  member: string;
  path: string;
  signature: string;
  zone: string;
  source: string;
}

export class PrivateBus {
  readonly dir = mkdtempSync(join(tmpdir(), 'fw-dbus-'));
  readonly socket = join(this.dir, 'bus');
  readonly address = `unix:path=${this.socket}`;
  readonly log = join(this.dir, 'calls.jsonl');
  private daemon: ChildProcess | undefined;
  private stub: ChildProcess | undefined;

  async start(): Promise<void> {
    const config = join(this.dir, 'bus.conf');
    writeFileSync(
      config,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>${this.address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
    );
    this.daemon = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await firstLine(this.daemon, /^unix:/, 10_000);
  }

  async startStub(): Promise<void> {
    writeFileSync(this.log, '');
    this.stub = spawn(NODE, ['--import', RESOLVER, STUB, this.address, this.log], { stdio: ['ignore', 'pipe', 'pipe'] });
    await firstLine(this.stub, /^ready$/, 15_000);
  }

  stopStub(): void {
    const pid = this.stub?.exitCode === null ? this.stub.pid : undefined;
    if (pid) process.kill(pid, 'SIGTERM');
    this.stub = undefined;
  }

  calls(): Call[] {
    if (!existsSync(this.log)) return [];
    return readFileSync(this.log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Call);
  }

  clearCalls(): void {
    writeFileSync(this.log, '');
  }

  stop(): void {
    this.stopStub();
    const pid = this.daemon?.exitCode === null ? this.daemon.pid : undefined;
    if (pid) process.kill(pid, 'SIGTERM');
    this.daemon = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
