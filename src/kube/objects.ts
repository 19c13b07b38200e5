// Typed verbs over the REST client: get, list, create, server-side apply, patches, delete. Every
// verb takes `as` so work done on a tenant's behalf is done as the tenant's ServiceAccount.
import type { Identity, KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';
import { type ResourceMapping, RestMapper, resourcePath } from './mapper.ts';
import type { KubeList, KubeObject, ObjectRef } from './types.ts';

export const fieldManager = 'integration-operator';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export class Kube {
  readonly client: KubeClient;
  readonly mapper: RestMapper;

  constructor(client: KubeClient, mapper = new RestMapper(client)) {
    this.client = client;
    this.mapper = mapper;
  }

  async path(ref: Pick<ObjectRef, 'apiVersion' | 'kind' | 'namespace'> & { name?: string }, sub?: string) {
    const m = await this.mapper.resolve(ref.apiVersion, ref.kind);
    return { path: resourcePath(m, ref.namespace, ref.name, sub), mapping: m };
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    opts: { as?: Identity; signal?: AbortSignal } = {},
  ) {
    const { path } = await this.path(ref);
    try {
      return await this.client.request<T>({ method: 'GET', path, as: opts.as, signal: opts.signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(
    ref: Pick<ObjectRef, 'apiVersion' | 'kind' | 'namespace'>,
    opts: {
      as?: Identity;
      labelSelector?: string;
      fieldSelector?: string;
      limit?: number;
      continue?: string;
      signal?: AbortSignal;
    } = {},
  ): Promise<KubeList<T>> {
    const { path } = await this.path(ref);
    return this.client.request<KubeList<T>>({
      method: 'GET',
      path,
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
      },
      as: opts.as,
      signal: opts.signal,
    });
  }

  /** Creates (a plain POST: an existing object is a 409 AlreadyExists, never changed). */
  async create<T extends KubeObject>(
    obj: T,
    opts: { as?: Identity; manager?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    const { path } = await this.path({
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      namespace: obj.metadata.namespace,
    });
    return this.client.request<T>({
      method: 'POST',
      path,
      ...(opts.manager ? { query: { fieldManager: opts.manager } } : {}),
      body: obj,
      as: opts.as,
      signal: opts.signal,
    });
  }

  /** Server-side apply (forced by default: the operator owns the fields it templates). */
  async apply<T extends KubeObject>(
    obj: T,
    opts: { as?: Identity; force?: boolean; manager?: string; signal?: AbortSignal; dryRun?: boolean } = {},
  ): Promise<T> {
    const { path } = await this.path({
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      namespace: obj.metadata.namespace,
      name: obj.metadata.name ?? '',
    });
    return this.client.request<T>({
      method: 'PATCH',
      path,
      query: {
        fieldManager: opts.manager ?? fieldManager,
        force: opts.force ?? true,
        ...(opts.dryRun ? { dryRun: 'All' } : {}),
      },
      body: obj,
      contentType: 'application/apply-patch+yaml',
      as: opts.as,
      signal: opts.signal,
    });
  }

  /** JSON merge patch, of the object or a subresource (`status`). */
  async mergePatch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    opts: { as?: Identity; subresource?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    const { path } = await this.path(ref, opts.subresource);
    return this.client.request<T>({
      method: 'PATCH',
      path,
      body: patch,
      contentType: 'application/merge-patch+json',
      as: opts.as,
      signal: opts.signal,
    });
  }

  /** JSON patch (RFC 6902), e.g. with a `test` op as a precondition. */
  async jsonPatch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    ops: unknown[],
    opts: { as?: Identity; subresource?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    const { path } = await this.path(ref, opts.subresource);
    return this.client.request<T>({
      method: 'PATCH',
      path,
      body: ops,
      contentType: 'application/json-patch+json',
      as: opts.as,
      signal: opts.signal,
    });
  }

  /** Deletes; returns false when the object did not exist. */
  async delete(
    ref: ObjectRef,
    opts: { as?: Identity; propagationPolicy?: PropagationPolicy; uid?: string; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const { path } = await this.path(ref);
    try {
      await this.client.request({
        method: 'DELETE',
        path,
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: opts.propagationPolicy ?? 'Background',
          ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
        },
        as: opts.as,
        signal: opts.signal,
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async mapping(apiVersion: string, kind: string): Promise<ResourceMapping> {
    return this.mapper.resolve(apiVersion, kind);
  }
}
