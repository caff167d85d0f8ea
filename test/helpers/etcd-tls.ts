// Throwaway PKI for TLS tests of etcd: a CA, one server certificate for the given IP addresses and
// one client certificate, made with the openssl CLI (argument arrays, no shell) in a test-owned dir.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface EtcdPki {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

const openssl = (args: string[]): void => {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** Writes the PKI into `dir` (which must exist); the server certificate covers `ips` (and localhost). */
export function makeEtcdPki(dir: string, ips: string[]): EtcdPki {
  const f = (name: string): string => path.join(dir, name);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=tce-test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem')]);
  const issue = (name: string, cn: string, ext: string): void => {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`)]);
    writeFileSync(f(`${name}.ext`), ext);
    openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`)]);
  };
  const sans = ['DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',');
  issue('server', 'tce-etcd', `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  issue('client', 'tce-client', 'extendedKeyUsage=clientAuth\n');
  return {
    caFile: f('ca.pem'),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
  };
}
