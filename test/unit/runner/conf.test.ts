// Config loading as libcni's conf.go: file order and extensions, first match, .conf -> list,
// cniVersions, the boolean flags, <dir>/<network>/*.conf plugins, and buildOneConfig's injection.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseVersion, confFiles, loadNetworkList, parseNetworkList, pluginConfig, runtimeConfigFor } from '../../../cmd/tscni/runner/conf.js';
import { containerIdForNetns, defaultCniPath, parseCniArgsPairs, readRunnerEnv } from '../../../cmd/tscni/runner/env.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rn-unit-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, v: unknown): void => fs.writeFileSync(path.join(dir, name), typeof v === 'string' ? v : JSON.stringify(v));
const list = (name: string, tag: string, extra: object = {}): object => ({ cniVersion: '1.0.0', name, plugins: [{ type: 'bridge', tag }], ...extra });

describe('confFiles / loadNetworkList', () => {
  it('sorts by byte order, keeps only the extensions asked, skips directories', () => {
    write('b.conflist', list('n', 'b'));
    write('B.conflist', list('n', 'B'));
    write('a.conf', '{}');
    write('c.txt', '{}');
    fs.mkdirSync(path.join(dir, 'd.conflist'));
    expect(confFiles(dir, ['.conflist']).map((f) => path.basename(f))).toEqual(['B.conflist', 'b.conflist']);
    expect(confFiles(path.join(dir, 'missing'), ['.conf'])).toEqual([]);
  });

  it('takes the first matching .conflist in sorted order, before any .conf or .json', () => {
    write('20-x.conflist', list('net', 'second'));
    write('10-x.conflist', list('net', 'first'));
    write('00-x.conf', { cniVersion: '1.0.0', name: 'net', type: 'ptp' });
    write('05-other.conflist', list('other', 'o'));
    const l = loadNetworkList(dir, 'net');
    expect(l.plugins).toEqual([{ type: 'bridge', tag: 'first' }]);
    expect(path.basename(l.file)).toBe('10-x.conflist');
  });

  it('upconverts a .conf or .json (single plugin) into a one-plugin list, .conf and .json sorted together', () => {
    write('20-a.json', { cniVersion: '0.4.0', name: 'single', type: 'macvlan', master: 'eth9' });
    write('10-a.conf', { cniVersion: '0.3.1', name: 'single', type: 'ptp' });
    const l = loadNetworkList(dir, 'single');
    expect(l.name).toBe('single');
    expect(l.cniVersion).toBe('0.3.1');
    expect(l.plugins).toEqual([{ cniVersion: '0.3.1', name: 'single', type: 'ptp' }]);
    // The cached config is the upconverted list, as libcni's ConfListFromConf marshals it.
    expect(JSON.parse(l.bytes.toString())).toEqual({ cniVersion: '0.3.1', name: 'single', plugins: [{ cniVersion: '0.3.1', name: 'single', type: 'ptp' }] });
  });

  it('says which network is missing, and when there are no configs at all', () => {
    expect(() => loadNetworkList(dir, 'x')).toThrow(`no net configurations found in ${dir}`);
    write('a.conflist', list('y', 'y'));
    expect(() => loadNetworkList(dir, 'x')).toThrow(`no net configuration with name "x" in ${dir}`);
  });

  it('appends <dir>/<network>/*.conf plugins unless loadOnlyInlinedPlugins', () => {
    write('a.conflist', list('net', 'inline'));
    fs.mkdirSync(path.join(dir, 'net'));
    write('net/10-extra.conf', { type: 'tuning' });
    expect(loadNetworkList(dir, 'net').plugins.map((p) => p['type'])).toEqual(['bridge', 'tuning']);
    write('a.conflist', list('net', 'inline', { loadOnlyInlinedPlugins: true }));
    expect(loadNetworkList(dir, 'net').plugins.map((p) => p['type'])).toEqual(['bridge']);
    write('a.conflist', { cniVersion: '1.0.0', name: 'net' });
    expect(loadNetworkList(dir, 'net').plugins.map((p) => p['type'])).toEqual(['tuning']);
  });
});

describe('parseNetworkList', () => {
  const parse = (v: object) => parseNetworkList(Buffer.from(JSON.stringify(v)));
  it('reads disableCheck/disableGC/loadOnlyInlinedPlugins as booleans or "true"/"false" strings', () => {
    const l = parse({ name: 'n', cniVersion: '1.1.0', disableCheck: 'TRUE', disableGC: true, plugins: [{ type: 'x' }] });
    expect([l.disableCheck, l.disableGC, l.loadOnlyInlinedPlugins]).toEqual([true, true, false]);
    expect(() => parse({ name: 'n', disableCheck: 'yes', plugins: [{ type: 'x' }] })).toThrow('invalid value "yes" for disableCheck');
    expect(() => parse({ name: 'n', disableGC: 1, plugins: [{ type: 'x' }] })).toThrow('disableGC');
  });
  it('refuses a list without name, with empty plugins, or a plugin without type', () => {
    expect(() => parse({ plugins: [{ type: 'x' }] })).toThrow('no name');
    expect(() => parse({ name: 'n', plugins: [] })).toThrow('no plugins in list');
    expect(() => parse({ name: 'n', plugins: [{ a: 1 }] })).toThrow("missing 'type'");
    expect(() => parse({ name: 'n', loadOnlyInlinedPlugins: true })).toThrow("no 'plugins' key");
  });
});

