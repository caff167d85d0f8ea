import { describe, expect, it } from 'vitest';
import { SysError } from '../../../shared/sys/libc.js';
import { TSCNI_VERSION } from '../../../shared/cni/about.js';
import { CniError } from '../../../shared/cni/errors.js';
import type { CmdArgs, Plugin } from '../../../shared/cni/plugin.js';
import { runSkel } from '../../../shared/cni/skel.js';
import type { Result } from '../../../shared/cni/types.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: CmdArgs[];
}

const ALL_VERSIONS = '["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]';

function fakePlugin(overrides: Partial<Plugin> = {}, calls: CmdArgs[] = []): Plugin {
  const result: Result = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:02:03', sandbox: '/run/netns/x' }],
    ips: [{ interface: 0, address: '10.1.2.3/24', gateway: '10.1.2.1' }],
  };
  return {
    name: 'fake',
    description: 'CNI fake plugin',
    add: async (a) => {
      calls.push(a);
      return result;
    },
    del: async (a) => {
      calls.push(a);
    },
    check: async (a) => {
      calls.push(a);
    },
    ...overrides,
  };
}

const baseEnv = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'ctr-1',
  CNI_NETNS: '/run/netns/does-not-exist-tscni',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

async function run(
  env: Record<string, string | undefined>,
  conf: unknown,
  opts: { plugin?: Partial<Plugin>; raw?: string } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const calls: CmdArgs[] = [];
  const stdinText = opts.raw ?? JSON.stringify(conf);
  const code = await runSkel(fakePlugin(opts.plugin, calls), {
    env: { ...baseEnv, ...env },
    stdin: Buffer.from(stdinText),
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code, stdout, stderr, calls };
}

const conf = (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cniVersion: version,
  name: 'net1',
  type: 'fake',
  ...extra,
});

function errorOf(r: Run): { code: number; msg: string; details?: string } {
  expect(r.code).toBe(1);
  return JSON.parse(r.stdout) as { code: number; msg: string; details?: string };
}

describe('skel: commands without a config', () => {
  it('no CNI_COMMAND prints the about text on stderr and exits 0', async () => {
    const r = await run({ CNI_COMMAND: undefined }, null);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `CNI fake plugin v${TSCNI_VERSION}\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n`,
    );
  });

  it('VERSION prints one compact line with cniVersion 1.1.0 and never reads stdin', async () => {
    let stdout = '';
    const code = await runSkel(fakePlugin(), {
      env: { CNI_COMMAND: 'VERSION' },
      stdin: () => {
        throw new Error('stdin must not be read');
      },
      stdout: (s) => {
        stdout += s;
      },
    });
    expect(code).toBe(0);
    expect(stdout).toBe(`{"cniVersion":"1.1.0","supportedVersions":${ALL_VERSIONS}}\n`);
  });

  it("VERSION lists the plugin's own versions", async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, null, { plugin: { supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] } });
    expect(r.stdout).toBe('{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}\n');
  });

  it('an unknown command is code 4', async () => {
    const r = await run({ CNI_COMMAND: 'GET' }, conf('1.0.0'));
    expect(errorOf(r)).toStrictEqual({ code: 4, msg: 'unknown CNI_COMMAND: GET' });
  });
});

