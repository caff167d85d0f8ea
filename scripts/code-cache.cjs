// Build step: `node scripts/code-cache.cjs <wrapped.js> <out.cache> [<wrapped.js> <out.cache> ...]`
// writes a V8 code cache of each bundle (wrapped by scripts/build.mjs in the CommonJS function
// wrapper, exactly the text scripts/sea-main.cjs compiles) with every function compiled (see scripts/sea-main.cjs for
// why). Run with the same Node binary the executable embeds: V8 accepts a cache only from its own
// version and flags.
'use strict';
const fs = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');

// The run-time flags of scripts/sea-main.cjs, so the cache's flag hash is the executable's.
for (const flag of ['--no-opt', '--no-maglev']) v8.setFlagsFromString(flag);
const args = process.argv.slice(2);
for (let i = 0; i + 1 < args.length; i += 2) {
  const [bundlePath, outPath] = [args[i], args[i + 1]];
  const source = fs.readFileSync(bundlePath, 'utf8');
  // --no-lazy only while compiling: every inner function gets bytecode now. Restored before the
  // cache is written, so the cache carries the flag hash the executable runs with.
  v8.setFlagsFromString('--no-lazy');
  const script = new vm.Script(source, { filename: 'tscni.cjs' });
  v8.setFlagsFromString('--lazy');
  fs.writeFileSync(outPath, script.createCachedData());
}