describe('chooseVersion (cniVersions)', () => {
  it('picks the newest version not newer than ours, cniVersion included', () => {
    expect(chooseVersion('0.4.0', ['1.0.0', '1.1.0', '2.0.0'])).toBe('1.1.0');
    expect(chooseVersion('1.0.0', ['0.3.1'])).toBe('1.0.0');
    expect(chooseVersion('', ['0.4.0', '0.3.1'])).toBe('0.4.0');
    expect(chooseVersion('1.0.0', undefined)).toBe('1.0.0');
    expect(chooseVersion('0.4.0', ['1.1.0'], '1.0.0')).toBe('0.4.0');
    expect(chooseVersion('9.0.0', ['9.1.0'])).toBe('9.0.0');
  });
  it('applies when loading a list', () => {
    expect(parseNetworkList(Buffer.from(JSON.stringify({ name: 'n', cniVersion: '0.4.0', cniVersions: ['1.0.0', '1.1.0', '1.2.0'], plugins: [{ type: 'x' }] }))).cniVersion).toBe('1.1.0');
  });
});

describe('pluginConfig (buildOneConfig) and runtimeConfig', () => {
  const l = parseNetworkList(Buffer.from(JSON.stringify({ name: 'net', cniVersion: '1.0.0', plugins: [{ type: 'portmap', name: 'own', cniVersion: '0.1.0', capabilities: { portMappings: true, bandwidth: false, ips: true } }] })));
  const plugin = l.plugins[0]!;
  it('capabilities declared true ∩ CAP_ARGS keys, nothing else', () => {
    const caps = { portMappings: [{ hostPort: 1 }], bandwidth: { ingressRate: 1 }, mac: 'x' };
    expect(runtimeConfigFor(plugin, caps)).toEqual({ portMappings: [{ hostPort: 1 }] });
    expect(runtimeConfigFor({ type: 'bridge' }, caps)).toEqual({});
  });
  it('injects the list name and version over the plugin own, prevResult when given, runtimeConfig only when not empty', () => {
    expect(pluginConfig(l, plugin, undefined, {})).toEqual({ ...plugin, name: 'net', cniVersion: '1.0.0' });
    const prev = { cniVersion: '1.0.0', ips: [] };
    const c = pluginConfig(l, plugin, prev, { ips: ['10.1.1.1/24'] });
    expect(c['prevResult']).toEqual(prev);
    expect(c['runtimeConfig']).toEqual({ ips: ['10.1.1.1/24'] });
  });
});

describe('runner environment', () => {
  it('derives the container ID as cnitool does (sha512 of the absolute netns path, first 10 bytes)', () => {
    for (const p of ['/run/netns/abc', '/var/run/netns/x y']) {
      const sum = spawnSync('sha512sum', [], { input: p, encoding: 'utf8' }).stdout.slice(0, 20);
      expect(containerIdForNetns(p)).toBe(`cnitool-${sum}`);
    }
    const rel = spawnSync('sha512sum', [], { input: path.resolve('rel/ns'), encoding: 'utf8' }).stdout.slice(0, 20);
    expect(containerIdForNetns('rel/ns')).toBe(`cnitool-${rel}`);
  });
  it('parses CNI_ARGS as cnitool (K=V;K=V, no empty side)', () => {
    expect(parseCniArgsPairs('A=1;B=2')).toEqual([['A', '1'], ['B', '2']]);
    expect(() => parseCniArgsPairs('A=1;B')).toThrow('invalid CNI_ARGS pair "B"');
    expect(() => parseCniArgsPairs('A=')).toThrow('invalid CNI_ARGS pair');
  });
  it('defaults: /etc/cni/net.d, eth0, /var/lib/cni, CNI_PATH from the executable', () => {
    const e = readRunnerEnv({}, '/nonexistent/tscni');
    expect(e).toMatchObject({ netConfPath: '/etc/cni/net.d', ifName: 'eth0', cacheDir: '/var/lib/cni', cniPath: ['/opt/cni/bin'], cniArgs: [], capabilityArgs: {} });
    expect(e.containerId).toBeUndefined();
    const o = readRunnerEnv({ CNI_PATH: '/a::/b', CNI_IFNAME: 'net1', CAP_ARGS: '{"ips":["10.0.0.2/24"]}', CNI_CONTAINERID: 'c1', NETCONFPATH: '/x', TSCNI_CACHE_DIR: '/c' }, '/t');
    expect(o).toMatchObject({ cniPath: ['/a', '/b'], ifName: 'net1', capabilityArgs: { ips: ['10.0.0.2/24'] }, containerId: 'c1', netConfPath: '/x', cacheDir: '/c' });
    expect(() => readRunnerEnv({ CAP_ARGS: '[1]' }, '/t')).toThrow('CAP_ARGS must be a JSON object');
  });
  it('CNI_PATH default: the directory whose loopback is this executable (beside it, or bin/ below it), then /opt/cni/bin', () => {
    fs.mkdirSync(path.join(dir, 'bin'));
    write('tscni', 'x');
    fs.linkSync(path.join(dir, 'tscni'), path.join(dir, 'bin', 'loopback'));
    fs.linkSync(path.join(dir, 'tscni'), path.join(dir, 'bin', 'tscni'));
    expect(defaultCniPath(path.join(dir, 'tscni'))).toEqual([path.join(dir, 'bin'), '/opt/cni/bin']);
    expect(defaultCniPath(path.join(dir, 'bin', 'tscni'))).toEqual([path.join(dir, 'bin'), '/opt/cni/bin']);
    write('other', 'y');
    expect(defaultCniPath(path.join(dir, 'other'))).toEqual(['/opt/cni/bin']);
  });
});
