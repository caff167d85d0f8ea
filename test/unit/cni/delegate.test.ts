import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGc,
  delegateStatus,
  findPlugin,
  registerInProcessDelegates,
} from '../../../shared/cni/delegate.js';
import { CniError } from '../../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../../shared/cni/plugin.js';

let dir: string;
let log: string;

/** A fake plugin: records env and stdin, then behaves as FAKE_MODE says. */
const FAKE = `#!/bin/sh
{ echo "cmd=$CNI_COMMAND cid=$CNI_CONTAINERID extra=$FAKE_EXTRA"; cat; echo; } >> "$FAKE_LOG"
echo "fake stderr line" >&2
case "$FAKE_MODE" in
  ok040) printf '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.9.0.2/24","gateway":"10.9.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}' ;;
  ok100) printf '{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"}]}' ;;
  err) printf '{"code":11,"msg":"try later","details":"busy"}'; exit 1 ;;
  silent) exit 3 ;;
  garbage) printf 'not json'; exit 1 ;;
  badresult) printf 'not json' ;;
esac
exit 0
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tscni-delegate-'));
  log = join(dir, 'log');
  writeFileSync(join(dir, 'fake-ipam'), FAKE);
  chmodSync(join(dir, 'fake-ipam'), 0o755);
  writeFileSync(join(dir, 'not-a-dir-entry'), '');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => registerInProcessDelegates(undefined));

function env(mode: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'ctr9',
    CNI_PATH: `/nonexistent-tscni:${dir}`,
    FAKE_LOG: log,
    FAKE_MODE: mode,
    FAKE_EXTRA: 'inherited',
    ...extra,
  };
}

const stdin = (version: string): Buffer => Buffer.from(JSON.stringify({ cniVersion: version, name: 'n', ipam: { type: 'fake-ipam' } }));

async function caught(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected a rejection');
}

describe('findPlugin', () => {
  it('searches CNI_PATH in order', async () => {
    expect(await findPlugin('fake-ipam', `/nonexistent-tscni:${dir}`)).toBe(join(dir, 'fake-ipam'));
  });

  it('a missing plugin names the type and the path', async () => {
    const e = await caught(findPlugin('host-local', `/a:${dir}`));
    expect(e).toBeInstanceOf(CniError);
    expect(e.msg).toBe(`failed to find plugin "host-local" in path [/a ${dir}]`);
    expect((await caught(findPlugin('', dir))).msg).toBe('no plugin name provided');
    expect((await caught(findPlugin('../x', dir))).msg).toBe('invalid plugin name: ../x');
    expect((await caught(findPlugin('x', ''))).msg).toContain('CNI_PATH is empty');
  });
});

describe('delegation by exec', () => {
  it('ADD: same env with CNI_COMMAND overridden, config on stdin, stderr passed through, result parsed', async () => {
    writeFileSync(log, '');
    let stderr = '';
    const result = await delegateAdd('fake-ipam', stdin('0.4.0'), env('ok040', { CNI_COMMAND: 'DEL' }), {
      stderr: (s) => {
        stderr += s;
      },
    });
    expect(result).toStrictEqual({
      cniVersion: '0.4.0',
      ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    expect(readFileSync(log, 'utf8')).toBe(`cmd=ADD cid=ctr9 extra=inherited\n${stdin('0.4.0').toString()}\n`);
    expect(stderr).toBe('fake stderr line\n');
  });

  it('DEL, CHECK, GC and STATUS run the command and ignore stdout', async () => {
    writeFileSync(log, '');
    const quiet = { stderr: (): void => undefined };
    await delegateDel('fake-ipam', stdin('1.1.0'), env('badresult'), quiet);
    await delegateCheck('fake-ipam', stdin('1.1.0'), env('badresult'), quiet);
    await delegateGc('fake-ipam', stdin('1.1.0'), env('badresult'), quiet);
    await delegateStatus('fake-ipam', stdin('1.1.0'), env('badresult'), quiet);
    const cmds = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('cmd='))
      .map((l) => l.split(' ')[0]);
    expect(cmds).toStrictEqual(['cmd=DEL', 'cmd=CHECK', 'cmd=GC', 'cmd=STATUS']);
  });

  it("re-throws the delegate's error object unchanged", async () => {
    const e = await caught(delegateAdd('fake-ipam', stdin('1.0.0'), env('err'), { stderr: () => undefined }));
    expect(e).toBeInstanceOf(CniError);
    expect(e.toJSON()).toStrictEqual({ code: 11, msg: 'try later', details: 'busy' });
  });

  it('describes a failure without an error object', async () => {
    const silent = await caught(delegateDel('fake-ipam', stdin('1.0.0'), env('silent'), { stderr: () => undefined }));
    expect(silent.msg).toBe('netplugin failed: "fake stderr line\\n"');
    const garbage = await caught(delegateDel('fake-ipam', stdin('1.0.0'), env('garbage'), { stderr: () => undefined }));
    expect(garbage.msg).toMatch(/^netplugin failed but error parsing its diagnostic message "not json": /);
  });

  it("the result must be in the config's version family (code 6)", async () => {
    const e = await caught(delegateAdd('fake-ipam', stdin('1.0.0'), env('ok040'), { stderr: () => undefined }));
    expect(e.code).toBe(6);
    expect(e.msg).toBe(
      'failed to parse the result of plugin "fake-ipam": result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"',
    );
    const bad = await caught(delegateAdd('fake-ipam', stdin('1.0.0'), env('badresult'), { stderr: () => undefined }));
    expect(bad.code).toBe(6);
  });
});

describe('in-process delegation', () => {
  it('runs a resolved plugin through the skel when the delegate file is this executable', async () => {
    // A symlink named like the plugin pointing at the running binary stands in for the multi-call hard link.
    symlinkSync(process.execPath, join(dir, 'self-ipam'));
    const seen: CmdArgs[] = [];
    const plugin: Plugin = {
      name: 'self-ipam',
      description: 'in-process test plugin',
      add: async (a) => {
        seen.push(a);
        return { cniVersion: '1.1.0', ips: [{ address: '10.7.0.2/24', gateway: '10.7.0.1' }] };
      },
      del: async () => {
        throw new CniError(11, 'busy', 'retry');
      },
      check: async () => undefined,
    };
    registerInProcessDelegates(async (type) => (type === 'self-ipam' ? plugin : undefined));
    const e = env('unused', { CNI_COMMAND: 'DEL', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0' });
    const conf = Buffer.from(JSON.stringify({ cniVersion: '0.3.1', name: 'n', type: 'bridge', ipam: { type: 'self-ipam' } }));
    // The result goes through the same print-then-parse path as an exec'd plugin: 0.3.1 JSON back to the internal shape.
    expect(await delegateAdd('self-ipam', conf, e)).toStrictEqual({
      cniVersion: '0.3.1',
      ips: [{ address: '10.7.0.2/24', gateway: '10.7.0.1' }],
    });
    expect(seen[0]?.command).toBe('ADD');
    expect(seen[0]?.env['FAKE_EXTRA']).toBe('inherited');
    expect(seen[0]?.stdinData.equals(conf)).toBe(true);
    const err = await caught(delegateDel('self-ipam', conf, e));
    expect(err.toJSON()).toStrictEqual({ code: 11, msg: 'busy', details: 'retry' });
  });
});