describe('skel: required environment per command', () => {
  const none = { CNI_CONTAINERID: undefined, CNI_NETNS: undefined, CNI_IFNAME: undefined, CNI_PATH: undefined };
  const cases: [string, string][] = [
    ['ADD', 'CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH'],
    ['CHECK', 'CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH'],
    ['DEL', 'CNI_CONTAINERID,CNI_IFNAME,CNI_PATH'],
    ['GC', 'CNI_PATH'],
    ['STATUS', 'CNI_PATH'],
  ];
  for (const [command, missing] of cases) {
    it(`${command} without any variable reports [${missing}]`, async () => {
      const r = await run({ ...none, CNI_COMMAND: command }, conf('1.1.0'));
      expect(r.stdout).toBe(`{\n    "code": 4,\n    "msg": "required env variables [${missing}] missing"\n}`);
      expect(r.code).toBe(1);
      expect(r.calls).toHaveLength(0);
    });
  }

  it('DEL accepts an empty CNI_NETNS', async () => {
    const r = await run({ CNI_COMMAND: 'DEL', CNI_NETNS: '' }, conf('1.0.0'));
    expect(r.code).toBe(0);
    expect(r.calls[0]?.netns).toBe('');
  });

  it('GC and STATUS need neither containerID nor ifname', async () => {
    for (const command of ['GC', 'STATUS']) {
      const r = await run({ ...none, CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' }, conf('1.1.0'));
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
    }
  });

  it('rejects a containerID with invalid characters (code 4, details = the ID)', async () => {
    const r = await run({ CNI_CONTAINERID: '1234%%%' }, conf('1.0.0'));
    expect(errorOf(r)).toStrictEqual({ code: 4, msg: 'invalid characters in containerID', details: '1234%%%' });
    expect(errorOf(await run({ CNI_CONTAINERID: '-abc' }, conf('1.0.0'))).code).toBe(4);
  });

  const badNames: [string, string][] = [
    ['0123456789abcdef', 'interface name is too long'],
    ['.', 'interface name is . or ..'],
    ['..', 'interface name is . or ..'],
    ['eth/0', 'interface name contains / or : or whitespace characters'],
    ['eth:0', 'interface name contains / or : or whitespace characters'],
    ['eth 0', 'interface name contains / or : or whitespace characters'],
    ['eth\t0', 'interface name contains / or : or whitespace characters'],
  ];
  for (const [ifname, msg] of badNames) {
    it(`rejects ifname ${JSON.stringify(ifname)}`, async () => {
      const e = errorOf(await run({ CNI_IFNAME: ifname }, conf('1.0.0')));
      expect(e.code).toBe(4);
      expect(e.msg).toBe(msg);
    });
  }

  it('accepts a 15-character ifname', async () => {
    expect((await run({ CNI_IFNAME: '0123456789abcde' }, conf('1.0.0'))).code).toBe(0);
  });
});

describe('skel: config checks', () => {
  it('bad JSON is code 6', async () => {
    const e = errorOf(await run({}, null, { raw: '{"name":' }));
    expect(e.code).toBe(6);
    expect(e.msg).toMatch(/^error unmarshall network config: /);
  });

  it('a missing or empty name is code 7', async () => {
    expect(errorOf(await run({}, { cniVersion: '1.0.0' }))).toStrictEqual({ code: 7, msg: 'missing network name' });
    expect(errorOf(await run({}, conf('1.0.0', { name: '' })))).toStrictEqual({ code: 7, msg: 'missing network name' });
  });

  it('a name with invalid characters is code 7 with the name as details', async () => {
    expect(errorOf(await run({}, conf('1.0.0', { name: 'a b' })))).toStrictEqual({
      code: 7,
      msg: 'invalid characters found in network name',
      details: 'a b',
    });
  });

  it('a non-string name is code 6', async () => {
    expect(errorOf(await run({}, conf('1.0.0', { name: 5 }))).code).toBe(6);
  });

  it('an unsupported cniVersion is code 1 with the reference details', async () => {
    expect(errorOf(await run({}, conf('9.9.9')))).toStrictEqual({
      code: 1,
      msg: 'incompatible CNI versions',
      details: 'config is "9.9.9", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
    });
  });

  it("an absent cniVersion is 0.1.0, and the name key matches case-insensitively", async () => {
    const r = await run({}, { NAME: 'net1', type: 'fake' }, { plugin: { resultAddresses: 'self' } });
    expect(r.code).toBe(0);
    expect(r.calls[0]?.cniVersion).toBe('0.1.0');
    expect(JSON.parse(r.stdout)).toStrictEqual({ cniVersion: '0.1.0', ip4: { ip: '10.1.2.3/24', gateway: '10.1.2.1' }, dns: {} });
  });

  it('CHECK needs 0.4.0+, GC and STATUS need 1.1.0+', async () => {
    expect(errorOf(await run({ CNI_COMMAND: 'CHECK' }, conf('0.3.1')))).toStrictEqual({
      code: 1,
      msg: 'config version does not allow CHECK',
      details: 'CNI version "0.3.1"',
    });
    expect(errorOf(await run({ CNI_COMMAND: 'GC' }, conf('1.0.0')))).toStrictEqual({ code: 1, msg: 'config version does not allow GC', details: 'CNI version "1.0.0"' });
    expect(errorOf(await run({ CNI_COMMAND: 'STATUS' }, conf('1.0.0')))).toStrictEqual({
      code: 1,
      msg: 'config version does not allow STATUS',
      details: 'CNI version "1.0.0"',
    });
    expect((await run({ CNI_COMMAND: 'CHECK' }, conf('0.4.0'))).code).toBe(0);
  });

  it('CHECK with a config newer than anything the plugin supports', async () => {
    const r = await run({ CNI_COMMAND: 'CHECK' }, conf('1.1.0'), { plugin: { supportedVersions: ['0.4.0', '1.0.0'] } });
    expect(errorOf(r)).toStrictEqual({ code: 1, msg: 'plugin version does not allow CHECK', details: 'CNI version "1.1.0"' });
  });

  it('an unparsable version on CHECK is code 6', async () => {
    const e = errorOf(await run({ CNI_COMMAND: 'CHECK' }, conf('1.x.0')));
    expect(e.code).toBe(6);
    expect(e.msg).toContain('failed to convert minor version part "x"');
  });
});

describe('skel: running the plugin', () => {
  it('passes the env and stdin through CmdArgs', async () => {
    const stdin = conf('1.1.0');
    const r = await run({ CNI_ARGS: 'IgnoreUnknown=1', CNI_COMMAND: 'DEL' }, stdin);
    const a = r.calls[0];
    expect(a).toMatchObject({
      command: 'DEL',
      containerID: 'ctr-1',
      ifName: 'eth0',
      args: 'IgnoreUnknown=1',
      path: '/opt/cni/bin',
      cniVersion: '1.1.0',
    });
    expect(a?.stdinData.toString()).toBe(JSON.stringify(stdin));
    expect(a?.env['CNI_COMMAND']).toBe('DEL');
  });

  it('ADD prints the result in the config version, 4-space indented, without a trailing newline', async () => {
    const r = await run({}, conf('0.4.0'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '{\n    "cniVersion": "0.4.0",\n    "interfaces": [\n        {\n            "name": "eth0",\n            "mac": "0a:58:0a:01:02:03",\n            "sandbox": "/run/netns/x"\n        }\n    ],\n    "ips": [\n        {\n            "version": "4",\n            "interface": 0,\n            "address": "10.1.2.3/24",\n            "gateway": "10.1.2.1"\n        }\n    ],\n    "dns": {}\n}',
    );
  });

  it('ADD at 0.2.0 without ipam or prevResult IPs is refused before the plugin runs', async () => {
    const r = await run({}, conf('0.2.0'), { plugin: { add: async () => ({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] }) } });
    expect(r.calls).toHaveLength(0);
    expect(errorOf(r)).toMatchObject({ code: 1, msg: 'cannot convert: no valid IP addresses' });
    expect(errorOf(r).details).toContain('"0.2.0"');
  });

  it('a result that still does not convert is undone with the plugin\'s own DEL', async () => {
    const dels: string[] = [];
    const r = await run({}, conf('0.2.0'), {
      plugin: {
        resultAddresses: 'self',
        add: async () => ({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] }),
        del: async (a) => void dels.push(a.command),
      },
    });
    expect(errorOf(r)).toStrictEqual({ code: 1, msg: 'cannot convert: no valid IP addresses' });
    expect(dels).toEqual(['DEL']);
  });

  it('parses prevResult into the internal shape', async () => {
    const prev = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.5/24' }], dns: {} };
    const r = await run({}, conf('0.4.0', { prevResult: prev }));
    expect(r.calls[0]?.prevResult).toStrictEqual({ cniVersion: '0.4.0', ips: [{ address: '10.0.0.5/24' }] });
  });

  it('a prevResult from another version family is code 6 on ADD and ignored on DEL', async () => {
    const prevResult = { cniVersion: '0.4.0', ips: [] };
    expect(errorOf(await run({}, conf('1.0.0', { prevResult })))).toStrictEqual({
      code: 6,
      msg: 'could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"',
    });
    const del = await run({ CNI_COMMAND: 'DEL' }, conf('1.0.0', { prevResult }));
    expect(del.code).toBe(0);
    expect(del.calls[0]?.prevResult).toBeUndefined();
    expect(del.stderr).toContain('could not parse prevResult');
  });

  it('GC gets cni.dev/valid-attachments, and succeeds silently without a handler', async () => {
    const attachments = [{ containerID: 'c1', ifname: 'eth0' }];
    const seen: CmdArgs[] = [];
    const r = await run({ CNI_COMMAND: 'GC' }, conf('1.1.0', { 'cni.dev/valid-attachments': attachments }), {
      plugin: { gc: async (a) => void seen.push(a) },
    });
    expect(r.code).toBe(0);
    expect(seen[0]?.validAttachments).toStrictEqual(attachments);
    const bad = await run({ CNI_COMMAND: 'GC' }, conf('1.1.0', { 'cni.dev/valid-attachments': {} }), {
      plugin: { gc: async () => undefined },
    });
    expect(errorOf(bad).code).toBe(7);
  });

  it('STATUS runs the handler and passes its error through', async () => {
    const r = await run({ CNI_COMMAND: 'STATUS' }, conf('1.1.0'), {
      plugin: {
        status: async () => {
          throw new CniError(50, 'not ready', 'no IPs left');
        },
      },
    });
    expect(r.stdout).toBe('{\n    "code": 50,\n    "msg": "not ready",\n    "details": "no IPs left"\n}');
  });

  it('a non-CniError becomes code 999; the stack goes to stderr only', async () => {
    const r = await run({}, conf('1.0.0'), {
      plugin: {
        add: async () => {
          throw new Error('boom');
        },
      },
    });
    expect(errorOf(r)).toStrictEqual({ code: 999, msg: 'boom' });
    expect(r.stdout).not.toContain('at ');
    expect(r.stderr).toContain('boom');
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('a kernel refusal (SysError, also as a cause) is code 100, not 999', async () => {
    const refusal = new SysError('link add eth0', 17);
    for (const thrown of [refusal, new Error(`failed to create dummy interface: ${refusal.message}`, { cause: refusal })]) {
      const r = await run({}, conf('1.0.0'), {
        plugin: {
          add: async () => {
            throw thrown;
          },
        },
      });
      expect(errorOf(r)).toStrictEqual({ code: 100, msg: thrown.message });
      expect(thrown.message).toContain('EEXIST');
    }
  });

  it("ADD and DEL into the plugin's own netns fail with code 8 unless CNI_NETNS_OVERRIDE", async () => {
    for (const command of ['ADD', 'DEL']) {
      const r = await run({ CNI_COMMAND: command, CNI_NETNS: '/proc/self/ns/net' }, conf('1.0.0'));
      expect(errorOf(r)).toStrictEqual({ code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });
      // Refused before the plugin ran (libcni checks after the work, which is then left behind).
      expect(r.calls).toHaveLength(0);
    }
    for (const override of ['1', 'true', 'TRUE']) {
      const r = await run({ CNI_NETNS: '/proc/self/ns/net', CNI_NETNS_OVERRIDE: override }, conf('1.0.0'));
      expect(r.code).toBe(0);
    }
  });
});
