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

/**
 * Gives the pages of `ab` (the executable's own file, mapped read-only) back to the kernel: V8 has
 * copied the source into its heap and deserialized the cache by now, so the call never reads them
 * again, and for the rest of the call they would count in its RSS (~1 MB, bridge's 0.2 MB source
 * and 0.5 MB cache plus the pages the kernel mapped around them). madvise(MADV_DONTNEED) on a
 * private file mapping only unmaps: a later read would fault the same bytes back in from the file.
 * Measured on a bridge+host-local ADD: peak RSS -0.95 MB. node:ffi is what every call uses for its
 * netlink and flock calls (shared/sys/libc.ts, which also says why the warning listeners go).
 */
function releasePages(ab) {
  process.removeAllListeners('warning');
  const ffi = process.getBuiltinModule('node:ffi');
  const madvise = ffi.dlopen('libc.so.6', {}).lib.getFunction('madvise', { arguments: ['uint64', 'uint64', 'int32'], return: 'int32' });
  const PAGE = 4096n;
  const MADV_DONTNEED = 4;
  const from = BigInt(ffi.getRawPointer(ab));
  const start = (from + PAGE - 1n) & ~(PAGE - 1n);
  const end = (from + BigInt(ab.byteLength)) & ~(PAGE - 1n);
  // Best effort: a failure (return -1) only leaves the pages mapped.
  if (end > start) madvise(start, end - start, MADV_DONTNEED);
}

// Which bundle: a plugin name runs that plugin's own bundle (only its code, see scripts/build.mjs),
// anything else (`tscni ...`) the full one. The name is what main.ts picks the plugin by.
// The one asset holds every bundle and its cache, each on pages of its own, after an index:
// u32 LE length, then JSON {name: {encoding, source: [offset, length], cache: [offset, length]}}. The asset
// is the executable's own mapped memory (getRawAsset copies nothing), so a call touches only the
// pages of its bundle.
const pack = sea.getRawAsset('tscni.pack');
const index = JSON.parse(Buffer.from(pack, 4, new DataView(pack).getUint32(0, true)).toString('latin1'));
const invokedAs = process.argv0.slice(process.argv0.lastIndexOf('/') + 1);
const name = Object.hasOwn(index, invokedAs) ? invokedAs : 'tscni';
const piece = (kind) => Buffer.from(pack, index[name][kind][0], index[name][kind][1]);
// The source is stored wrapped in the CommonJS function wrapper (scripts/build.mjs): one string,
// the very text scripts/code-cache.cjs compiled (V8 accepts a cache only for
// the source it was made from).
const script = new vm.Script(piece('source').toString(index[name].encoding), {
  filename: 'tscni.cjs',
  cachedData: piece('cache'),
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
if (script.cachedDataRejected && process.env.TSCNI_TRACE === '1') process.stderr.write('tscni: code cache rejected\n');
releasePages(pack);
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, process.execPath, '/');
