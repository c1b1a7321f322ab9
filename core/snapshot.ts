import { deserialize, serialize } from 'node:v8';

/**
 * The state of a one-pass checker (a binlog or dump verifier part way through a stream), saved as
 * bytes so that a verify paused in one Lambda invocation goes on in the next. Its own fields are
 * saved by value (v8's structured clone: Maps, Sets, Buffers, typed arrays, bigints), the fields of
 * the helper objects it owns (a GTID set, a body checker) likewise, one level deeper; functions
 * (listeners given to its constructor) are not state and stay those of the instance restored into.
 */
const PLAIN = new Set<unknown>([Object.prototype, Array.prototype, Map.prototype, Set.prototype, Date.prototype, null]);

const isOwnedObject = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !PLAIN.has(Object.getPrototypeOf(value));

const fieldsOf = (target: object): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    if (typeof value === 'function') continue;
    out[name] = isOwnedObject(value) ? { [OWNED]: fieldsOf(value) } : value;
  }
  return out;
};

const OWNED = '__owned';

const assignFields = (target: object, fields: Record<string, unknown>): void => {
  const writable = target as Record<string, unknown>;
  for (const [name, value] of Object.entries(fields)) {
    const nested = typeof value === 'object' && value !== null && OWNED in value ? (value as Record<string, Record<string, unknown>>)[OWNED] : undefined;
    const current = writable[name];
    if (nested && typeof current === 'object' && current !== null) assignFields(current, nested);
    else writable[name] = value;
  }
};

/** The saved state of `instance`. */
export const saveState = (instance: object): Buffer => serialize(fieldsOf(instance));

/** Puts saved state back into a fresh instance of the same class; returns it. */
export const loadState = <T extends object>(instance: T, state: Uint8Array): T => {
  assignFields(instance, deserialize(state) as Record<string, unknown>);
  return instance;
};
