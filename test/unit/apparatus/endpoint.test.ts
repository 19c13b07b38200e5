import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  AddressNotAllowedError,
  apparatusName,
  checkAddress,
  createGuardedLookup,
  describeOverrides,
  isHostAllowed,
  NO_OVERRIDES,
  parseAllowedHosts,
  parseEndpointOverrides,
  type ResolveApparatusUrlInput,
  resolveApparatusUrl,
} from '../../../src/apparatus/endpoint.ts';
import {
  AllowListSyntaxError,
  ApparatusError,
  EndpointOverrideSyntaxError,
} from '../../../src/apparatus/errors.ts';

const defaults = parseAllowedHosts();
const containers = [{ name: 'apparatus', image: 'example/apparatus:1' }];

function resolve(partial: Partial<ResolveApparatusUrlInput> & Pick<ResolveApparatusUrlInput, 'apparatus'>) {
  return resolveApparatusUrl({
    ownerKind: 'Plug',
    ownerName: 'app',
    namespace: 'ns',
    allowedHosts: defaults,
    ...partial,
  });
}

function errorOf(fn: () => unknown): ApparatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApparatusError) return err;
    throw err;
  }
  throw new Error('expected an ApparatusError');
}

describe('resolveApparatusUrl: SPEC rules', () => {
  it.each([
    // [kind, endpoint, containers, baseUrl, managedPod]
    ['Plug', undefined, containers, 'http://app-plug-apparatus.ns.svc.cluster.local', true],
    ['Socket', '', containers, 'http://app-socket-apparatus.ns.svc.cluster.local', true],
    ['Socket', '/socket', containers, 'http://app-socket-apparatus.ns.svc.cluster.local/socket', true],
    ['Plug', '/a/b/', containers, 'http://app-plug-apparatus.ns.svc.cluster.local/a/b', true],
    ['Plug', 'http://ext.ns.svc:8080/x', [], 'http://ext.ns.svc:8080/x', false],
    ['Plug', 'https://ext.ns.svc.cluster.local/', undefined, 'https://ext.ns.svc.cluster.local', false],
    ['Plug', 'HTTP://Ext.NS.svc/x', containers, 'http://ext.ns.svc/x', false],
    ['Plug', 'my-svc.ns.svc:8080/x', [], 'http://my-svc.ns.svc:8080/x', false],
    ['Socket', 'my-svc.ns.svc', null, 'http://my-svc.ns.svc', false],
  ] as const)(
    '%s endpoint %j containers %j → %s (managed Pod: %s)',
    (kind, endpoint, ctrs, baseUrl, managedPod) => {
      const target = resolve({ ownerKind: kind, apparatus: { endpoint, containers: ctrs } });
      expect(target.baseUrl).toBe(baseUrl);
      expect(target.managedPod).toBe(managedPod);
      expect(target.podName).toBe(kind === 'Plug' ? 'app-plug-apparatus' : 'app-socket-apparatus');
      expect(target.guarded).toBe(true);
      expect(target.source).toBe(managedPod ? 'managed' : 'endpoint');
    },
  );

  it('always allows the managed in-cluster URL, even with an allow-list that names nothing like it', () => {
    const target = resolve({
      apparatus: { endpoint: '/x', containers },
      allowedHosts: parseAllowedHosts('10.0.0.0/8'),
    });
    expect(target.baseUrl).toBe('http://app-plug-apparatus.ns.svc.cluster.local/x');
  });

  it('honours another cluster domain', () => {
    const target = resolve({ apparatus: { containers }, clusterDomain: 'corp.internal' });
    expect(target.baseUrl).toBe('http://app-plug-apparatus.ns.svc.corp.internal');
  });

  it('keeps the path host-safe: "//evil.example/x" stays a path on the managed host', () => {
    const target = resolve({ apparatus: { endpoint: '//evil.example/x', containers } });
    expect(new URL(target.baseUrl).hostname).toBe('app-plug-apparatus.ns.svc.cluster.local');
  });

  it('refuses a path endpoint without containers (the Go operator called http://localhost, itself)', () => {
    for (const apparatus of [{ endpoint: '/x', containers: [] }, { endpoint: '' }, {}]) {
      const err = errorOf(() => resolve({ apparatus }));
      expect(err.code).toBe('InvalidEndpoint');
      expect(err.conditionReason).toBe('Error');
      expect(err.message).toContain('Plug ns/app');
      expect(err.message).toContain('containers');
    }
  });

  it('refuses other schemes and unparsable endpoints', () => {
    for (const endpoint of ['ftp://x.ns.svc/', 'file:///etc/passwd', 'http://', 'http://exa mple.svc/']) {
      const err = errorOf(() => resolve({ apparatus: { endpoint } }));
      expect(err.code, endpoint).toBe('InvalidEndpoint');
    }
  });
});

