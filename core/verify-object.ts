import { ObjectExistsError } from './errors.js';
import type { Alerts, Clock, ObjectStore } from './ports.js';
import { parseObjectKey, recordKeyOf } from './layout.js';
import { buildRecord, type ObjectRecord } from './records.js';
import { verifyStream, type Verification } from './verify.js';
import { VERSION } from './version.js';

export interface VerifyObjectDeps {
  store: ObjectStore;
  alerts: Alerts;
  clock: Clock;
}

export interface VerifyObjectOptions {
  /**
   * Bytes this invocation can stream before its deadline. A larger object gets a failed record
   * that says so instead of a silent timeout.
   */
  maxBytes?: number;
  /** Aborts the read when the invocation is about to run out of time. */
  signal?: AbortSignal;
}

export type VerifyOutcome =
  | { outcome: 'verified'; key: string; recordKey: string; record: ObjectRecord }
  | { outcome: 'already-verified'; key: string; recordKey: string }
  | { outcome: 'ignored'; key: string; why: string };

const TAG = 'binvault-verified';

/**
 * The verify function's work for one object: stream it, write its immutable record, tag it
 * ok/failed, alert on failure. Idempotent: a duplicate event finds the record and changes
 * nothing; an event for an object already gone is ignored.
 */
export const verifyObject = async (
  deps: VerifyObjectDeps,
  key: string,
  options: VerifyObjectOptions = {},
): Promise<VerifyOutcome> => {
  const ref = parseObjectKey(key);
  if (!ref) return { outcome: 'ignored', key, why: 'not a binlog or dump key of the layout' };
  const recordKey = recordKeyOf(ref);
  if (await deps.store.head(recordKey)) return { outcome: 'already-verified', key, recordKey };
  const head = await deps.store.head(key);
  if (!head) return { outcome: 'ignored', key, why: 'the object no longer exists' };

  let verdict: Verification;
  if (options.maxBytes !== undefined && head.size > options.maxBytes) {
    verdict = unverified(key, head.size, `too large to verify in one invocation: ${head.size} bytes, at most ${options.maxBytes} fit in its time (raise the function's timeout)`);
  } else {
    try {
      const body = await deps.store.get(key);
      verdict = await verifyStream({
        file: deps.store.url(key),
        body: abortable(body, options.signal),
        metadata: head.metadata,
        expectedKind: ref.area === 'binlogs' ? 'binlog' : 'dump',
      });
    } catch (error) {
      if (!options.signal?.aborted) throw error;
      verdict = unverified(key, head.size, 'the invocation ran out of time before the whole object was read (raise the function\'s timeout)');
    }
  }

  const record = buildRecord(ref, verdict, head.metadata, deps.clock.now(), VERSION);
  await deps.store.tag(key, { [TAG]: record.status });
  if (record.status === 'failed') {
    await deps.alerts.publish({
      type: 'verification-failed',
      host: ref.host,
      severity: 'critical',
      message: `${deps.store.url(key)} failed verification: ${record.reasons.join('; ')}`,
      at: deps.clock.now().toISOString(),
      key,
    });
  }
  try {
    await deps.store.put(recordKey, JSON.stringify(record, null, 2), { contentType: 'application/json', ifAbsent: true });
  } catch (error) {
    // A concurrent invocation for the same event wrote it first: records are immutable.
    if (error instanceof ObjectExistsError) return { outcome: 'already-verified', key, recordKey };
    throw error;
  }
  return { outcome: 'verified', key, recordKey, record };
};

const unverified = (key: string, size: number, reason: string): Verification => ({
  file: key,
  kind: 'unknown',
  status: 'failed',
  reasons: [reason],
  size,
  rawSize: 0,
  sha256: '',
  gzip: false,
});

async function* abortable(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    signal?.throwIfAborted();
    yield chunk;
  }
}
