// Other people's data inside the user's records (GDPR Art. 15(4)): a redacted value is replaced by a
// text that says so, and the field stays, so the user sees that it exists. Records are redacted as the
// collector stages them, before anything is written, so no file of the archive can hold the value.

/** What a redacted value reads, in JSON and in CSV. */
export const REDACTED_TEXT = "[redacted: another person's data]";

/** Why, as the answer states it for every redaction. */
export const REDACTION_REASON = "Another person's data, in a record about you (GDPR Art. 15(4)): the field is kept so you can see it exists, and its value is replaced.";

/** A source's redaction: applied to each record, and telling which top-level fields it replaces whole (their cells are then text). */
export interface Redaction {
  apply(record: Record<string, unknown>): void;
  replacesWhole(name: string): boolean;
}

/**
 * Replaces the values at `paths` in a record of export JSON, in place; undefined when there is nothing
 * to redact, so sources without a `redact` list pay nothing. A path's parts are split at dots, and at
 * each level a name that itself contains dots is tried whole too: an attribute named "a.b" and a member
 * b of a are both redacted by "a.b", since redacting too much is safe where too little is not. A path
 * that goes through a list applies to every element.
 */
export function redactionFor(paths: readonly string[] | undefined): Redaction | undefined {
  if (!paths || paths.length === 0) return undefined;
  const split = paths.map((path) => path.split('.'));
  // A top-level field is replaced whole exactly when its name is a whole path (tried whole first).
  const whole = new Set(paths);
  return {
    apply(record) {
      for (const segments of split) redactAt(record, segments);
    },
    replacesWhole: (name) => whole.has(name),
  };
}

function redactAt(node: unknown, segments: readonly string[]): void {
  if (Array.isArray(node)) {
    for (const element of node) redactAt(element, segments);
    return;
  }
  if (!isMembers(node)) return;
  for (let taken = segments.length; taken >= 1; taken -= 1) {
    const name = segments.slice(0, taken).join('.');
    if (!Object.hasOwn(node, name)) continue;
    if (taken === segments.length) {
      node[name] = REDACTED_TEXT;
    } else {
      redactAt(node[name], segments.slice(taken));
    }
  }
}

/**
 * An object whose members are values (a map, a row, a nested JSON object), not a number kept exact by
 * JSON.rawJSON, which is an object too but has no members to redact.
 */
function isMembers(node: unknown): node is Record<string, unknown> {
  if (node === null || typeof node !== 'object') return false;
  const isRaw = (JSON as { isRawJSON?: (value: unknown) => boolean }).isRawJSON;
  return !isRaw?.(node);
}
