import { BinvaultError, ObjectChangedError, ObjectExistsError, WriteConflictError } from './errors.js';
import type { Alerts, Clock, ObjectHead, ObjectStore } from './ports.js';
import { checkpointKeyOf, parseObjectKey, recordKeyOf } from './layout.js';
import { buildRecord, type ObjectRecord } from './records.js';
import { verifyStep, type MemberProgress, type Verification, type VerifyState, type VerifyStep } from './verify.js';
import { VERSION } from './version.js';

export interface VerifyObjectDeps {
  store: ObjectStore;
  alerts: Alerts;
  clock: Clock;
}

export interface VerifyObjectOptions {
  /**
   * Stored bytes this invocation can stream before its deadline. A larger object is verified in
   * steps when `continuable` (paused at gzip member boundaries), else it gets a failed record that
   * says so instead of a silent timeout.
   */
  maxBytes?: number;
  /** Aborts the read when the invocation is about to run out of time. */
  signal?: AbortSignal;
  /**
   * An object that does not fit goes on in another invocation: the verify pauses after a gzip
   * member, writes its checkpoint, and returns `paused` — the caller then starts the next
   * invocation (the verify function invokes itself). @default false
   */
  continuable?: boolean;
  /** This invocation goes on with a paused verify: the `invocations` of the checkpoint it was sent for. */
  continuation?: { invocations: number };
  /** Milliseconds this invocation has left to read; with it, a verify pauses before its time runs out. */
  timeLeft?: () => number;
}

export type VerifyOutcome =
  | { outcome: 'verified'; key: string; recordKey: string; record: ObjectRecord }
  | { outcome: 'already-verified'; key: string; recordKey: string }
  /**
   * Paused after a gzip member, or an event found this version's fresh checkpoint: the caller sends
   * the continuation for `invocations`.
   */
  | { outcome: 'paused'; key: string; checkpointKey: string; storedOffset: number; size: number; invocations: number }
  | { outcome: 'ignored'; key: string; why: string };

/**
 * A verify between two invocations, beside the record it will become (core/layout.ts
 * checkpointKeyOf): the object version it belongs to, and where the verify stands. Removed once the
 * record is written.
 */
export interface VerifyCheckpoint {
  checkpointVersion: 1;
  key: string;
  /** The object version the state belongs to: a checkpoint of another version is never used. */
  object: { size: number; etag?: string; lastModified?: string };
  started: string;
  updatedAt: string;
  /** Invocations that have worked on this verify so far. */
  invocations: number;
  /** Where to go on; absent: from the first byte (an invocation ran out of time before any member ended). */
  state?: VerifyState;
}

/** The invocation's byte budget is spent in the middle of a gzip member. */
class VerifyBudgetError extends BinvaultError {
  public override readonly name: string = 'VerifyBudgetError';
}

const TAG = 'binvault-verified';

/**
 * A checkpoint not updated for this long belongs to a chain of invocations that died (the
 * continuation failed for good): a new event for the object takes the verify over from it. Longer
 * than a Lambda function can run (15 minutes).
 */
export const CHECKPOINT_STALE_MS = 20 * 60_000;

const versionOf = (head: ObjectHead): VerifyCheckpoint['object'] => ({
  size: head.size,
  ...(head.etag !== undefined ? { etag: head.etag } : {}),
  ...(head.lastModified !== undefined ? { lastModified: head.lastModified.toISOString() } : {}),
});

const sameVersion = (a: VerifyCheckpoint['object'], b: VerifyCheckpoint['object']): boolean =>
  a.size === b.size && (a.etag === undefined || b.etag === undefined || a.etag === b.etag) && (a.lastModified === undefined || b.lastModified === undefined || a.lastModified === b.lastModified);

const readCheckpoint = async (store: ObjectStore, key: string): Promise<{ checkpoint: VerifyCheckpoint; etag: string } | undefined> => {
  const found = await store.getVersioned(key);
  if (!found) return undefined;
  try {
    const checkpoint = JSON.parse(found.body.toString('utf8')) as VerifyCheckpoint;
    if (checkpoint.checkpointVersion !== 1) return { checkpoint: { ...checkpoint, object: { size: -1 } }, etag: found.etag };
    return { checkpoint, etag: found.etag };
  } catch {
    // Unreadable: as good as another version's (it is overwritten).
    return { checkpoint: { checkpointVersion: 1, key, object: { size: -1 }, started: '', updatedAt: '', invocations: 0 }, etag: found.etag };
  }
};

