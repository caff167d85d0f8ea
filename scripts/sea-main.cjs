// Main script of the standalone executable (pkg SEA): runs the suite's bundle (a SEA asset) with a
// V8 code cache (another asset) that holds bytecode for EVERY function of the bundle.
//
// Why not the SEA's own code cache: Node builds that one by compiling the main script without
// running it, so it only covers top-level code; every function a call then runs is parsed and
// compiled on first use. Measured on a bridge+host-local ADD: ~10 ms of in-plugin time (of ~20)
// was that lazy compilation. scripts/code-cache.cjs compiles the bundle eagerly at build time
// instead. The cache is only a hint: when V8 rejects it (another Node, other V8 flags), the bundle
// is compiled lazily as before, and TSCNI_TRACE=1 says so on stderr.
'use strict';
const sea = require('node:sea');
const vm = require('node:vm');

// The same wrapper and file name as scripts/code-cache.cjs: V8 accepts a cache only for the source
// it was made from.
const source = `(function (exports, require, module, __filename, __dirname) {${sea.getAsset('tscni.cjs', 'utf8')}\n})`;
const script = new vm.Script(source, {
  filename: 'tscni.cjs',
  cachedData: Buffer.from(sea.getRawAsset('tscni.cache')),
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
if (script.cachedDataRejected && process.env.TSCNI_TRACE === '1') process.stderr.write('tscni: code cache rejected\n');
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, process.execPath, '/');
