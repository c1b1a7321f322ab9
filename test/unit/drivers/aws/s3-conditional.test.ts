import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3Store } from '../../../../drivers/aws/s3.js';

/**
 * S3's answers to conditional writes that the local endpoint cannot give (a 409 needs two writes
 * racing inside S3): an SDK-level fake of PutObject's error, asserting the request and the mapping.
 */
const answer = (status: number, name: string): S3ServiceException =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });

describe('S3Store conditional writes', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const store = new S3Store({ bucket: 'binvault-ci-backups', region: 'us-east-1' }, new S3Client({ region: 'us-east-1' }));

  it('takes 409 ConditionalRequestConflict on an If-Match write as a lost race, as 412', async () => {
    s3.on(PutObjectCommand).rejectsOnce(answer(409, 'ConditionalRequestConflict')).rejectsOnce(answer(412, 'PreconditionFailed'));

    await expect(store.put('mysql/db1/records/2026-12-04/x.gz.checkpoint', '{}', { ifMatch: '"abc"' })).rejects.toMatchObject({ name: 'WriteConflictError' });
    await expect(store.put('mysql/db1/records/2026-12-04/x.gz.checkpoint', '{}', { ifMatch: '"abc"' })).rejects.toMatchObject({ name: 'WriteConflictError' });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ Bucket: 'binvault-ci-backups', IfMatch: '"abc"' });
  });

  it('takes 409 on an If-None-Match write as a lost race to read again, not as the key taken', async () => {
    s3.on(PutObjectCommand).rejectsOnce(answer(409, 'ConditionalRequestConflict')).rejectsOnce(answer(412, 'PreconditionFailed'));

    await expect(store.put('k', 'x', { ifAbsent: true })).rejects.toMatchObject({ name: 'WriteConflictError' });
    await expect(store.put('k', 'x', { ifAbsent: true })).rejects.toMatchObject({ name: 'ObjectExistsError' });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ IfNoneMatch: '*' });
  });

  it('leaves a 409 of an unconditional write a plain storage failure', async () => {
    s3.on(PutObjectCommand).rejects(answer(409, 'OperationAborted'));
    await expect(store.put('k', 'x')).rejects.toMatchObject({ name: 'StorageError' });
  });
});
