import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.ts';

describe('operator configuration', () => {
  it('has defaults', () => {
    const c = parseConfig([], {});
    expect(c.maxConcurrentReconciles).toBe(16);
    expect(c.watchNamespaces).toBeUndefined();
    expect(c.leaderElect).toBe(false);
    expect(c.apparatusAllowedHosts).toBe('*.svc,*.svc.cluster.local');
  });

  it('reads the Go operator environment variables and lists of namespaces', () => {
    const c = parseConfig([], {
      MAX_CONCURRENT_RECONCILES: '7',
      WATCH_NAMESPACE: 'a, b',
      LEADER_ELECT: 'true',
    });
    expect(c.maxConcurrentReconciles).toBe(7);
    expect(c.watchNamespaces).toEqual(['a', 'b']);
    expect(c.leaderElect).toBe(true);
  });

  it('takes --node without a value, and the cluster DNS server from the environment', () => {
    expect(parseConfig([], {}).localControlPlaneNode).toBe(false);
    expect(parseConfig(['--node'], {}).localControlPlaneNode).toBe(true);
    expect(parseConfig([], { LOCAL_CONTROL_PLANE_NODE: 'true' }).localControlPlaneNode).toBe(true);
    expect(parseConfig([], {}).clusterDnsServer).toBeUndefined();
    expect(parseConfig([], { CLUSTER_DNS_SERVER: '10.0.0.10' }).clusterDnsServer).toBe('10.0.0.10');
    expect(() => parseConfig(['--node=maybe'], {})).toThrow(ConfigError);
  });

  it('lets a flag win over the environment', () => {
    expect(
      parseConfig(['--max-concurrent-reconciles=2'], { MAX_CONCURRENT_RECONCILES: '7' })
        .maxConcurrentReconciles,
    ).toBe(2);
  });

  it('refuses bad values with the flag and variable named', () => {
    expect(() => parseConfig([], { MAX_CONCURRENT_RECONCILES: 'lots' })).toThrow(ConfigError);
    expect(() => parseConfig([], { MAX_CONCURRENT_RECONCILES: 'lots' })).toThrow(
      /--max-concurrent-reconciles \(MAX_CONCURRENT_RECONCILES\)/,
    );
    expect(() => parseConfig(['--nope=1'], {})).toThrow(ConfigError);
    expect(() => parseConfig([], { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });

  it('takes bind addresses as host:port, :port or port, and refuses a port out of range', () => {
    for (const a of ['127.0.0.1:0', ':8081', '8081', '[::1]:9090', '0']) {
      expect(parseConfig([], { HEALTH_PROBE_BIND_ADDRESS: a }).healthProbeBindAddress).toBe(a);
    }
    for (const a of ['127.0.0.1:99999', 'localhost', 'host:', ':80a']) {
      expect(() => parseConfig([], { HEALTH_PROBE_BIND_ADDRESS: a }), a).toThrow(
        /--health-probe-bind-address \(HEALTH_PROBE_BIND_ADDRESS\).*must be host:port/,
      );
    }
    expect(() => parseConfig(['--metrics-bind-address=:70000'], {})).toThrow(ConfigError);
  });
});
