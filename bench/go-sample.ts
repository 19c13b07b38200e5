// The socket users really write, as the Go operator's Postgres-style sample has it: the socket's
// config comes from a Secret (`configSecretName`), and each coupled plug gets a Job of its own that
// is recreated on `coupled` and `updated` (`do: recreate`, since a Job cannot be changed), written in
// the Go template dialect. Shared by the benchmark scenarios that measure reference tracking
// (issue 17) and recreate throughput (issue 18).
//
// One deliberate change from the Go sample: the Job sets `restartPolicy: Never`. The Go sample's Job
// has none, which the API server refuses (a Job's Pod template needs Never or OnFailure), so that
// socket never coupled anything; the benchmark measures the working variant.
import { apiVersion } from '../src/api/common.ts';
import type { KubeObject } from '../src/kube/types.ts';

/** What the sample's tenant (the namespace's default ServiceAccount) may do: read the Secret, recreate Jobs. */
export const goSampleRights = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'create', 'patch', 'delete'] },
];

/** The Secret the socket reads its config from. */
export const goSampleSecret = (ns: string, password = 'sample-password'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'postgres-config', namespace: ns },
  type: 'Opaque',
  stringData: { host: `postgres.${ns}.svc.cluster.local`, port: '5432', username: 'postgres', password },
});

/** The socket: config from the Secret above, a Job per plug on coupled and updated, recreated. */
export const goSampleSocket = (ns: string, name = 'postgres'): KubeObject => ({
  apiVersion,
  kind: 'Socket',
  metadata: { name, namespace: ns },
  spec: {
    interface: {
      config: {
        plug: { database: { required: true } },
        socket: {
          host: { required: true },
          port: { default: '5432' },
          username: { required: true },
          password: { required: true },
        },
      },
    },
    configSecretName: 'postgres-config',
    resources: [
      {
        when: ['coupled', 'updated'],
        do: 'recreate',
        template: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'createdb-{% .plug.metadata.name %}' },
          spec: {
            backoffLimit: 3,
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'createdb',
                    image: 'postgres:17-alpine',
                    command: ['sh', '-c', 'createdb "$DATABASE" || true'],
                    env: [
                      { name: 'PGHOST', value: '{% .socketConfig.host %}' },
                      { name: 'PGPORT', value: '{% .socketConfig.port %}' },
                      { name: 'PGUSER', value: '{% .socketConfig.username %}' },
                      { name: 'PGPASSWORD', value: '{% .socketConfig.password %}' },
                      { name: 'DATABASE', value: '{% .plugConfig.database %}' },
                    ],
                  },
                ],
              },
            },
          },
        },
      },
    ],
  },
});

/** n plugs on that socket, each naming its database. */
export const goSamplePlugs = (ns: string, n: number, socket = 'postgres'): KubeObject[] =>
  Array.from({ length: n }, (_, i) => ({
    apiVersion,
    kind: 'Plug',
    metadata: { name: `p-${i}`, namespace: ns },
    spec: { socket: { name: socket }, config: { database: `db${i}` } },
  }));

/**
 * The writes one recreated Job costs on the sample socket, as a plain client sends them (the
 * benchmark measures what they cost the cluster without the operator): the Job (the sample's,
 * its template strings left as they are: the same size), the plug's status record of the event,
 * and the Event.
 */
export function goSampleWrites(ns: string) {
  const sample = (goSampleSocket(ns).spec as { resources: Array<{ template: KubeObject }> }).resources[0]!;
  const jobRef = (plug: string) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    namespace: ns,
    name: `createdb-${plug}`,
  });
  return {
    jobRef,
    job: (plug: string): KubeObject => ({
      ...sample.template,
      metadata: { name: `createdb-${plug}`, namespace: ns },
    }),
    plugRef: (plug: string) => ({ apiVersion, kind: 'Plug', namespace: ns, name: plug }),
    /** A whole status as the operator records a performed `updated`. */
    status: (plug: string, hash: string) => ({
      conditions: ['Coupled', 'Ready'].map((type) => ({
        type,
        status: 'True',
        reason: 'CouplingSucceeded',
        message: `coupled to socket ${ns}/postgres`,
        observedGeneration: 1,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      })),
      lifecycle: {
        created: '2026-01-01T00:00:00Z',
        coupling: {
          socketUid: 'u',
          socketName: 'postgres',
          socketNamespace: ns,
          ...goSampleUpdatedRecord(hash),
          applied: [{ side: 'socket', ...jobRef(plug) }],
        },
      },
    }),
    event: (plug: string): KubeObject =>
      ({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${plug}.`, namespace: ns },
        involvedObject: { apiVersion, kind: 'Plug', namespace: ns, name: plug },
        reason: 'PlugUpdated',
        message: `Updated (socket ${ns}/postgres)`,
        type: 'Normal',
        source: { component: 'integration-operator' },
      }) as unknown as KubeObject,
  };
}

/** What a performed `updated` changes in a plug's `status.lifecycle.coupling` (the operator's patch). */
export function goSampleUpdatedRecord(hash: string) {
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    plug: { event: 'updated', hash, at },
    socket: { event: 'updated', hash, at },
    resultsHash: hash,
    sourcesHash: hash,
  };
}
