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
