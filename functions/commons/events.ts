import { InputError } from '../../core/errors.js';

export interface S3ObjectEvent {
  bucket: string;
  key: string;
  created: boolean;
}

/** Validates an S3 notification at the edge: the bucket, the decoded key and whether it was a creation. */
export const parseS3Event = (event: unknown): S3ObjectEvent[] => {
  const records = (event as { Records?: unknown }).Records;
  if (!Array.isArray(records)) throw new InputError('not an S3 event: no Records array');
  return records.map((record: unknown, i) => {
    const r = record as { eventName?: unknown; s3?: { bucket?: { name?: unknown }; object?: { key?: unknown } } };
    const bucket = r.s3?.bucket?.name;
    const key = r.s3?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string' || typeof r.eventName !== 'string') {
      throw new InputError(`S3 event record ${i} lacks eventName, s3.bucket.name or s3.object.key`);
    }
    // S3 URL-encodes keys in notifications, spaces as '+'.
    return { bucket, key: decodeURIComponent(key.replace(/\+/g, ' ')), created: r.eventName.startsWith('ObjectCreated') };
  });
};

/**
 * The event a paused verify sends to its own function: go on with `key` from its checkpoint, the
 * one of invocation `invocations`.
 */
export interface VerifyContinueEvent {
  binvault: 'verify-continue';
  bucket: string;
  key: string;
  invocations: number;
}

/** A verify continuation, validated; undefined for any other event (an S3 notification). */
export const parseVerifyContinueEvent = (event: unknown): VerifyContinueEvent | undefined => {
  const e = event as Partial<Record<keyof VerifyContinueEvent, unknown>> | null;
  if (typeof e !== 'object' || e === null || e.binvault !== 'verify-continue') return undefined;
  if (typeof e.bucket !== 'string' || typeof e.key !== 'string' || typeof e.invocations !== 'number' || !Number.isInteger(e.invocations) || e.invocations < 1) {
    throw new InputError('a verify-continue event needs bucket, key and invocations (a whole number from 1)');
  }
  return { binvault: 'verify-continue', bucket: e.bucket, key: e.key, invocations: e.invocations };
};
