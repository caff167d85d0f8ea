// The suite's version, shown in the about text. The build may inject it with esbuild
// `define: { __TSCNI_VERSION__: '"x.y.z"' }`; running from source falls back to the default.
declare const __TSCNI_VERSION__: string | undefined;

export const TSCNI_VERSION: string = typeof __TSCNI_VERSION__ === 'string' ? __TSCNI_VERSION__ : '0.1.0';
