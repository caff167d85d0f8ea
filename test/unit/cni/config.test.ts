import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatInstancePath, normalizeKeys, parseConfig, type ValidatorModule } from '../../../shared/cni/config.js';
import { CniError } from '../../../shared/cni/errors.js';

const repo = join(import.meta.dirname, '../../..');
const outDir = join(repo, 'build/generated/validators-test');
let v: ValidatorModule;

beforeAll(async () => {
  // Compile the fixture schema exactly as the build compiles plugin schemas.
  execFileSync(process.execPath, [join(repo, 'scripts/gen-validators.mjs'), '--only', '--out', outDir, join(import.meta.dirname, 'fixtures')], {
    stdio: 'pipe',
  });
  v = (await import(join(outDir, 'fixture.js'))) as ValidatorModule;
});

function failure(text: string): CniError {
  try {
    parseConfig(Buffer.from(text), v);
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected an error');
}

describe('gen-validators output', () => {
  it('is a standalone module (no ajv import at run time) with a typed declaration', () => {
    const js = readFileSync(join(outDir, 'fixture.js'), 'utf8');
    expect(js).not.toMatch(/require\(|from\s*["']ajv/);
    const dts = readFileSync(join(outDir, 'fixture.d.ts'), 'utf8');
    expect(dts).toContain('export declare const validate');
    expect(dts).toContain('export declare const keyMap');
    expect(v.schemaName).toBe('fixture');
  });
});

describe('parseConfig', () => {
  it('renames keys case-insensitively to the declared spelling, at every level', () => {
    const conf = parseConfig<Record<string, unknown>>(
      Buffer.from(
        JSON.stringify({
          CNIVersion: '1.0.0',
          Name: 'n',
          TYPE: 'fixture',
          Mtu: 1400,
          IPAM: { Type: 'host-local', RANGES: [[{ SUBNET: '10.0.0.0/24', rangestart: '10.0.0.10' }]], Routes: [{ DST: '0.0.0.0/0' }] },
          RuntimeConfig: { PortMappings: [{ HostPort: 80 }] },
          labels: { Web: { KEYNAME: 'x' } },
        }),
      ),
      v,
    );
    expect(conf).toStrictEqual({
      cniVersion: '1.0.0',
      name: 'n',
      type: 'fixture',
      mtu: 1400,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10' }]], routes: [{ dst: '0.0.0.0/0' }] },
      runtimeConfig: { portMappings: [{ hostPort: 80 }] },
      // Map keys (additionalProperties) keep their spelling; their values are normalised.
      labels: { Web: { keyName: 'x' } },
    });
  });

  it('the last of several case variants wins; unknown keys are kept as they are', () => {
    const conf = parseConfig<Record<string, unknown>>(Buffer.from('{"type":"t","mtu":1,"MTU":2,"Unknown":{"A":1}}'), v);
    expect(conf).toStrictEqual({ type: 't', mtu: 2, Unknown: { A: 1 } });
  });

  it('null on a declared field is dropped (Go zero value) unless the schema allows null', () => {
    const conf = parseConfig<Record<string, unknown>>(Buffer.from('{"type":"t","mtu":null,"ipam":null,"comment":null}'), v);
    expect(conf).toStrictEqual({ type: 't', comment: null });
  });

  it('types are strict and the error names the field path and the value', () => {
    const cases: [string, string][] = [
      ['{"type":"t","mtu":"1500"}', 'invalid config: mtu: must be integer, got "1500"'],
      ['{"type":"t","mtu":1.5}', 'invalid config: mtu: must be integer, got 1.5'],
      ['{"type":"t","ipam":{"ranges":[[{"subnet":12}]]}}', 'invalid config: ipam.ranges[0][0].subnet: must be string, got 12'],
      ['{"type":"t","isGateway":"true"}', 'invalid config: isGateway: must be boolean, got "true"'],
      ['{"type":"t","mode":"x"}', 'invalid config: mode: must be one of "bridge", "vepa", "passthru", got "x"'],
      ['{"type":"t","mtu":-1}', 'invalid config: mtu: must be >= 0, got -1'],
      ['{"type":"t","capabilities":{"mac":"yes"}}', 'invalid config: capabilities.mac: must be boolean, got "yes"'],
      ['{"name":"n"}', 'invalid config: type: is required'],
      ['[]', 'invalid config: (config): must be object, got []'],
    ];
    for (const [text, msg] of cases) {
      const e = failure(text);
      expect(e.code, text).toBe(7);
      expect(e.msg, text).toBe(msg);
    }
  });

  it('non-JSON is code 6', () => {
    const e = failure('{"type":');
    expect(e.code).toBe(6);
    expect(e.msg).toMatch(/^failed to load netconf: /);
  });
});

describe('helpers', () => {
  it('formats JSON pointers as field paths', () => {
    expect(formatInstancePath('/ipam/ranges/0/1/subnet')).toBe('ipam.ranges[0][1].subnet');
    expect(formatInstancePath('/cni.dev~1valid-attachments/0')).toBe('cni.dev/valid-attachments[0]');
    expect(formatInstancePath('')).toBe('');
  });

  it('normalizeKeys leaves values alone where nothing is declared', () => {
    expect(normalizeKeys({ A: [1, { B: 2 }] }, 0)).toStrictEqual({ A: [1, { B: 2 }] });
  });
});
