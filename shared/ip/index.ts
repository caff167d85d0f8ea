// The suite's one address model: IP (family + BigInt) and IPNet (CIDR, host bits kept), parsed and
// printed as Go's net package does. Bytes for the kernel are views (ipToBytes / ipFromBytes).
export * from './ip.js';
export * from './cidr.js';
export * from './route.js';
