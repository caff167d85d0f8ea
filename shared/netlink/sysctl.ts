// /proc/sys access. Files under /proc/sys/net belong to the netns of the thread that opens them,
// so these synchronous calls act inside withNetns(...) as expected.
import fs from 'node:fs';

/**
 * The /proc/sys path of a sysctl. Accepts:
 * - path parts: `['net', 'ipv4', 'conf', 'eth0.100', 'arp_notify']` (parts are kept verbatim, so an
 *   interface name with dots is safe; this is the form to use with interface names);
 * - sysctl(8) names: `net.ipv4.ip_forward` (dots become slashes, and slashes become dots, so
 *   `net.ipv4.conf.eth0/100.arp_notify` names interface eth0.100);
 * - slash names: `net/ipv4/conf/eth0.100/arp_notify` (used verbatim when the first separator is a slash).
 */
export function sysctlPath(name: string | readonly string[]): string {
  if (typeof name !== 'string') {
    for (const part of name) {
      if (part === '' || part === '.' || part === '..' || part.includes('/')) throw new TypeError(`invalid sysctl path part "${part}"`);
    }
    return `/proc/sys/${name.join('/')}`;
  }
  const firstSep = name.search(/[./]/);
  const normalized =
    firstSep >= 0 && name[firstSep] === '.' ? name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.')) : name;
  if (normalized.split('/').some((p) => p === '..')) throw new TypeError(`invalid sysctl name "${name}"`);
  return `/proc/sys/${normalized.replace(/^\/+/, '')}`;
}

/** Reads a sysctl, trimmed of its trailing newline. */
export function readSysctl(name: string | readonly string[]): string {
  return fs.readFileSync(sysctlPath(name), 'utf8').trim();
}

/** Writes a sysctl (one write(2), as the kernel expects). */
export function writeSysctl(name: string | readonly string[], value: string | number): void {
  fs.writeFileSync(sysctlPath(name), String(value));
}
