import { describe, expect, it } from 'vitest';
import {
  argsCniIPs,
  argsCniMac,
  runtimeBandwidth,
  runtimeDeviceID,
  runtimeIPRanges,
  runtimeIPs,
  runtimeMac,
  runtimePortMappings,
} from '../../../shared/cni/runtime-config.js';

describe('runtimeConfig accessors', () => {
  const conf = {
    runtimeConfig: {
      mac: 'c2:11:22:33:44:55',
      ips: ['10.0.0.5/24'],
      ipRanges: [[{ subnet: '10.1.0.0/16', rangeStart: '10.1.0.10', gateway: '10.1.0.1' }]],
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }],
      deviceID: '0000:04:00.5',
    },
    args: { cni: { ips: ['10.0.0.9'], mac: '0a:00:00:00:00:01' } },
  };

  it('reads each capability', () => {
    expect(runtimeMac(conf)).toBe('c2:11:22:33:44:55');
    expect(runtimeIPs(conf)).toStrictEqual(['10.0.0.5/24']);
    expect(runtimeIPRanges(conf)).toStrictEqual([[{ subnet: '10.1.0.0/16', rangeStart: '10.1.0.10', gateway: '10.1.0.1' }]]);
    expect(runtimePortMappings(conf)).toStrictEqual([{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }]);
    expect(runtimeDeviceID(conf)).toBe('0000:04:00.5');
    expect(argsCniIPs(conf)).toStrictEqual(['10.0.0.9']);
    expect(argsCniMac(conf)).toBe('0a:00:00:00:00:01');
  });

  it('absent sections read as undefined / empty', () => {
    expect(runtimeMac({})).toBeUndefined();
    expect(runtimePortMappings({})).toStrictEqual([]);
    expect(runtimeBandwidth({ runtimeConfig: {} })).toBeUndefined();
    expect(argsCniIPs({ args: {} })).toBeUndefined();
  });

  it('matches keys like Go (case-insensitive, as in the "bandWidth" reference testdata)', () => {
    expect(runtimeBandwidth({ runtimeConfig: { bandWidth: { ingressRate: 8000, EgressBurst: 100 } } })).toStrictEqual({
      ingressRate: 8000,
      egressBurst: 100,
    });
    expect(runtimeMac({ RuntimeConfig: { MAC: 'aa' } } as never)).toBe('aa');
  });

  it('wrong types are code 7 naming the field', () => {
    expect(() => runtimeMac({ runtimeConfig: { mac: 5 } })).toThrow('invalid config: runtimeConfig.mac: must be string, got 5');
    expect(() => runtimePortMappings({ runtimeConfig: { portMappings: [{ hostPort: '80' }] } })).toThrow(
      'runtimeConfig.portMappings[0].hostPort: must be integer, got "80"',
    );
    expect(() => runtimeIPRanges({ runtimeConfig: { ipRanges: [{}] } })).toThrow('runtimeConfig.ipRanges[0]: must be array');
    expect(() => runtimeBandwidth({ runtimeConfig: { bandwidth: { egressRate: -1 } } })).toThrow(
      expect.objectContaining({ code: 7 }),
    );
    expect(() => argsCniIPs({ args: { cni: 'x' } })).toThrow('invalid config: args.cni: must be object, got "x"');
  });
});
