import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectRecord } from '../../../core/records.js';
import { S3Store } from '../../../drivers/aws/s3.js';
import { failedEventsDir, startLocalRuntime, type FailedEvent, type LocalRuntime } from '../../../local/runtime.js';
import type { VersioningOptions } from '../../../local/s3-versioning.js';
import { expectExit, runCli } from '../../helpers/cli.js';

/**
 * No S3 event lost: a verify that keeps failing (the bucket refuses its record) is tried three
 * times as Lambda tries an asynchronous invocation, then kept as Lambda's on-failure destination
 * keeps it; `binvault redrive` hands it back once the cause is gone, and the object gets its record.
 */
describe('failed events on the local runtime, and binvault redrive', () => {
  let stateDir: string;
  let runtime: LocalRuntime;
  let store: S3Store;
  const policy: VersioningOptions = { denyWritePrefixes: ['mysql/db1/records/'] };
  const errors: string[] = [];
  const key = 'mysql/db1/binlogs/2026-12-04/binlog.000007.gz';
  const record = 'mysql/db1/records/2026-12-04/binlog.000007.gz.json';

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'binvault-redrive-'));
    runtime = await startLocalRuntime({ stateDir, bucket: 'binvault', endpoint: 'http://127.0.0.1:0', versioning: policy, onHandlerError: (k, e) => errors.push(`${k}: ${e.message}`) });
    store = new S3Store({ bucket: 'binvault', endpoint: runtime.endpoint.url });
  });
  afterAll(async () => {
    await runtime.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('keeps the event of a verify that failed on its three attempts in failed-events/, with the function and the error', async () => {
    await store.put(key, gzipSync(Buffer.from('not a binlog')));
    await runtime.idle();

    const files = await readdir(failedEventsDir(stateDir));
    expect(files).toHaveLength(1);
    const failed = JSON.parse(await readFile(join(failedEventsDir(stateDir), files[0] ?? ''), 'utf8')) as FailedEvent;
    expect(failed.requestContext).toMatchObject({ functionArn: expect.stringMatching(/:function:binvault-local-verify$/), condition: 'RetriesExhausted', approximateInvokeCount: 3 });
    expect(JSON.stringify(failed.requestPayload)).toContain(key);
    expect(failed.responsePayload.errorMessage).toContain('access denied');
    expect(errors).toEqual([expect.stringContaining(key)]);
    expect(await store.head(record)).toBeUndefined();
  });

  it('binvault redrive says so and exits 1 while the cause remains, leaving the event where it is', async () => {
    const env = { BINVAULT_BUCKET: 'binvault', BINVAULT_S3_ENDPOINT: runtime.endpoint.url, BINVAULT_STATE_DIR: stateDir };

    const run = await runCli(['redrive'], env);

    expectExit(run, 1);
    expect(run.stdout).toContain(`FAILED   verify ${key}: `);
    // (Before it, the verify function's own alert: alerts are sent at least once, before the record.)
    expect(run.stderr.trim().split('\n').pop()).toBe(`binvault redrive: 1 event(s) still fail; they stay in ${failedEventsDir(stateDir)}`);
    expect(await readdir(failedEventsDir(stateDir))).toHaveLength(1);
  });

  it('re-drives the event to a record once the cause is gone; a second redrive finds nothing to do', async () => {
    policy.denyWritePrefixes = [];
    const env = { BINVAULT_BUCKET: 'binvault', BINVAULT_S3_ENDPOINT: runtime.endpoint.url, BINVAULT_STATE_DIR: stateDir };

    const run = await runCli(['redrive'], env);

    expectExit(run, 0);
    expect(run.stdout).toContain(`redriven verify ${key}`);
    expect(await readdir(failedEventsDir(stateDir))).toEqual([]);
    const written = JSON.parse((await store.getBytes(record)).toString()) as ObjectRecord;
    expect(written).toMatchObject({ key, kind: 'binlog', status: 'failed' });
    const again = await runCli(['redrive', '--json'], env);
    expectExit(again, 0);
    expect(again.stdout).toBe('');
  });
});
