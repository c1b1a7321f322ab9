import { ObjectExistsError, WriteConflictError } from './errors.js';
import type { ObjectStore } from './ports.js';

/** What an update decides: the object's next value (none: leave it as it is) and what to return. */
export interface JsonUpdate<T, R> {
  next?: T;
  result: R;
}

/**
 * A read-modify-write of one JSON object, safe under concurrent writers: the write is conditional on
 * the version read (If-Match, or If-None-Match for a new object), and when another writer got there
 * first the object is read again and `update` runs again on what is there now.
 *
 * @param update decides from the current value (undefined: there is none yet); may run more than once.
 * @param options.ignoreCurrent `update` is given undefined whatever is there (a rebuild from scratch),
 *   and the write is still conditional on the version read.
 * @param options.compact one line of JSON (a `.jsonl` object) instead of an indented document.
 * @default options.attempts 8
 */
export const updateJson = async <T, R>(
  store: ObjectStore,
  key: string,
  update: (current: T | undefined) => JsonUpdate<T, R> | Promise<JsonUpdate<T, R>>,
  options: { attempts?: number; ignoreCurrent?: boolean; compact?: boolean } = {},
): Promise<R> => {
  const attempts = options.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    const current = await store.getVersioned(key);
    const decided = await update(current && !options.ignoreCurrent ? (JSON.parse(current.body.toString()) as T) : undefined);
    if (decided.next === undefined) return decided.result;
    try {
      await store.put(key, options.compact ? `${JSON.stringify(decided.next)}\n` : JSON.stringify(decided.next, null, 2), {
        contentType: options.compact ? 'application/x-ndjson' : 'application/json',
        ...(current ? { ifMatch: current.etag } : { ifAbsent: true }),
      });
      return decided.result;
    } catch (error) {
      const lost = error instanceof WriteConflictError || error instanceof ObjectExistsError;
      if (!lost || attempt >= attempts) throw error;
    }
  }
};
