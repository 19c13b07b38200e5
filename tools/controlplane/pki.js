// Certificates for the local control plane, made with the openssl command line (present on every
// Debian machine; Node's crypto can make keys but not X.509 certificates).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}
/** Creates the CA, the API server's serving certificate and the service-account signing keys. */
export function createPki(dir) {
  const p = (f) => path.join(dir, f);
  openssl(['genrsa', '-out', 'ca.key', '2048'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-nodes',
      '-key',
      'ca.key',
      '-subj',
      '/CN=local-control-plane-ca',
      '-days',
      '3650',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  writeFileSync(
    p('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      '',
    ].join('\n'),
  );
  openssl(['genrsa', '-out', 'server.key', '2048'], dir);
  openssl(['req', '-new', '-key', 'server.key', '-subj', '/CN=kube-apiserver', '-out', 'server.csr'], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      'server.ext',
      '-out',
      'server.crt',
    ],
    dir,
  );
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}
/**
 * Issues a client certificate for `user` in `groups` (the API server maps CN to the user name and
 * O to groups). Returns PEM strings. Cached by file name so repeated calls are cheap.
 */
export function issueClientCert(pki, user, groups = []) {
  const safe = user.replace(/[^a-zA-Z0-9_.-]/g, '_');
  const key = path.join(pki.dir, `client-${safe}.key`);
  const crt = path.join(pki.dir, `client-${safe}.crt`);
  if (!existsSync(crt)) {
    const subj = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
    const ext = path.join(pki.dir, 'client.ext');
    writeFileSync(
      ext,
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
    );
    openssl(['genrsa', '-out', key, '2048'], pki.dir);
    openssl(['req', '-new', '-key', key, '-subj', subj, '-out', `${crt}.csr`], pki.dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${crt}.csr`,
        '-CA',
        pki.caCert,
        '-CAkey',
        pki.caKey,
        '-CAcreateserial',
        '-days',
        '3650',
        '-extfile',
        ext,
        '-out',
        crt,
      ],
      pki.dir,
    );
  }
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
}
/** A kubeconfig (YAML is a superset of JSON, so JSON it is) with embedded credentials. */
export function kubeconfigFor(server, caPem, user, cred) {
  const b64 = (s) => Buffer.from(s).toString('base64');
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
      users: [
        { name: user, user: { 'client-certificate-data': b64(cred.cert), 'client-key-data': b64(cred.key) } },
      ],
      contexts: [{ name: 'local', context: { cluster: 'local', user, namespace: 'default' } }],
      'current-context': 'local',
    },
    null,
    2,
  )}\n`;
}
//# sourceMappingURL=pki.js.map
