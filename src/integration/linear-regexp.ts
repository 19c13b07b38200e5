// Regular expressions written by tenants (a socket's namespace allow/deny lists, `pattern` in its
// interface) run on the operator's event loop. JavaScript's engine backtracks: `^(a+)+$` against 30
// characters runs for seconds, against 40 for hours, and blocks every reconcile and the leader
// lease renewals. RE2 (here its JavaScript port, re2js) matches in linear time, and it is the
// syntax the Go operator's users wrote (Go's regexp is RE2, and so are the `pattern`s of
// Kubernetes CRD schemas). What RE2 does not have (backreferences, lookaround) is a clear error.
import { RE2JS } from 're2js';

export interface LinearRegExp {
  /** True when the pattern matches somewhere in `s` (JavaScript's RegExp.test). */
  test(s: string): boolean;
}

export class RegExpSyntaxError extends Error {
  override name = 'RegExpSyntaxError';
  readonly code = 'InvalidRegExp';
}

const cache = new Map<string, LinearRegExp>();

/** Compiles `pattern` with RE2 semantics; throws RegExpSyntaxError naming the pattern. */
export function compileLinear(pattern: string): LinearRegExp {
  let re = cache.get(pattern);
  if (re) return re;
  try {
    const compiled = RE2JS.compile(pattern);
    re = { test: (s: string) => compiled.test(s) };
  } catch (err) {
    throw new RegExpSyntaxError(
      `invalid regular expression ${JSON.stringify(pattern.length > 200 ? `${pattern.slice(0, 199)}…` : pattern)}: ${(err as Error).message} (RE2 syntax: no backreferences or lookaround)`,
      { cause: err },
    );
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** An ajv `code.regExp` engine that compiles `pattern` keywords with RE2. */
export const ajvLinearRegExp = Object.assign((pattern: string, _flags: string) => compileLinear(pattern), {
  code: 'compileLinear',
});