/**
 * The verify function's work for one object: stream it, write its immutable record, tag it
 * ok/failed, alert on failure. Idempotent: a duplicate event finds the record and changes
 * nothing; an event for an object already gone is ignored.
 *
 * An object larger than one invocation can read (`maxBytes`, `continuable`) is verified in steps:
 * each invocation reads from the last gzip member boundary (a ranged GET), pauses after a member
 * while it still has time, and leaves a checkpoint (written only over the one it started from, so a
 * duplicate continuation loses and stops). The verdict is the one a single pass gives.
 */
export const verifyObject = async (
  deps: VerifyObjectDeps,
  key: string,
  options: VerifyObjectOptions = {},
): Promise<VerifyOutcome> => {
  const ref = parseObjectKey(key);
  if (!ref) return { outcome: 'ignored', key, why: 'not a binlog or dump key of the layout' };
  const recordKey = recordKeyOf(ref);
  const checkpointKey = checkpointKeyOf(ref);
  if (await deps.store.head(recordKey)) {
    // A pass that did not look for the checkpoint (a duplicate event for an object thought to fit)
    // wrote the record first: the continuation removes the checkpoint its chain left.
    if (options.continuation) await deps.store.delete(checkpointKey);
    return { outcome: 'already-verified', key, recordKey };
  }
  const head = await deps.store.head(key);
  if (!head) return { outcome: 'ignored', key, why: 'the object no longer exists' };
  const version = versionOf(head);
  const fits = options.maxBytes === undefined || head.size <= options.maxBytes;

  // Only an object that may not fit (or a continuation) can have a checkpoint: no request for the rest.
  let found = options.continuation || (options.continuable && !fits) ? await readCheckpoint(deps.store, checkpointKey) : undefined;
  const current = found && sameVersion(found.checkpoint.object, version) ? found.checkpoint : undefined;
  if (options.continuation) {
    if (!found) return { outcome: 'ignored', key, why: 'no checkpoint to go on from (the verify ended, or never paused)' };
    if (!current) return { outcome: 'ignored', key, why: 'the checkpoint belongs to another version of the object (its own event verifies the new one)' };
    if (current.invocations === options.continuation.invocations + 1) {
      // The invocation that wrote this checkpoint may have failed to send its continuation (this is
      // then Lambda's retry of the event it ran): announce it again. Were it sent, the two
      // continuations race from one checkpoint and the If-Match write stops the second.
      return { outcome: 'paused', key, checkpointKey, storedOffset: current.state?.storedOffset ?? 0, size: head.size, invocations: current.invocations };
    }
    if (current.invocations !== options.continuation.invocations) {
      return { outcome: 'ignored', key, why: `a duplicate continuation: the checkpoint is at invocation ${current.invocations}, this one was sent for ${options.continuation.invocations}` };
    }
  } else if (current && deps.clock.now().getTime() - Date.parse(current.updatedAt) < CHECKPOINT_STALE_MS) {
    // An S3 event (Lambda's retry, a duplicate, a redrive) while this version's chain is fresh: the
    // chain may be dead — the invocation that wrote the checkpoint may have failed to send its
    // continuation, and nothing else would ever send it — so announce it again. Were the chain alive,
    // two invocations go on from one checkpoint and the If-Match write stops the second.
    return { outcome: 'paused', key, checkpointKey, storedOffset: current.state?.storedOffset ?? 0, size: head.size, invocations: current.invocations };
  }

  const now = deps.clock.now().toISOString();
  const resumable = current !== undefined || (options.continuable === true && !fits);
  const resume = current?.state;
  let verdict: Verification | undefined;
  let pauseAt: VerifyState | undefined;
  // Start over (no state) when an object thought to fit ran out of time: the next invocation reads it resumably.
  let restart = false;

  if (!fits && !resumable) {
    verdict = unverified(key, head.size, `too large to verify in one invocation: ${head.size} bytes, at most ${options.maxBytes ?? 0} fit in its time (raise the function's timeout)`);
  } else {
    let read = 0;
    let lastBoundary: VerifyState | undefined;
    let largestMember = 0;
    let slowestMs = 0;
    let memberStart = { bytes: resume?.storedOffset ?? 0, at: performance.now() };
    const budget = resumable ? options.maxBytes : undefined;
    const afterMember = (member: MemberProgress): boolean => {
      const at = performance.now();
      largestMember = Math.max(largestMember, member.storedOffset - memberStart.bytes);
      slowestMs = Math.max(slowestMs, at - memberStart.at);
      memberStart = { bytes: member.storedOffset, at };
      lastBoundary = member.state();
      // Stop while the next member (as large and as slow as the largest so far, twice over) still fits.
      const bytesLeft = budget === undefined ? Infinity : budget - read;
      return bytesLeft < 2 * largestMember || (options.timeLeft !== undefined && options.timeLeft() < 2 * slowestMs);
    };
    // A resumable read is pinned to the version the checkpoint (or the HEAD) belongs to: the key
    // replaced in between must not mix one version's hash and verifier state with another's bytes.
    const pin = resumable ? (current?.object.etag ?? head.etag) : undefined;
    try {
      const body = await deps.store.get(key, { ...(resume ? { from: resume.storedOffset } : {}), ...(pin !== undefined ? { ifMatch: pin } : {}) });
      const step: VerifyStep = await verifyStep({
        file: deps.store.url(key),
        body: metered(body, options.signal, (n) => {
          // Another chunk asked for with the budget spent: a member is still not done.
          if (budget !== undefined && read >= budget) {
            throw new VerifyBudgetError(`the invocation's ${budget} bytes were read in the middle of a gzip member`);
          }
          read += n;
        }),
        metadata: head.metadata,
        expectedKind: ref.area === 'binlogs' ? 'binlog' : 'dump',
        ...(resumable ? { resumable: true, afterMember } : {}),
        ...(resume ? { resume } : {}),
      });
      if (step.done) verdict = step.verification;
      else pauseAt = step.state;
    } catch (error) {
      if (error instanceof ObjectChangedError) {
        return { outcome: 'ignored', key, why: 'the object was replaced since it was looked at (its own event verifies the new version)' };
      }
      if (!options.signal?.aborted && !(error instanceof VerifyBudgetError)) throw error;
      if (lastBoundary) {
        // Back to the last member boundary: the next invocation reads from there.
        pauseAt = lastBoundary;
      } else if (resumable) {
        verdict = unverified(
          key,
          head.size,
          `too large to verify in one invocation: no gzip member ends within the ${read} bytes one invocation read from byte ${resume?.storedOffset ?? 0} (a gzip stream of one large member cannot be verified in steps; binvault's shipper starts a new member every BINVAULT_GZIP_MEMBER_MB)`,
        );
      } else if (options.continuable) {
        restart = true;
      } else {
        verdict = unverified(key, head.size, 'the invocation ran out of time before the whole object was read (raise the function\'s timeout)');
      }
    }
  }

  if (restart) {
    // An object thought to fit looks for no checkpoint up front, but one may be there: its own
    // earlier attempt's (that invocation failed to send the continuation and this is Lambda's
    // retry), or a dead chain's. This version's: go on with it, whatever it is. Another version's:
    // written over below, as the If-None-Match write would fail on it for good.
    found = await readCheckpoint(deps.store, checkpointKey);
    if (found && sameVersion(found.checkpoint.object, version)) {
      const at = found.checkpoint;
      return { outcome: 'paused', key, checkpointKey, storedOffset: at.state?.storedOffset ?? 0, size: head.size, invocations: at.invocations };
    }
  }

  if (pauseAt !== undefined || restart) {
    const invocations = (current?.invocations ?? 0) + 1;
    const checkpoint: VerifyCheckpoint = {
      checkpointVersion: 1,
      key,
      object: version,
      started: current?.started ?? now,
      updatedAt: now,
      invocations,
      ...(pauseAt ? { state: pauseAt } : {}),
    };
    try {
      // Over the checkpoint this invocation started from (or the stale one it replaces), else only where there is none.
      await deps.store.put(checkpointKey, JSON.stringify(checkpoint), {
        contentType: 'application/json',
        ...(found ? { ifMatch: found.etag } : { ifAbsent: true }),
      });
    } catch (error) {
      if (error instanceof WriteConflictError || error instanceof ObjectExistsError) {
        return { outcome: 'ignored', key, why: 'another invocation went on with this verify first' };
      }
      throw error;
    }
    found = undefined;
    return { outcome: 'paused', key, checkpointKey, storedOffset: pauseAt?.storedOffset ?? 0, size: head.size, invocations };
  }

  const record = buildRecord(ref, verdict ?? unverified(key, head.size, 'no verdict'), head.metadata, deps.clock.now(), VERSION);
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
    if (error instanceof ObjectExistsError) {
      if (found) await deps.store.delete(checkpointKey);
      return { outcome: 'already-verified', key, recordKey };
    }
    throw error;
  }
  // The record is the verify's end: its checkpoint (this version's or a stale one) goes.
  if (found) await deps.store.delete(checkpointKey);
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

/** The body, stopped by the signal, each chunk's size told to `onBytes` (which may throw to stop). */
async function* metered(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    signal?.throwIfAborted();
    onBytes(chunk.byteLength);
    yield chunk;
  }
}
