// An apparatus that answers badly, on purpose: one local HTTP server whose first path segment picks
// the misbehaviour (`/garbage/config`, `/drip/coupled`, ...). Tests point an owner's apparatus at
// `${url}/<mode>` through the operator's endpoint overrides. Every request is answered or cut, and
// every timer is cleared on close, so the server never outlives the test.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const hostileModes = [
  'garbage', // 200 with a body that is not JSON
  'array', // 200 with a JSON array for /config
  'string', // 200 with a JSON string for /config
  'huge', // 200 with a 50 MB body (streamed)
  'drip', // 200, one byte every 500 ms, never finishing in time
  'stall', // accepts the request and never answers
  'redirect', // 302 to another host
  'redirect-local', // 307 to the operator's own metrics port
  'e400', // 400 with a JSON error
  'e404',
  'e500', // 500 with an HTML page
  'e503',
  'echo500', // 500 echoing the request body (which holds config values) in the message
  'reset', // destroys the connection
  'nested', // 200 with nested objects and numbers in /config (valid)
  'proto', // 200 with __proto__ and constructor keys in /config
  'deep', // 200 with 100,000 nested arrays in /config
  'slowok', // answers correctly after 0.7 s (inside the operator's 1.5 s attempt timeout)
] as const;
export type HostileMode = (typeof hostileModes)[number];

export interface HostileApparatus {
  url: string;
  /** Requests seen, by mode and endpoint (`garbage/config`). */
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startHostileApparatus(): Promise<HostileApparatus> {
  const hits = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<import('node:net').Socket>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const server = http.createServer((req, res) => {
    const [, mode = '', endpoint = ''] = (req.url ?? '').split('?')[0]!.split('/');
    hits.set(`${mode}/${endpoint}`, (hits.get(`${mode}/${endpoint}`) ?? 0) + 1);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      if (body.length < 4 * 1024 * 1024) body += c;
    });
    req.on('end', () => {
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      // Ping and the events of a "config-only" misbehaviour answer normally where it makes sense.
      if (endpoint === 'ping') return json(200, {});
      switch (mode as HostileMode) {
        case 'garbage':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end('{"a": tru\u0000e, <html>');
        case 'array':
          return json(200, endpoint === 'config' ? [1, 2, 3] : {});
        case 'string':
          return json(200, endpoint === 'config' ? 'just a string' : {});
        case 'huge': {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(1024 * 1024, 0x61);
          let sent = 0;
          const pump = () => {
            while (sent < 50 && !res.destroyed) {
              sent++;
              if (!res.write(sent === 1 ? Buffer.concat([Buffer.from('{"a":"'), chunk]) : chunk)) {
                res.once('drain', pump);
                return;
              }
            }
            if (!res.destroyed) res.end('"}');
          };
          return pump();
        }
        case 'drip': {
          res.writeHead(200, { 'content-type': 'application/json' });
          let n = 0;
          const drip = () => {
            if (res.destroyed || n++ > 120) return res.end();
            res.write(' ');
            later(500, drip);
          };
          return drip();
        }
        case 'stall':
          return; // never answered; closed with the server
        case 'redirect':
          res.writeHead(302, { location: 'http://attacker.example.com/steal' });
          return res.end();
        case 'redirect-local':
          res.writeHead(307, { location: 'http://127.0.0.1:8080/metrics' });
          return res.end();
        case 'e400':
          return json(400, { error: 'bad request from the apparatus' });
        case 'e404':
          return json(404, { error: 'no such endpoint' });
        case 'e500':
          res.writeHead(500, { 'content-type': 'text/html' });
          return res.end('<html><body><h1>Internal Server Error</h1>\u0007\u001b[31m</body></html>');
        case 'e503':
          return json(503, { message: 'unavailable' });
        case 'echo500':
          return json(500, { error: `I received ${body}` });
        case 'reset':
          return req.socket.destroy();
        case 'nested':
          return json(200, endpoint === 'config' ? { a: { b: [1, 2] }, n: 1000000, t: true, s: 'x' } : {});
        case 'proto':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(endpoint === 'config' ? '{"__proto__":{"polluted":"yes"},"constructor":"c"}' : '{}');
        case 'deep':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(endpoint === 'config' ? `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}` : '{}');
        case 'slowok':
          return later(700, () => json(200, {}));
        default:
          return json(404, { error: `unknown mode ${mode}` });
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
