// Entry module of the per-worker COMPILER context: eta's parser and code generator, nothing else.
//
// This context lives as long as its worker, and that is safe because it never executes tenant code: eta's
// compileToString only scans the template text (regular expressions, string slicing) and emits the source of a
// function body as a string. That string goes back to the host as a string and is turned into a function only
// inside the fresh render context (runner.ts). No plugins, no custom tags, no `compile()` (which would call
// `new Function` here).
//
// Runs inside QuickJS; 'eta/core' is eta's self-contained core build, served by the module loader.

import { Eta } from 'eta/core';
import { escapeSandboxText } from './text-escape.ts';

const eta = new Eta({
  tags: ['{%', '%}'],
  autoEscape: false,
  autoTrim: false,
  useWith: false,
  varName: 'it',
  // Debug mode tracks the template line in the generated code, so runtime errors can name it.
  debug: true,
  cache: false,
});

/**
 * `O` + the function body; `E` + eta's syntax error (it names the line and column); or `X` + `name: message` of
 * anything else (out of memory, stack overflow: the worker then rebuilds this context).
 */
export function compile(srcJson: string, maxMessageLength: number): string {
  // The source arrives as JSON: a NUL or an unpaired surrogate would not survive as a C string.
  const src = JSON.parse(srcJson) as string;
  try {
    return escapeSandboxText(`O${eta.compileToString(src)}`);
  } catch (e) {
    if (e === null) return 'XInternalError: out of memory';
    let name = '';
    let message = '';
    try {
      const n = (e as { name?: unknown }).name;
      const m = (e as { message?: unknown }).message;
      if (typeof n === 'string') name = n;
      if (typeof m === 'string') message = m;
    } catch {
      message = '(unreadable error)';
    }
    if (message.length > maxMessageLength) message = `${message.slice(0, maxMessageLength - 1)}…`;
    return escapeSandboxText(name === 'EtaParser Error' ? `E${message}` : `X${name}: ${message}`);
  }
}
