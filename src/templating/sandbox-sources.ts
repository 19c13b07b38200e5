// What the sandbox may load, prepared once per process on the main thread and handed to every worker:
// the compiled WebAssembly module of QuickJS and the allow-list of module sources.
//
// Allow-list (module name → source):
//   'eta/core'            eta's self-contained core build (no imports)
//   'sandbox/<file>'      this module's sandboxed code (src/templating/sandbox/)
//   'go/<path>'           the Go-dialect engine (src/templating/go/), when present
// TypeScript is stripped with node:module's stripTypeScriptTypes (erasable syntax only, as the whole project).
// Test files and declaration files are never served. Nothing else can be imported inside the sandbox.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire, stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type WasmModule, webAssembly } from './wasm.ts';

export interface SandboxBundle {
  readonly wasmModule: WasmModule;
  readonly modules: Readonly<Record<string, string>>;
}

const templatingDir = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function isServedFile(name: string): boolean {
  return (
    (name.endsWith('.ts') || name.endsWith('.js')) &&
    !name.endsWith('.d.ts') &&
    !/\.(test|spec)\.[jt]s$/.test(name)
  );
}

function collect(dir: string, prefix: string, into: Record<string, string>): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const name = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      collect(full, name, into);
    } else if (entry.isFile() && isServedFile(entry.name)) {
      const text = readFileSync(full, 'utf8');
      into[name] = entry.name.endsWith('.ts') ? stripTypeScriptTypes(text, { mode: 'strip' }) : text;
    }
  }
}

export function readSandboxModules(): Record<string, string> {
  const modules: Record<string, string> = {};
  modules['eta/core'] = readFileSync(require.resolve('eta/core'), 'utf8');
  collect(path.join(templatingDir, 'sandbox'), 'sandbox', modules);
  collect(path.join(templatingDir, 'go'), 'go', modules);
  return modules;
}

/** The name of a sandbox module in the bundle: `sandbox/runner.ts` from sources, `sandbox/runner.js` from a build. */
export function sandboxModuleName(
  modules: Readonly<Record<string, string>>,
  stem: string,
): string | undefined {
  for (const ext of ['.ts', '.js']) {
    const name = `sandbox/${stem}${ext}`;
    if (Object.hasOwn(modules, name)) return name;
  }
  return undefined;
}

/**
 * Resolves an import inside the sandbox: relative specifiers against the importing module, plus the bare
 * 'eta/core'. Returns undefined for anything not on the allow-list.
 */
export function resolveSandboxModule(
  modules: Readonly<Record<string, string>>,
  base: string,
  requested: string,
): string | undefined {
  let name: string;
  if (requested === 'eta/core') name = requested;
  else if (requested.startsWith('./') || requested.startsWith('../')) {
    name = path.posix.normalize(path.posix.join(path.posix.dirname(base), requested));
  } else return undefined;
  return Object.hasOwn(modules, name) ? name : undefined;
}

let bundle: Promise<SandboxBundle> | undefined;

/** Reads and compiles once per process; later calls share the result. */
export function loadSandboxBundle(): Promise<SandboxBundle> {
  bundle ??= (async () => {
    const wasmBytes = readFileSync(require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm'));
    const wasmModule = await webAssembly.compile(wasmBytes);
    return { wasmModule, modules: readSandboxModules() };
  })();
  bundle.catch(() => {
    bundle = undefined;
  });
  return bundle;
}
