// Certificates for the local control plane, made with the openssl command line (present on every
// Debian machine; Node's crypto can make keys but not X.509 certificates).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
}

/** Issues a serving certificate for `name` with the given subject alternative names (IP:... / DNS:...). */
export function issueServingCert(
  ca: Pick<Pki, 'dir' | 'caCert' | 'caKey'>,
  name: string,
  sans: string[],
): { cert: string; key: string } {
  const dir = ca.dir;
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${sans.join(',')}`,
      '',
    ].join('\n'),
  );
  openssl(['genrsa', '-out', `${name}.key`, '2048'], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      ca.caCert,
      '-CAkey',
      ca.caKey,
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      ext,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/**
 * Creates the CA, the API server's serving certificate (for loopback, the `kubernetes` Service IP
 * and names, and `extraIps`: the node's address when the plane has a node) and the service-account
 * signing keys.
 */
export function createPki(dir: string, opts: { extraIps?: string[] } = {}): Pki {
  const p = (f: string) => path.join(dir, f);
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
  const sans = [
    'IP:127.0.0.1',
    'IP:10.0.0.1',
    ...(opts.extraIps ?? []).map((ip) => `IP:${ip}`),
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ];
  issueServingCert({ dir, caCert: p('ca.crt'), caKey: p('ca.key') }, 'server', sans);
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
export function issueClientCert(
  pki: Pki,
  user: string,
  groups: string[] = [],
): { cert: string; key: string } {
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
export function kubeconfigFor(
  server: string,
  caPem: string,
  user: string,
  cred: { cert: string; key: string },
): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
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
