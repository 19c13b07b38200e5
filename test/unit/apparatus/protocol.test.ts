import { describe, expect, it } from 'vitest';
import { ApparatusError } from '../../../src/apparatus/errors.ts';
import {
  ConfigRequestSchema,
  CouplingEventBodySchema,
  configRequestBody,
  configValuesFromResponse,
  couplingEventBody,
  idempotencyKey,
  ObjectEventBodySchema,
  objectEventBody,
  parseConfigResponse,
  withoutStatus,
} from '../../../src/apparatus/protocol.ts';
import { plug, socket } from './servers.ts';

const URL_ = 'http://app-plug-apparatus.tenant-a.svc.cluster.local/config';

describe('configValuesFromResponse', () => {
  it('takes strings as they are and numbers/booleans as their JSON text', () => {
    expect(
      configValuesFromResponse(
        { s: 'x y', empty: '', n: 1000000, neg: -3, f: 0.5, e: 1e21, t: true, fa: false, zero: 0 },
        URL_,
      ),
    ).toEqual({
      s: 'x y',
      empty: '',
      n: '1000000',
      neg: '-3',
      f: '0.5',
      e: '1e+21',
      t: 'true',
      fa: 'false',
      zero: '0',
    });
  });

  it('turns objects and arrays into JSON and drops null', () => {
    const out = configValuesFromResponse(
      { o: { a: 1, b: [true, 'x'] }, a: [1, 2], nested: { n: 1000000 }, gone: null },
      URL_,
    );
    expect(out).toEqual({ o: '{"a":1,"b":[true,"x"]}', a: '[1,2]', nested: '{"n":1000000}' });
    expect('gone' in out).toBe(false);
  });

  it('refuses anything but an object, naming the URL', () => {
    for (const bad of [[1, 2], 'text', 42, null, true]) {
      const err = (() => {
        try {
          configValuesFromResponse(bad, URL_);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ApparatusError);
      expect((err as ApparatusError).code).toBe('BadResponse');
      expect((err as ApparatusError).message).toContain(URL_);
      expect((err as ApparatusError).message).toContain('JSON object');
    }
  });

  it('keeps a "__proto__" key as a plain key', () => {
    const out = configValuesFromResponse(JSON.parse('{"__proto__":"x","a":"b"}'), URL_);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'a']);
  });
});

describe('parseConfigResponse', () => {
  it('keeps every digit of integers beyond 2^53, at top level and nested', () => {
    expect(
      parseConfigResponse('{"big":12345678901234567890,"n":{"big":12345678901234567890},"m":1e6}', URL_),
    ).toEqual({
      big: '12345678901234567890',
      n: '{"big":12345678901234567890}',
      m: '1000000',
    });
  });

  it('reports garbage, empty bodies and non-objects as BadResponse naming the URL', () => {
    expect(() => parseConfigResponse('<html>oops</html>', URL_)).toThrow(/not JSON.*JSON object/);
    expect(() => parseConfigResponse('', URL_)).toThrow(/empty body/);
    expect(() => parseConfigResponse('[]', URL_)).toThrow(new RegExp(`${URL_}.*an array`));
    expect(() => parseConfigResponse('"x"', URL_)).toThrow(/a string/);
    expect(() => parseConfigResponse('12345678901234567890', URL_)).toThrow(/JSON object/);
  });

  it('redacts credentials and query values of the URL in messages', () => {
    expect(() => parseConfigResponse('[]', 'http://user:pw@h.svc/x/config?token=s3cret')).toThrow(
      /http:\/\/h\.svc\/x\/config\?…/,
    );
    try {
      parseConfigResponse('[]', 'http://user:pw@h.svc/x/config?token=s3cret');
    } catch (err) {
      expect(String((err as Error).message)).not.toMatch(/pw|s3cret/);
    }
  });
});

describe('body builders (the wire shapes Go-era apparatus services rely on)', () => {
  it('/config: version is the number 1, vars only when given, the other side without status', () => {
    const body = configRequestBody({ side: 'Plug', plug, socket, plugData: { a: '1' }, socketData: {} });
    expect(body.version).toBe(1);
    expect('vars' in body).toBe(false);
    expect(body.plug).toEqual(plug);
    expect(body.socket).toEqual(withoutStatus(socket));
    expect('status' in body.socket).toBe(false);
    expect(JSON.stringify(body)).toMatch(/^\{"version":1,/);

    const withVars = configRequestBody({
      side: 'Socket',
      plug,
      socket,
      plugData: {},
      socketData: {},
      vars: { v: 'x' },
    });
    expect(withVars.vars).toEqual({ v: 'x' });
    expect(withVars.socket).toEqual(socket);
    expect('status' in withVars.plug).toBe(false);
    expect(ConfigRequestSchema.parse(withVars)).toEqual(withVars);
  });

  it('/created and /deleted: version is the string "1" and only the own object', () => {
    expect(objectEventBody('Plug', plug)).toEqual({ version: '1', plug });
    expect(objectEventBody('Socket', socket)).toEqual({ version: '1', socket });
    expect(ObjectEventBodySchema.safeParse({ version: '1', plug, socket }).success).toBe(false);
    expect(ObjectEventBodySchema.safeParse({ version: 1, plug }).success).toBe(false);
  });

  it('/coupled, /updated, /decoupled: both objects (other side without status) and both configs', () => {
    const body = couplingEventBody({
      side: 'Plug',
      plug,
      socket,
      plugConfig: { a: 'b' },
      socketConfig: { port: 5432 },
    });
    expect(body).toEqual({
      version: '1',
      plug,
      socket: withoutStatus(socket),
      plugConfig: { a: 'b' },
      socketConfig: { port: 5432 },
    });
    expect(CouplingEventBodySchema.parse(body)).toEqual(body);
  });

  it('withoutStatus does not modify the object it is given', () => {
    const copy = structuredClone(socket);
    withoutStatus(copy);
    expect(copy).toEqual(socket);
  });
});

describe('idempotencyKey', () => {
  const base = { ownerUid: 'u1', coupling: 'p/s', event: 'coupled' as const, generation: 3 };

  it('is a stable 64-character hex string', () => {
    const key = idempotencyKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(idempotencyKey({ ...base })).toBe(key);
    expect(idempotencyKey({ ...base, generation: '3' })).toBe(key);
  });

  it('changes with every input', () => {
    const key = idempotencyKey(base);
    const variants = [
      { ...base, ownerUid: 'u2' },
      { ...base, coupling: 'p/s2' },
      { ...base, coupling: undefined },
      { ...base, event: 'updated' as const },
      { ...base, generation: 4 },
      { ...base, inputsHash: 'abc' },
    ];
    const keys = new Set(variants.map(idempotencyKey));
    expect(keys.size).toBe(variants.length);
    expect(keys.has(key)).toBe(false);
  });

  it('cannot be confused by separators inside the inputs', () => {
    expect(idempotencyKey({ ...base, ownerUid: 'a', coupling: 'b/c' })).not.toBe(
      idempotencyKey({ ...base, ownerUid: 'a/b', coupling: 'c' }),
    );
  });
});