describe('resolveApparatusUrl: overrides', () => {
  const env = {
    DEBUG_PLUG_ENDPOINT: '127.0.0.1:9000/',
    DEBUG_SOCKET_ENDPOINT: 'http://127.0.0.1:9001/sock',
    APPARATUS_ENDPOINT_OVERRIDES:
      ' Plug/ns/special=http://127.0.0.1:1234 , Socket/ns/db=https://localhost:1235/x ',
  };
  const overrides = parseEndpointOverrides(env);

  it('maps one owner, then every plug / socket; no Pod, no allow-list, not guarded', () => {
    expect(
      resolve({
        ownerName: 'special',
        apparatus: { endpoint: 'http://evil.example', containers },
        overrides,
      }),
    ).toEqual({
      baseUrl: 'http://127.0.0.1:1234',
      managedPod: false,
      podName: 'special-plug-apparatus',
      source: 'override',
      guarded: false,
    });
    const plugTarget = resolve({ ownerName: 'other', apparatus: { containers }, overrides });
    expect(plugTarget.baseUrl).toBe('http://127.0.0.1:9000');
    expect(plugTarget.managedPod).toBe(false);
    expect(
      resolve({ ownerKind: 'Socket', ownerName: 'db', apparatus: { containers }, overrides }).baseUrl,
    ).toBe('https://localhost:1235/x');
    expect(
      resolve({ ownerKind: 'Socket', ownerName: 'other', apparatus: { containers }, overrides }).baseUrl,
    ).toBe('http://127.0.0.1:9001/sock');
  });

  it('does not apply a per-owner override to the same name of the other kind or namespace', () => {
    expect(
      resolve({
        ownerKind: 'Socket',
        ownerName: 'special',
        apparatus: { containers },
        overrides: { ...overrides, socket: undefined },
      }).source,
    ).toBe('managed');
    expect(
      resolve({
        namespace: 'ns2',
        ownerName: 'special',
        apparatus: { containers },
        overrides: { ...overrides, plug: undefined },
      }).source,
    ).toBe('managed');
  });

  it('is empty without the variables', () => {
    expect(parseEndpointOverrides({})).toEqual(NO_OVERRIDES);
  });

  it('describes itself for the startup log without credentials', () => {
    const lines = describeOverrides(
      parseEndpointOverrides({ DEBUG_PLUG_ENDPOINT: 'http://u:p@127.0.0.1:1/?t=x' }),
    );
    expect(lines).toEqual(['DEBUG_PLUG_ENDPOINT: every Plug apparatus is called at http://127.0.0.1:1/?…']);
  });

  it('fails at startup on malformed entries', () => {
    for (const bad of [
      'Plug/ns=http://x',
      'Pod/ns/a=http://x',
      'Plug/ns/a',
      'Plug/ns/a=ftp://x',
      'Plug/ns/a/b=http://x',
    ]) {
      expect(() => parseEndpointOverrides({ APPARATUS_ENDPOINT_OVERRIDES: bad }), bad).toThrow(
        EndpointOverrideSyntaxError,
      );
    }
    expect(() => parseEndpointOverrides({ DEBUG_PLUG_ENDPOINT: 'gopher://x' })).toThrow(
      /DEBUG_PLUG_ENDPOINT/,
    );
  });
});

