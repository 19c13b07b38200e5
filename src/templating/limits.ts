import { z } from 'zod';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Limits of one render (one round trip to the sandbox: a text template, or every string of an object template).
 * Parse operator flags with this schema so defaults and bounds live in one place.
 */
export const TemplateLimitsSchema = z.object({
  /** Deadline of one render, counted from when it starts executing in a worker (queueing excluded). */
  timeoutMs: z.number().int().min(10).max(600_000).default(1000),
  /**
   * Maximum of the capped WebAssembly.Memory that QuickJS runs in (one per worker; the only memory limit that
   * holds in quickjs-emscripten 0.32). At least 24 MiB: the module alone starts at 16 MiB.
   */
  memoryBytes: z
    .number()
    .int()
    .min(24 * MiB)
    .max(2048 * MiB)
    .default(64 * MiB),
  /** Maximum size of the rendered text in UTF-8 bytes (for an object template: all its strings together). */
  maxOutputBytes: z
    .number()
    .int()
    .min(1 * KiB)
    .max(64 * MiB)
    .default(1 * MiB),
  /**
   * QuickJS stack limit (setMaxStackSize). Bounded to 256 KiB: measured on 0.32, 1 MiB let the JavaScript parser
   * exhaust the worker's native stack (a host RangeError) and 8 MiB overran the WebAssembly shadow stack and
   * corrupted the module.
   */
  stackBytes: z
    .number()
    .int()
    .min(32 * KiB)
    .max(256 * KiB)
    .default(128 * KiB),
  /** Longest template source accepted, in UTF-16 code units (Kubernetes objects are at most ~1.5 MB anyway). */
  maxTemplateLength: z
    .number()
    .int()
    .min(1 * KiB)
    .max(16 * MiB)
    .default(1 * MiB),
  /** Largest JSON text of the data handed to a template. */
  maxDataBytes: z
    .number()
    .int()
    .min(1 * KiB)
    .max(256 * MiB)
    .default(8 * MiB),
  /** Error messages coming out of the sandbox are cut to this many characters. */
  maxErrorMessageLength: z
    .number()
    .int()
    .min(80)
    .max(64 * KiB)
    .default(1000),
});

export type TemplateLimits = z.infer<typeof TemplateLimitsSchema>;

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = TemplateLimitsSchema.parse({});

/** Fills defaults and checks bounds; throws a zod error naming the bad field. */
export function resolveTemplateLimits(partial: Partial<TemplateLimits> | undefined): TemplateLimits {
  return TemplateLimitsSchema.parse(partial ?? {});
}
