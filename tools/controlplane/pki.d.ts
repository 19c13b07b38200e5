export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
}
/** Creates the CA, the API server's serving certificate and the service-account signing keys. */
export declare function createPki(dir: string): Pki;
/**
 * Issues a client certificate for `user` in `groups` (the API server maps CN to the user name and
 * O to groups). Returns PEM strings. Cached by file name so repeated calls are cheap.
 */
export declare function issueClientCert(
  pki: Pki,
  user: string,
  groups?: string[],
): {
  cert: string;
  key: string;
};
/** A kubeconfig (YAML is a superset of JSON, so JSON it is) with embedded credentials. */
export declare function kubeconfigFor(
  server: string,
  caPem: string,
  user: string,
  cred: {
    cert: string;
    key: string;
  },
): string;
