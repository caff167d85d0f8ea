// IP and CIDR helpers shared by the plugins (Go-compatible parse and print, BigInt arithmetic).
export * from './ip.js';
export * from './cidr.js';
