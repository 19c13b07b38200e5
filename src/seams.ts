// The production seams of the operator: resolution, side effects (resources, apparatus calls) and
// the idle reaper of managed apparatus Pods. main.ts and the in-process test operator build them
// here, so tests exercise the same wiring as the binary.
import type { AllowList, ApparatusClient, EndpointOverrides } from './apparatus/index.ts';
import { DefaultActions } from './controllers/actions.ts';
import { DefaultApparatusService } from './controllers/apparatus.ts';
import { idleReaper, ManagedApparatusPods } from './controllers/managed-apparatus.ts';
import { DefaultResolver } from './controllers/resolve.ts';
import type { TemplateEngine } from './controllers/templates.ts';
import type { Logger } from './observe/log.ts';
import type { OperatorOptions } from './operator.ts';

export interface DefaultSeamsOptions {
  apparatusClient: ApparatusClient;
  templates: TemplateEngine;
  allowedHosts: AllowList;
  overrides: EndpointOverrides;
  log: Logger;
  allowClusterScoped: boolean;
  /** How often idle managed apparatus Pods are looked for. */
  reapIntervalMs: number;
  managedUrlTemplate?: string | undefined;
  /** How long a managed apparatus Pod may take to become Ready (ManagedApparatusPods' default when unset). */
  readyWaitMs?: number;
}

export function defaultSeams(o: DefaultSeamsOptions): OperatorOptions['seams'] {
  return (kube, recorder, caches) => {
    const pods = new ManagedApparatusPods({
      kube,
      client: o.apparatusClient,
      log: o.log.child({ component: 'apparatus' }),
      ...(o.readyWaitMs !== undefined ? { readyWaitMs: o.readyWaitMs } : {}),
    });
    const apparatus = new DefaultApparatusService({
      client: o.apparatusClient,
      allowedHosts: o.allowedHosts,
      overrides: o.overrides,
      managed: pods,
      ...(o.managedUrlTemplate ? { managedUrlTemplate: o.managedUrlTemplate } : {}),
    });
    return {
      runnables: [idleReaper(pods, caches.plugs, caches.sockets, o.reapIntervalMs)],
      resolver: new DefaultResolver({
        kube,
        templates: o.templates,
        apparatus,
        references: caches.references,
      }),
      actions: new DefaultActions({
        kube,
        templates: o.templates,
        apparatus,
        allowClusterScoped: o.allowClusterScoped,
        warn: (owner, message) => recorder.record(owner.raw, 'Warning', 'ResourceWarning', message),
        namespaceTerminating: (ns) => Boolean(caches.namespaces.store.get(ns)?.metadata.deletionTimestamp),
      }),
    };
  };
}
