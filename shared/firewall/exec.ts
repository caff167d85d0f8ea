// Runs the firewall tools (nft, iptables-save, iptables-restore, ...). Always an argument vector and
// rule text on stdin: no shell ever parses anything we build.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The tool is not installed (neither on PATH nor in the usual sbin directories). */
export class ToolMissingError extends Error {
  readonly tool: string;
  constructor(tool: string) {
    super(`${tool} not found in PATH or /usr/sbin, /sbin, /usr/local/sbin`);
    this.name = 'ToolMissingError';
    this.tool = tool;
  }
}

// Runtimes often start plugins with a PATH lacking the sbin directories where Debian, Fedora and
// Alpine put these tools, so look there too after PATH.
const FALLBACK_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
const TOOL_TIMEOUT_MS = 60_000;
const resolved = new Map<string, string | null>();

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of a tool, or undefined when it is not installed. Cached per process. */
export function findTool(name: string): string | undefined {
  const cached = resolved.get(name);
  if (cached !== undefined) return cached ?? undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...FALLBACK_DIRS];
  const found = dirs.map((d) => join(d, name)).find(isExecutable) ?? null;
  resolved.set(name, found);
  return found ?? undefined;
}

/**
 * Run `name args...`, feeding `stdin` when given; resolves with the exit status and output
 * (never rejects on a non-zero exit). Rejects with ToolMissingError when the tool is not installed.
 */
export function runTool(name: string, args: readonly string[], stdin?: string): Promise<ToolResult> {
  const path = findTool(name);
  if (path === undefined) return Promise.reject(new ToolMissingError(name));
  return new Promise((resolve, reject) => {
    // Loaded on first use: a bridge or ptp call without ipMasq never needs it (~2.5 ms of start-up).
    const { spawn } = process.getBuiltinModule('node:child_process');
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: TOOL_TIMEOUT_MS });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new ToolMissingError(name) : e));
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `\n${name} killed by ${signal}` : ''),
      });
    });
    // A tool that exits early (e.g. a parse error) closes its stdin: that EPIPE is not our failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}

/** A tool ran and failed: carries what it printed, for error details. */
export class ToolFailedError extends Error {
  readonly result: ToolResult;
  constructor(what: string, result: ToolResult) {
    super(`${what} failed (exit ${result.code}): ${result.stderr.trim()}`);
    this.name = 'ToolFailedError';
    this.result = result;
  }
}
