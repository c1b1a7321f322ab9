import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../core/config.js';
import { systemClock } from '../../../core/ports.js';
import type { ObjectRecord } from '../../../core/records.js';
import { verifyObject, type VerifyOutcome } from '../../../core/verify-object.js';
import { lambdaInvoker } from '../../../drivers/aws/invoke.js';
import { S3Store } from '../../../drivers/aws/s3.js';
import type { VerifyContinueEvent } from '../../../functions/commons/events.js';
import { verifyEvent } from '../../../functions/verify/handler.js';
import { startLocalRuntime, type LocalRuntime } from '../../../local/runtime.js';
import { sealedGzip } from '../../../shipper/lib/gzip.js';
import { AWS_CALLS, VERIFY_FUNCTION_ARN } from '../../helpers/aws-calls.js';
import { REAL_BINLOGS, REAL_DUMPS } from '../../helpers/fixtures.js';
import { MemoryStore } from '../../helpers/memory-store.js';

/** Lambda's 15 minutes less the handler's 10 s reserve, in seconds: what maxBytes is computed from. */
const BUDGET_SECONDS = 890;
/** BINVAULT_VERIFY_BYTES_PER_SECOND that lets one invocation read about `bytes`. */
const rateFor = (bytes: number): string => String(Math.floor(bytes / BUDGET_SECONDS));

const sealed = async (raw: Buffer, memberBytes: number): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const m of sealedGzip((async function* () { yield raw; })(), { memberBytes })) parts.push(m);
  return Buffer.concat(parts);
};

const metadataOf = (raw: Buffer, kind: 'binlog' | 'dump'): Record<string, string> => ({
  sha256: createHash('sha256').update(raw).digest('hex'),
  'raw-size': String(raw.length),
  kind,
  host: 'db1',
  'shipper-version': '0.1.0',
});

/** The record one uninterrupted pass writes for the same bytes. */
const onePass = async (key: string, body: Buffer, metadata: Record<string, string>): Promise<ObjectRecord> => {
  const store = new MemoryStore();
  await store.put(key, body, { metadata });
  const outcome = await verifyObject({ store, alerts: { publish: async () => undefined }, clock: systemClock }, key);
  if (outcome.outcome !== 'verified') throw new Error(outcome.outcome);
  return outcome.record;
};

const withoutTime = (r: ObjectRecord): Omit<ObjectRecord, 'verifiedAt'> => {
  const { verifiedAt: _, ...rest } = r;
  return rest;
};

