// Finding the host link from sysfs selectors (kernelpath, pciBusID, runtimeConfig.deviceID), and
// the DPDK-driver test. `root` is "/sys" in production; unit tests pass a fake tree.
import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';

const DPDK_DRIVERS = ['vfio-pci', 'uio_pci_generic', 'igb_uio'];
const PCI_ADDRESS = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;

const invalid = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg);

function entries(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** kernelpath: absolute, under /sys/devices/; the link is the first entry of `<path>/net/`. */
export function linkFromKernelPath(kernelpath: string, root = '/sys'): string {
  if (!path.isAbsolute(kernelpath) || !kernelpath.startsWith('/sys/devices/')) {
    throw invalid(`kernel device path "${kernelpath}" must be absolute and begin with /sys/devices/`);
  }
  const dir = path.join(root, kernelpath.slice('/sys'.length), 'net');
  const names = entries(dir);
  if (names.length === 0) throw invalid(`failed to find network device in "${kernelpath}": no entries in ${path.join(kernelpath, 'net')}`);
  return names[0] as string;
}

export const isPciAddress = (s: string): boolean => PCI_ADDRESS.test(s);

/** The driver bound to a PCI device ("" when none). */
export function pciDriver(pciAddress: string, root = '/sys'): string {
  try {
    return path.basename(fs.readlinkSync(path.join(root, 'bus/pci/devices', pciAddress, 'driver')));
  } catch {
    return '';
  }
}

export const isDpdkDriver = (driver: string): boolean => DPDK_DRIVERS.includes(driver);

/** The net device of a PCI function: `<dev>/net/*`, or `<dev>/virtio*\/net/*` for virtio. */
export function linkFromPci(pciAddress: string, root = '/sys'): string {
  const dev = path.join(root, 'bus/pci/devices', pciAddress);
  if (!fs.existsSync(dev)) throw invalid(`failed to find PCI device "${pciAddress}": ${path.join('/sys/bus/pci/devices', pciAddress)} does not exist`);
  let names = entries(path.join(dev, 'net'));
  if (names.length === 0) {
    for (const sub of entries(dev).filter((e) => e.startsWith('virtio'))) {
      names = entries(path.join(dev, sub, 'net'));
      if (names.length > 0) break;
    }
  }
  if (names.length === 0) throw invalid(`failed to find network device for PCI device "${pciAddress}"`);
  return names[0] as string;
}

/** An auxiliary-bus device (runtimeConfig.deviceID that is not a PCI address). */
export function linkFromAuxDevice(deviceID: string, root = '/sys'): string {
  const dir = path.join(root, 'bus/auxiliary/devices', deviceID);
  if (!fs.existsSync(dir)) {
    throw invalid(`runtimeConfig.deviceID "${deviceID}" is neither a PCI address nor an auxiliary device (no ${path.join('/sys/bus/auxiliary/devices', deviceID)})`);
  }
  const names = entries(path.join(dir, 'net'));
  if (names.length === 0) throw invalid(`failed to find network device for auxiliary device "${deviceID}"`);
  return names[0] as string;
}
