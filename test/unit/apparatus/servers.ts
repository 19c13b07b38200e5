// Real HTTP servers on 127.0.0.1 (port 0) for the apparatus tests: no mocks of got.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  requests: CapturedRequest[];
  server: Server;
  close(): Promise<void>;
}

export type TestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
  index: number,
) => void | Promise<void>;

/** Starts a server that records every request (with its full body) then calls `handler`. */
export async function startServer(handler: TestHandler): Promise<TestServer> {
  const requests: CapturedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = requests.length;
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      Promise.resolve(handler(req, res, body, index)).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port with nothing listening on it (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export const plug = {
  apiVersion: 'integration.rock8s.com/v1beta1',
  kind: 'Plug',
  metadata: { name: 'app', namespace: 'tenant-a', uid: 'plug-uid-1', generation: 2 },
  spec: { socket: { name: 'db' } },
  status: { coupledSocket: { name: 'db' } },
};

export const socket = {
  apiVersion: 'integration.rock8s.com/v1beta1',
  kind: 'Socket',
  metadata: { name: 'db', namespace: 'tenant-a', uid: 'socket-uid-1', generation: 5 },
  spec: { interface: {} },
  status: { coupledPlugs: [{ name: 'other-tenants-plug', namespace: 'tenant-b' }] },
};
