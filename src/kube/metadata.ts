// Metadata-only reads (PartialObjectMetadata): the API server answers a list or a watch with each
// object's metadata and nothing of its body, so a Secret's data never reaches the reader. The
// trailing `application/json` is client-go's fallback for servers that cannot convert (every
// built-in resource can); whatever arrives is cut down by `versionOnly` before it is kept.
import type { KubeObject } from './types.ts';

export const metadataListAccept =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const metadataWatchAccept =
  'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/**
 * What a change detector keeps of an object: name, namespace, uid and resourceVersion (about
 * 150 bytes, where a PartialObjectMetadata with managedFields, labels and annotations is often
 * several KB).
 */
export function versionOnly(obj: KubeObject): KubeObject {
  const m = obj.metadata ?? {};
  return {
    metadata: {
      name: m.name ?? '',
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
    },
  };
}
