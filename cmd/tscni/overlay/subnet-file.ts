// subnet.env for the flannel CNI plugin, as flanneld writes it (REFERENCE-flannel.md §2
// "subnet.env"): the cluster network, this node's subnet as its first usable address, the MTU
// inside the tunnel and whether the agent masquerades. Atomic (temp file + rename), mode 0644.
import fs from 'node:fs';
import path from 'node:path';
import { makeDirectories } from '../../../shared/sys/dirs.js';
import { writeFileAtomic } from '../../../shared/sys/files.js';
import { formatIP, ipOf } from '../../../shared/ip/index.js';
import { parseSubnetCIDR, type Subnet } from './lease.js';

export function subnetEnvText(network: string, subnet: Subnet, mtu: number, ipMasq: boolean): string {
  return [
    `FLANNEL_NETWORK=${network}`,
    `FLANNEL_SUBNET=${formatIP(ipOf(4, subnet.base + 1n))}/${subnet.len}`,
    `FLANNEL_MTU=${mtu}`,
    `FLANNEL_IPMASQ=${ipMasq}`,
    '',
  ].join('\n');
}

export function writeSubnetFile(file: string, text: string): void {
  makeDirectories(path.dirname(file), 0o755);
  writeFileAtomic(file, text, 0o644);
  // writeFileAtomic creates with the umask applied; the file is meant to be world-readable.
  fs.chmodSync(file, 0o644);
}

/** FLANNEL_SUBNET of an earlier run, which a restarted agent tries to lease again. */
export function previousSubnet(file: string): Subnet | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('FLANNEL_SUBNET='));
  return line ? parseSubnetCIDR(line.slice('FLANNEL_SUBNET='.length)) : undefined;
}
