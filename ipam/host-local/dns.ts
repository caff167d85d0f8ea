// resolv.conf -> result dns, as the reference reads it: comment lines start with '#' or ';',
// lines with fewer than two fields are skipped, the last "domain" wins, search/options accumulate.
import fs from 'node:fs';
import type { DNS } from '../../shared/cni/types.js';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { errorText } from '../../shared/sys/error-text.js';

export function parseResolvConfText(text: string): DNS {
  const dns: DNS = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [key, first, ...rest] = fields as [string, string, ...string[]];
    switch (key) {
      case 'nameserver':
        (dns.nameservers ??= []).push(first);
        break;
      case 'domain':
        dns.domain = first;
        break;
      case 'search':
        (dns.search ??= []).push(first, ...rest);
        break;
      case 'options':
        (dns.options ??= []).push(first, ...rest);
        break;
    }
  }
  return dns;
}

export function parseResolvConf(file: string): DNS {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `ipam.resolvConf: cannot read ${JSON.stringify(file)}`,
      errorText(e),
    );
  }
  return parseResolvConfText(text);
}