describe('allow-list', () => {
  it('default: *.svc and *.svc.cluster.local, no IP literals, no bare names', () => {
    expect(isHostAllowed('db.team.svc', defaults)).toBe(true);
    expect(isHostAllowed('a.b.c.svc', defaults)).toBe(true);
    expect(isHostAllowed('db.team.svc.cluster.local', defaults)).toBe(true);
    expect(isHostAllowed('DB.Team.SVC.', defaults)).toBe(true);
    expect(isHostAllowed('svc', defaults)).toBe(false);
    expect(isHostAllowed('evilsvc', defaults)).toBe(false);
    expect(isHostAllowed('svc.evil.example', defaults)).toBe(false);
    expect(isHostAllowed('my-svc.ns', defaults)).toBe(false);
    expect(isHostAllowed('10.0.0.1', defaults)).toBe(false);
    expect(isHostAllowed('169.254.169.254', defaults)).toBe(false);
    expect(isHostAllowed('[::1]', defaults)).toBe(false);
  });

  it('exact hosts, patterns and "*"', () => {
    const list = parseAllowedHosts('api.example.com, *.corp.example ,*.svc');
    expect(isHostAllowed('api.example.com', list)).toBe(true);
    expect(isHostAllowed('x.api.example.com', list)).toBe(false);
    expect(isHostAllowed('a.b.corp.example', list)).toBe(true);
    expect(isHostAllowed('corp.example', list)).toBe(false);
    const all = parseAllowedHosts('*');
    expect(isHostAllowed('anything.example', all)).toBe(true);
    expect(isHostAllowed('127.0.0.1', all)).toBe(false);
  });

  it('IPv4 and IPv6 CIDRs and bare addresses match IP literals only', () => {
    const list = parseAllowedHosts('10.0.0.0/8,192.168.1.7,fd00::/8,2001:db8::1');
    expect(isHostAllowed('10.1.2.3', list)).toBe(true);
    expect(isHostAllowed('11.0.0.1', list)).toBe(false);
    expect(isHostAllowed('192.168.1.7', list)).toBe(true);
    expect(isHostAllowed('192.168.1.8', list)).toBe(false);
    expect(isHostAllowed('[fd12::1]', list)).toBe(true);
    expect(isHostAllowed('[fe80::1]', list)).toBe(false);
    expect(isHostAllowed('[2001:db8::1]', list)).toBe(true);
    expect(isHostAllowed('[::ffff:a01:203]', list)).toBe(true); // IPv4-mapped 10.1.2.3
    expect(isHostAllowed('db.svc', list)).toBe(false);
  });

  it('an empty setting means the default', () => {
    expect(parseAllowedHosts('').entries).toEqual(['*.svc', '*.svc.cluster.local']);
    expect(parseAllowedHosts(' , ').entries).toEqual(['*.svc', '*.svc.cluster.local']);
  });

  it('rejects malformed entries at startup, naming the setting', () => {
    for (const bad of [
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.0/x',
      'not a host',
      '*.',
      '*.a..b',
      'http://x.svc',
      '1.2.3.4/8/9',
    ]) {
      expect(() => parseAllowedHosts(bad), bad).toThrow(AllowListSyntaxError);
    }
    expect(() => parseAllowedHosts('bad host')).toThrow(/--apparatus-allowed-hosts/);
  });

  it('a refused endpoint names the setting and its value', () => {
    const err = errorOf(() =>
      resolve({ apparatus: { endpoint: 'http://169.254.169.254/latest/meta-data' } }),
    );
    expect(err.code).toBe('NotAllowed');
    expect(err.retriedInCall).toBe(false);
    expect(err.conditionReason).toBe('Error');
    expect(err.message).toContain('--apparatus-allowed-hosts (env APPARATUS_ALLOWED_HOSTS)');
    expect(err.message).toContain('*.svc,*.svc.cluster.local');
    expect(err.message).toContain('169.254.169.254');
    expect(err.message).toContain('Plug ns/app');
  });

  it.each([
    ['http://evil.example/x', defaults, false],
    ['http://my-svc.ns:8080/x', defaults, false],
    ['my-svc.ns:8080/x', parseAllowedHosts('my-svc.ns'), true],
    ['http://10.2.3.4:8080', parseAllowedHosts('10.0.0.0/8'), true],
    ['http://[fd00::5]:8080', parseAllowedHosts('fd00::/8'), true],
    ['http://[fd00::5]:8080', defaults, false],
    ['http://0x7f.1/', defaults, false],
    ['http://2130706433/', parseAllowedHosts('*'), false],
  ] as const)('endpoint %s → allowed %s', (endpoint, allowedHosts, allowed) => {
    if (allowed) expect(resolve({ apparatus: { endpoint }, allowedHosts }).source).toBe('endpoint');
    else expect(errorOf(() => resolve({ apparatus: { endpoint }, allowedHosts })).code).toBe('NotAllowed');
  });

  it('never shows credentials or query values of a refused endpoint', () => {
    const err = errorOf(() =>
      resolve({ apparatus: { endpoint: 'http://user:hunter22@evil.example/x?token=s3cret' } }),
    );
    expect(err.message).not.toMatch(/hunter22|s3cret/);
    expect(err.url).toBe('http://evil.example/x?…');
  });
});

