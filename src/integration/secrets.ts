// Keeping Secret values out of what the operator writes (status, Events, logs). Values read from
// Secrets flow, on purpose, into config, templates and apparatus calls; a tenant template can then
// put one into an error message (`throw new Error(it.socketConfig.password)`, Go's `fail`) or copy
// it into a result. Messages are redacted and results holding a Secret value are left out of
// status. Short strings are not treated as secrets: blanking every "1" or "true" out of messages
// would make them unreadable and protect nothing.

const notSecret = new Set(['true', 'false', 'null', 'none', 'yes', 'no']);
export const minSecretLength = 4;
export const redacted = '***';

/** The distinct values worth redacting, longest first (so a value containing another goes whole). */
export function secretStrings(values: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const v of values) if (v.length >= minSecretLength && !notSecret.has(v.toLowerCase())) out.add(v);
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of a secret value replaced by `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(redacted);
  return out;
}

/** True when `text` contains one of the secret values. */
export function containsSecret(text: string, secrets: readonly string[]): boolean {
  return secrets.some((s) => text.includes(s));
}
