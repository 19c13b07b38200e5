// An "owner" is one side of a coupling seen from the outside: a Plug or a Socket, with what every
// step done on its behalf needs (its identity, its namespace, its spec).
import type { Plug } from '../api/plug.ts';
import type { Socket } from '../api/socket.ts';
import type { Side } from '../integration/lifecycle.ts';
import type { Identity } from '../kube/client.ts';
import type { KubeObject } from '../kube/types.ts';

export type OwnerKind = 'Plug' | 'Socket';

export type SharedSpec = NonNullable<Plug['spec']> & NonNullable<Socket['spec']>;

export interface Owner {
  kind: OwnerKind;
  side: Side;
  /** The object as cached (what templates and the apparatus see). */
  raw: KubeObject;
  spec: Partial<SharedSpec>;
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  serviceAccountName: string;
  /** Everything done on the owner's behalf is done as its ServiceAccount. */
  as: Identity;
}

export function ownerOf(kind: OwnerKind, raw: KubeObject, spec: Partial<SharedSpec> | undefined): Owner {
  const namespace = raw.metadata.namespace ?? '';
  const serviceAccountName = spec?.serviceAccountName || 'default';
  return {
    kind,
    side: kind === 'Plug' ? 'plug' : 'socket',
    raw,
    spec: spec ?? {},
    name: raw.metadata.name ?? '',
    namespace,
    uid: raw.metadata.uid ?? '',
    generation: raw.metadata.generation ?? 0,
    serviceAccountName,
    as: { serviceAccount: { namespace, name: serviceAccountName } },
  };
}

export function serviceAccountUser(o: Owner): string {
  return `system:serviceaccount:${o.namespace}:${o.serviceAccountName}`;
}

export function describeOwner(o: Owner): string {
  return `${o.kind} ${o.namespace}/${o.name}`;
}

/** The object without its status (what the other side of a coupling may see). */
export function withoutStatus(obj: KubeObject): KubeObject {
  const { status: _status, ...rest } = obj;
  return rest as KubeObject;
}
