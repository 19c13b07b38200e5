// clusterDomainLookup: names under the cluster domain are asked of the cluster's DNS server (here a
// minimal one on loopback that answers every A question with one address); other names go to the
// system resolver (here a recording fallback).
import { createSocket } from 'node:dgram';
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterDomainLookup } from '../../../src/apparatus/endpoint.ts';

let port = 0;
const asked: string[] = [];
const server = createSocket('udp4');

/** Answers a DNS query with one A record 10.0.0.42 for the question asked. */
function answer(query: Buffer): Buffer {
  let i = 12;
  const labels: string[] = [];
  while (query[i]) {
    labels.push(query.subarray(i + 1, i + 1 + query[i]!).toString());
    i += query[i]! + 1;
  }
  asked.push(labels.join('.'));
  const question = query.subarray(12, i + 5);
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8180, 2); // response, recursion available, no error
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 42]);
  return Buffer.concat([header, question, rr]);
}

beforeAll(async () => {
  server.on('message', (msg, rinfo) => server.send(answer(msg), rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  port = server.address().port;
});

afterAll(() => server.close());

function lookup(name: string, fallbackCalls: string[]): Promise<LookupAddress[]> {
  const fallback = (hostname: string, _o: unknown, cb: (e: null, a: LookupAddress[]) => void) => {
    fallbackCalls.push(hostname);
    cb(null, [{ address: '192.0.2.1', family: 4 }]);
  };
  const l = clusterDomainLookup(`127.0.0.1:${port}`, 'cluster.local', fallback);
  return new Promise((resolve, reject) =>
    l(name, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );
}

describe('clusterDomainLookup', () => {
  it('asks the cluster DNS server for names under the cluster domain', async () => {
    const fallbackCalls: string[] = [];
    expect(await lookup('app-socket-apparatus.ns.svc.cluster.local', fallbackCalls)).toEqual([
      { address: '10.0.0.42', family: 4 },
    ]);
    expect(asked).toContain('app-socket-apparatus.ns.svc.cluster.local');
    expect(fallbackCalls).toEqual([]);
  });

  it('leaves every other name to the system resolver', async () => {
    const fallbackCalls: string[] = [];
    const before = asked.length;
    expect(await lookup('example.com', fallbackCalls)).toEqual([{ address: '192.0.2.1', family: 4 }]);
    expect(await lookup('cluster.local.example.com', fallbackCalls)).toHaveLength(1);
    expect(fallbackCalls).toEqual(['example.com', 'cluster.local.example.com']);
    expect(asked.length).toBe(before);
  });
});
