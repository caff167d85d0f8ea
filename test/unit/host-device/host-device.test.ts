// host-device selectors against a fake sysfs tree (no real PCI or auxiliary devices are touched).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConf } from '../../../plugins/host-device/index.js';
import { isPciAddress, linkFromAuxDevice, linkFromKernelPath, linkFromPci, pciDriver } from '../../../plugins/host-device/sysfs.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'tscni-hd-sysfs-'));
  const mk = (p: string): void => {
    mkdirSync(path.join(root, p), { recursive: true });
  };
  mk('devices/pci0000:00/0000:00:03.0/net/ens3');
  mk('bus/pci/devices/0000:00:03.0/net/ens3');
  mk('bus/pci/devices/0000:00:04.0/virtio1/net/eth7');
  mk('bus/pci/devices/0000:00:05.0');
  mk('bus/pci/drivers/vfio-pci');
  symlinkSync(path.join(root, 'bus/pci/drivers/vfio-pci'), path.join(root, 'bus/pci/devices/0000:00:05.0/driver'));
  mk('bus/auxiliary/devices/mlx5_core.sf.4/net/enp3s0f0s4');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('host-device sysfs selectors', () => {
  it('kernelpath: absolute under /sys/devices/, first entry of <path>/net', () => {
    expect(linkFromKernelPath('/sys/devices/pci0000:00/0000:00:03.0', root)).toBe('ens3');
    expect(() => linkFromKernelPath('devices/x', root)).toThrow(/must be absolute and begin with \/sys\/devices\//);
    expect(() => linkFromKernelPath('/sys/class/net/x', root)).toThrow(/must be absolute/);
    expect(() => linkFromKernelPath('/sys/devices/none', root)).toThrow(/failed to find network device/);
  });

  it('pciBusID: <dev>/net, or <dev>/virtio*/net', () => {
    expect(isPciAddress('0000:00:03.0')).toBe(true);
    expect(isPciAddress('mlx5_core.sf.4')).toBe(false);
    expect(linkFromPci('0000:00:03.0', root)).toBe('ens3');
    expect(linkFromPci('0000:00:04.0', root)).toBe('eth7');
    expect(() => linkFromPci('0000:00:09.0', root)).toThrow(/does not exist/);
  });

  it('DPDK: a vfio-pci bound device switches DPDK mode on; deviceID (PCI) overrides pciBusID', () => {
    expect(pciDriver('0000:00:05.0', root)).toBe('vfio-pci');
    const conf = loadConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'host-device', pciBusID: '0000:00:03.0', runtimeConfig: { deviceID: '0000:00:05.0' } }), root);
    expect(conf.pciBusID).toBe('0000:00:05.0');
    expect(conf.DPDKMode).toBe(true);
    const plain = loadConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'host-device', pciBusID: '0000:00:03.0', dpdkmode: true }), root);
    expect(plain.DPDKMode).toBe(false);
  });

  it('auxiliary deviceID', () => {
    const conf = loadConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'host-device', runtimeConfig: { deviceID: 'mlx5_core.sf.4' } }), root);
    expect(conf.auxDevice).toBe('mlx5_core.sf.4');
    expect(linkFromAuxDevice('mlx5_core.sf.4', root)).toBe('enp3s0f0s4');
    expect(() => linkFromAuxDevice('nothing.0', root)).toThrow(/neither a PCI address nor an auxiliary device/);
  });

  it('at least one selector', () => {
    expect(() => loadConf('{"cniVersion":"1.0.0","name":"n","type":"host-device"}', root)).toThrow('specify either "device", "hwaddr", "kernelpath" or "pciBusID"');
  });
});
