// The few WebAssembly APIs this module uses. The project's lib (es2024, no DOM) has no WebAssembly types, and
// Node provides the global at runtime.

/** A compiled WebAssembly.Module (opaque here; it can be posted to workers). */
export interface WasmModule {
  readonly [Symbol.toStringTag]: string;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}

export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
