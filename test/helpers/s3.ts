import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalEndpoint, type LocalEndpoint, type S3EventRecord } from '../../local/s3-endpoint.js';
import { S3Store } from '../../drivers/aws/s3.js';
import type { VersioningOptions } from '../../local/s3-versioning.js';

/** A real S3-protocol endpoint on loopback (the local runtime's), with a bucket, for one test file. */
export interface TestBucket {
  endpoint: LocalEndpoint;
  bucket: string;
  store: S3Store;
  events: S3EventRecord[];
  directory: string;
  close(): Promise<void>;
}

export const startTestBucket = async (bucket = 'binvault-test', versioning?: VersioningOptions): Promise<TestBucket> => {
  const directory = await mkdtemp(join(tmpdir(), 'binvault-s3-'));
  const endpoint = await startLocalEndpoint({ directory, buckets: [bucket], port: 0, ...(versioning ? { versioning } : {}) });
  const events: S3EventRecord[] = [];
  endpoint.onEvent((record) => events.push(record));
  const store = new S3Store({ bucket, endpoint: endpoint.url, partBytes: 5 * 1024 * 1024 });
  return {
    endpoint,
    bucket,
    store,
    events,
    directory,
    close: async () => {
      await endpoint.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
};