describe('connect-time address guard (DNS rebinding)', () => {
  it('refuses loopback, link-local/metadata, unspecified, multicast; allows private ranges', () => {
    for (const address of [
      '127.0.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
      '100.100.100.200',
    ]) {
      expect(checkAddress(address, defaults).allowed, address).toBe(false);
    }
    for (const address of [
      '10.96.0.10',
      '172.20.1.1',
      '192.168.0.1',
      'fd00::1',
      '8.8.8.8',
      '::ffff:10.0.0.1',
    ]) {
      expect(checkAddress(address, defaults).allowed, address).toBe(true);
    }
  });

  it('a CIDR entry re-allows a special address on purpose', () => {
    expect(checkAddress('127.0.0.1', parseAllowedHosts('*.svc,127.0.0.0/8')).allowed).toBe(true);
    expect(checkAddress('169.254.169.254', parseAllowedHosts('169.254.169.254/32')).allowed).toBe(true);
  });

  function lookupWith(addresses: LookupAddress[], all: boolean) {
    const lookup = createGuardedLookup(defaults, (_host, _opts, cb) => cb(null, addresses));
    return new Promise<{ err: unknown; result: unknown; family?: number }>((resolvePromise) => {
      lookup('db.ns.svc', { all }, (err: unknown, result: unknown, family?: number) =>
        resolvePromise({ err, result, family }),
      );
    });
  }

  it('refuses a host when ANY of its addresses is refused', async () => {
    const { err } = await lookupWith(
      [
        { address: '10.0.0.5', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ],
      true,
    );
    expect(err).toBeInstanceOf(AddressNotAllowedError);
    expect((err as Error).message).toContain('db.ns.svc resolved to 169.254.169.254');
    expect((err as Error).message).toContain('--apparatus-allowed-hosts');
  });

  it('passes allowed addresses through, in the shape asked for', async () => {
    const addresses = [
      { address: '10.0.0.5', family: 4 },
      { address: 'fd00::5', family: 6 },
    ];
    expect(await lookupWith(addresses, true)).toEqual({ err: null, result: addresses, family: undefined });
    expect(await lookupWith(addresses, false)).toEqual({ err: null, result: '10.0.0.5', family: 4 });
  });

  it('passes DNS errors through', async () => {
    const lookup = createGuardedLookup(defaults, (_host, _opts, cb) =>
      cb(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), []),
    );
    const err = await new Promise((r) => lookup('x', {}, (e: unknown) => r(e)));
    expect((err as { code?: string }).code).toBe('ENOTFOUND');
  });
});

describe('apparatusName', () => {
  it('is <owner>-plug-apparatus / <owner>-socket-apparatus', () => {
    expect(apparatusName('Plug', 'app')).toBe('app-plug-apparatus');
    expect(apparatusName('Socket', 'app')).toBe('app-socket-apparatus');
  });

  it('stays a valid, distinct DNS-1035 label for long, dotted or digit-first names', () => {
    const names = ['a'.repeat(63), `${'a'.repeat(62)}b`, 'my.app', 'my-app', '1app', 'a.b.c'];
    const results = names.map((n) => apparatusName('Socket', n));
    for (const r of results) {
      expect(r.length).toBeLessThanOrEqual(63);
      expect(r).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
      expect(r.endsWith('-socket-apparatus')).toBe(true);
    }
    expect(new Set(results).size).toBe(names.length);
    expect(apparatusName('Socket', 'a'.repeat(63))).toBe(apparatusName('Socket', 'a'.repeat(63)));
  });
});

describe('allow-list "none"', () => {
  it('refuses every absolute endpoint but keeps managed Pods working', () => {
    const none = parseAllowedHosts('none');
    expect(isHostAllowed('db.ns.svc', none)).toBe(false);
    expect(
      errorOf(() => resolve({ apparatus: { endpoint: 'http://db.ns.svc' }, allowedHosts: none })).code,
    ).toBe('NotAllowed');
    expect(resolve({ apparatus: { containers }, allowedHosts: none }).managedPod).toBe(true);
  });
});