describe('a verify longer than one invocation, on the local runtime (a tiny per-invocation budget)', () => {
  let stateDir: string;
  let runtime: LocalRuntime;
  let store: S3Store;
  const outcomes: VerifyOutcome[] = [];
  const budget = 150_000;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'binvault-verify-continue-'));
    const config = parseConfig({ BINVAULT_VERIFY_BYTES_PER_SECOND: rateFor(budget) }, { hostname: 'local', home: stateDir, stateDir });
    runtime = await startLocalRuntime({ stateDir, bucket: 'binvault', endpoint: 'http://127.0.0.1:0', config, onVerified: (o) => outcomes.push(o) });
    store = new S3Store({ bucket: 'binvault', endpoint: runtime.endpoint.url });
  });
  afterAll(async () => {
    await runtime.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const cases = [
    { kind: 'binlog' as const, key: 'mysql/db1/binlogs/2026-12-04/binlog.000011.gz', raw: async () => readFile(join(REAL_BINLOGS, 'mysql80-row-crc32-large-stop.000001')), member: 64 * 1024 },
    { kind: 'dump' as const, key: 'mysql/db1/dumps/2026-12-04/db1-20261204T150000Z.sql.gz', raw: async () => gunzipSync(await readFile(join(REAL_DUMPS, 'mariadb55-master-data1-sakila-triggers-routines.sql.gz'))), member: 64 * 1024 },
  ];

  for (const c of cases) {
    it(`verifies a multi-member ${c.kind} across three or more invocations to the record one pass gives`, async () => {
      const raw = await c.raw();
      const body = await sealed(raw, c.member);
      expect(body.length).toBeGreaterThan(3 * budget);
      const metadata = metadataOf(raw, c.kind);

      await store.put(c.key, body, { metadata });
      await runtime.idle();

      const mine = outcomes.filter((o) => o.key === c.key);
      expect(mine.filter((o) => o.outcome === 'paused').length).toBeGreaterThanOrEqual(3);
      const last = mine.at(-1);
      expect(last?.outcome).toBe('verified');
      const record = JSON.parse((await store.getBytes(c.key.replace(/\/(binlogs|dumps)\//, '/records/') + '.json')).toString()) as ObjectRecord;
      expect(record.status).toBe('ok');
      expect(withoutTime(record)).toEqual(withoutTime(await onePass(c.key, body, metadata)));
      expect(await store.head(c.key.replace(/\/(binlogs|dumps)\//, '/records/') + '.checkpoint')).toBeUndefined();
    });
  }

  it('fails a byte flipped in a later member after several invocations, with the reason one pass gives', async () => {
    const raw = await readFile(join(REAL_BINLOGS, 'mysql80-row-crc32-large-stop.000001'));
    const body = await sealed(raw, 64 * 1024);
    const at = Math.floor(body.length * 0.9);
    body[at] = (body[at] ?? 0) ^ 0x20;
    const key = 'mysql/db1/binlogs/2026-12-04/binlog.000012.gz';
    const metadata = metadataOf(raw, 'binlog');

    await store.put(key, body, { metadata });
    await runtime.idle();

    expect(outcomes.filter((o) => o.key === key && o.outcome === 'paused').length).toBeGreaterThanOrEqual(3);
    const record = JSON.parse((await store.getBytes('mysql/db1/records/2026-12-04/binlog.000012.gz.json')).toString()) as ObjectRecord;
    expect(record.status).toBe('failed');
    expect(record.reasons).toEqual((await onePass(key, body, metadata)).reasons);
  });
});

/**
 * The verify function as Lambda runs it, its self-invoke through a (faked) LambdaClient: a real
 * binlog in 64 KiB members in an in-memory bucket, a budget of about 1/`steps` of it per invocation.
 */
const onLambda = async (key: string, steps: number) => {
  const store = new MemoryStore();
  const raw = await readFile(join(REAL_BINLOGS, 'mysql80-row-crc32-large-stop.000001'));
  const body = await sealed(raw, 64 * 1024);
  await store.put(key, body, { metadata: metadataOf(raw, 'binlog') });
  const config = parseConfig({ BINVAULT_VERIFY_BYTES_PER_SECOND: rateFor(Math.ceil(body.length / steps)) }, { hostname: 'lambda', home: '/tmp', stateDir: '/tmp/binvault' });
  const deps = { config, store: () => store, alerts: { publish: async () => undefined }, clock: systemClock, invoke: lambdaInvoker(new LambdaClient({ region: 'us-east-1' })) };
  const telemetry = { logger: new Logger({ serviceName: 'verify', logLevel: 'ERROR' }) };
  const context = { functionName: 'binvault-ci-verify', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;
  const s3Event = { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'binvault-ci-backups' }, object: { key } } }] } as unknown as S3Event;
  return { key, deps, telemetry, context, s3Event };
};

describe('the verify function continuing itself on AWS (Lambda cannot run here: an SDK-level fake, asserting the commands sent)', () => {
  it('invokes its own function asynchronously with the continuation event, a call its role is granted', async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { key, deps, telemetry, context, s3Event } = await onLambda('mysql/db1/binlogs/2026-12-04/binlog.000013.gz', 4);

    let results = await verifyEvent(deps, telemetry, s3Event, context);
    let sent = 0;
    while (results[0]?.outcome === 'paused') {
      const call = lambda.commandCalls(InvokeCommand)[sent++];
      const input = call?.args[0].input;
      expect(input).toMatchObject({ FunctionName: 'binvault-ci-verify', InvocationType: 'Event' });
      const event = JSON.parse(Buffer.from(input?.Payload as Uint8Array).toString()) as VerifyContinueEvent;
      expect(event).toEqual({ binvault: 'verify-continue', bucket: 'binvault-ci-backups', key, invocations: results[0].invocations });
      results = await verifyEvent(deps, telemetry, event, context);
    }

    expect(sent).toBeGreaterThanOrEqual(3);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(sent);
    expect(results[0]).toMatchObject({ outcome: 'verified', record: { status: 'ok' } });
    // The function name resolves (in the function's own region and account) to the ARN its role grants.
    expect(VERIFY_FUNCTION_ARN.endsWith(':function:binvault-ci-verify')).toBe(true);
    expect(AWS_CALLS.VerifyIamRoleLambdaExecution?.some((c) => c.action === 'lambda:InvokeFunction' && c.resource === VERIFY_FUNCTION_ARN)).toBe(true);
    lambda.restore();
  });

  it('fails the invocation when its continuation cannot be sent, and Lambda\'s retry of the event sends it', async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).rejectsOnce(new Error('Rate exceeded')).resolves({ StatusCode: 202 });
    const { deps, telemetry, context, s3Event } = await onLambda('mysql/db1/binlogs/2026-12-04/binlog.000014.gz', 4);

    await expect(verifyEvent(deps, telemetry, s3Event, context)).rejects.toThrow('cannot invoke binvault-ci-verify: Rate exceeded');
    // Lambda retries the S3 event: the verify does not start over, it sends the continuation again.
    let results = await verifyEvent(deps, telemetry, s3Event, context);
    expect(results).toMatchObject([{ outcome: 'paused', invocations: 1 }]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
    while (results[0]?.outcome === 'paused') {
      const input = lambda.commandCalls(InvokeCommand).at(-1)?.args[0].input;
      results = await verifyEvent(deps, telemetry, JSON.parse(Buffer.from(input?.Payload as Uint8Array).toString()) as VerifyContinueEvent, context);
    }
    expect(results[0]).toMatchObject({ outcome: 'verified', record: { status: 'ok' } });
    lambda.restore();
  });

  it('sends the continuation again when the S3 event is delivered again after a later step failed to send it (the chain was dead)', async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolvesOnce({ StatusCode: 202 }).rejectsOnce(new Error('Rate exceeded')).resolves({ StatusCode: 202 });
    const { key, deps, telemetry, context, s3Event } = await onLambda('mysql/db1/binlogs/2026-12-04/binlog.000015.gz', 5);
    const payloadOf = (n: number): VerifyContinueEvent => JSON.parse(Buffer.from(lambda.commandCalls(InvokeCommand)[n]?.args[0].input.Payload as Uint8Array).toString()) as VerifyContinueEvent;

    expect(await verifyEvent(deps, telemetry, s3Event, context)).toMatchObject([{ outcome: 'paused', invocations: 1 }]);
    // The second step pauses but cannot send the third: its event ends in the failed-events queue.
    await expect(verifyEvent(deps, telemetry, payloadOf(0), context)).rejects.toThrow('cannot invoke binvault-ci-verify: Rate exceeded');
    // The S3 event delivered again (a duplicate, or redriven) finds the fresh checkpoint and sends its continuation.
    let results = await verifyEvent(deps, telemetry, s3Event, context);
    expect(results).toMatchObject([{ outcome: 'paused', invocations: 2 }]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(3);
    expect(payloadOf(2)).toEqual({ binvault: 'verify-continue', bucket: 'binvault-ci-backups', key, invocations: 2 });
    while (results[0]?.outcome === 'paused') {
      results = await verifyEvent(deps, telemetry, payloadOf(lambda.commandCalls(InvokeCommand).length - 1), context);
    }
    expect(results[0]).toMatchObject({ outcome: 'verified', record: { status: 'ok' } });
    lambda.restore();
  });

  it('refuses a continuation event that lacks its fields, in one line', async () => {
    const deps = { config: parseConfig({}, { hostname: 'lambda', home: '/tmp', stateDir: '/tmp/binvault' }), store: () => new MemoryStore(), alerts: { publish: async () => undefined }, clock: systemClock };
    const context = { functionName: 'binvault-ci-verify', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;
    await expect(verifyEvent(deps, { logger: new Logger({ logLevel: 'ERROR' }) }, { binvault: 'verify-continue', bucket: 'b', key: 'k' } as unknown as VerifyContinueEvent, context)).rejects.toThrow(
      'a verify-continue event needs bucket, key and invocations (a whole number from 1)',
    );
  });
});
