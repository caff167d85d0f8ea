// The CNI spec library. Importing the barrel loads only small modules; child_process is loaded
// on first delegation, schemas are precompiled by the build.
export { TSCNI_VERSION } from './about.js';
export * from './args.js';
export * from './config.js';
export * from './convert.js';
export * from './delegate.js';
export * from './errors.js';
export { canonicalCIDR, canonicalIP, ipFamily } from '../ip/index.js';
export * from './json-out.js';
export * from './plugin.js';
export * from './runtime-config.js';
export * from './skel.js';
export * from './types.js';
export * from './versions.js';
export { foldGet, isJsonObject, type JsonObject } from './fold.js';
