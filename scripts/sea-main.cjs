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
const v8 = require('node:v8');
const vm = require('node:vm');

// No optimizing compilers: a CNI call lives ~40 ms, too short for Maglev/TurboFan code to pay for
// its compilation. Measured on a bridge+host-local ADD: peak RSS 55.8 -> 52.4 MB, in-plugin time
// 10.5 -> 8.6 ms, start unchanged. Set here at run time, not as execArgv baked into the
// executable: V8 flags given at start change the flag hash and Node's own built-in code cache is
// then rejected (+2.5 ms of start). scripts/code-cache.cjs compiles under the same flags, since V8
// accepts a code cache only for the flags it was made with.
for (const flag of ['--no-opt', '--no-maglev']) v8.setFlagsFromString(flag);

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
