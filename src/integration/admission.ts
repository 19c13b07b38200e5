// Which plugs a socket admits: namespace allow/deny lists of regular expressions matched against
// the WHOLE namespace name (the Go operator matched substrings, so `prod` admitted `preprod`), and a
// label selector on the plug's Namespace.
import type { LabelSelector, SocketSpec } from '../api/socket.ts';
import { compileLinear, type LinearRegExp } from './linear-regexp.ts';

export type Admission = { allowed: true } | { allowed: false; message: string };

/**
 * Full-match regular expression (RE2 syntax, linear time: the pattern is a tenant's); throws with
 * a clear message on an invalid pattern.
 */
export function fullMatch(pattern: string): LinearRegExp {
  // Compiled alone first, so an error names the tenant's pattern and a stray `)` cannot close the group.
  compileLinear(pattern);
  return compileLinear(`^(?:${pattern})$`);
}

export function matchesSelector(labels: Record<string, string> | undefined, sel: LabelSelector): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const val = l[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(val!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(val!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`invalid label selector operator ${JSON.stringify(e.operator)}`);
    }
  }
  return true;
}

export function describeSelector(sel: LabelSelector): string {
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    parts.push(
      e.operator === 'Exists'
        ? e.key
        : e.operator === 'DoesNotExist'
          ? `!${e.key}`
          : `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`,
    );
  }
  return parts.join(',');
}

/**
 * Decides whether `namespace` may couple to the socket. `namespaceLabels` is undefined when the
 * Namespace is not known (not yet seen, or forbidden); a selector then refuses.
 */
export function admitNamespace(
  validation: SocketSpec['validation'],
  namespace: string,
  namespaceLabels: Record<string, string> | undefined,
): Admission {
  if (!validation) return { allowed: true };
  const white = validation.namespaceWhitelist ?? [];
  const black = validation.namespaceBlacklist ?? [];
  try {
    if (white.length && !white.some((p) => fullMatch(p).test(namespace))) {
      return {
        allowed: false,
        message: `namespace ${namespace} matches none of the socket's namespaceWhitelist (${white.join(', ')}); patterns must match the whole name`,
      };
    }
    const denied = black.find((p) => fullMatch(p).test(namespace));
    if (denied !== undefined) {
      return {
        allowed: false,
        message: `namespace ${namespace} matches the socket's namespaceBlacklist pattern ${denied}`,
      };
    }
    const sel = validation.namespaceSelector;
    if (sel && ((sel.matchLabels && Object.keys(sel.matchLabels).length) || sel.matchExpressions?.length)) {
      if (!namespaceLabels || !matchesSelector(namespaceLabels, sel)) {
        return {
          allowed: false,
          message: `namespace ${namespace} does not match the socket's namespaceSelector (${describeSelector(sel)})`,
        };
      }
    }
  } catch (err) {
    return { allowed: false, message: `the socket's validation is invalid: ${(err as Error).message}` };
  }
  return { allowed: true };
}
