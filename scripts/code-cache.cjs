// Build step: `node scripts/code-cache.cjs <bundle.cjs> <out.cache>` writes a V8 code cache of the
// bundle with every function compiled (see scripts/sea-main.cjs for why). Run with the same Node
// binary the executable embeds: V8 accepts a cache only from its own version and flags.
'use strict';
const fs = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');

const [bundlePath, outPath] = process.argv.slice(2);
// The same wrapper and file name as scripts/sea-main.cjs.
const source = `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(bundlePath, 'utf8')}\n})`;
// --no-lazy only while compiling: every inner function gets bytecode now. Restored before the cache
// is written, so the cache carries the flag hash the executable runs with.
// The run-time flags of scripts/sea-main.cjs, so the cache's flag hash is the executable's.
for (const flag of ['--no-opt', '--no-maglev']) v8.setFlagsFromString(flag);
v8.setFlagsFromString('--no-lazy');
const script = new vm.Script(source, { filename: 'tscni.cjs' });
v8.setFlagsFromString('--lazy');
fs.writeFileSync(outPath, script.createCachedData());
