import { describe, expect, it } from 'vitest';
import { parseResolvConfText } from '../../../ipam/host-local/dns.js';

describe('resolvConf parsing', () => {
  it('reads nameserver, domain, search and options like the reference', () => {
    const text = [
      '# comment',
      '; other comment',
      'nameserver 10.0.0.53',
      '  nameserver   2001:db8::53  ',
      'nameserver',
      'domain a.example',
      'domain b.example',
      'search x.example y.example',
      'search z.example',
      'options ndots:5 rotate',
      'sortlist 10.0.0.0',
    ].join('\n');
    expect(parseResolvConfText(text)).toEqual({
      nameservers: ['10.0.0.53', '2001:db8::53'],
      domain: 'b.example',
      search: ['x.example', 'y.example', 'z.example'],
      options: ['ndots:5', 'rotate'],
    });
  });
  it('gives an empty dns for an empty file', () => {
    expect(parseResolvConfText('')).toEqual({});
  });
});
