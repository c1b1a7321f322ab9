import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { systemClock } from '../../../core/ports.js';
import type { ObjectRecord } from '../../../core/records.js';
import { verifyObject } from '../../../core/verify-object.js';
import { SnsAlerts } from '../../../drivers/aws/sns-alerts.js';
import type { LocalRuntime } from '../../../local/runtime.js';
import { createS3Client, S3Store } from '../../../drivers/aws/s3.js';
import type { VerifyOutcome } from '../../../core/verify-object.js';
import { runCli, expectExit } from '../../helpers/cli.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';
import type { Instance } from '../../helpers/servers.js';

describe('the verify function on the local runtime, fed by the real shipper', () => {
  let scenario: Scenario;
  let server: Instance;
  let admin: Connection;
  let runtime: LocalRuntime;
  let store: S3Store;
  let stateDir: string;
  let env: Record<string, string>;
  const outcomes: VerifyOutcome[] = [];

  beforeAll(async () => {
    scenario = await startScenario({ runtime: { onVerified: (o) => outcomes.push(o) } });
    ({ server, admin, runtime, store, stateDir, env } = scenario);
  });
  afterAll(() => scenario.close());

  const records = async (): Promise<ObjectRecord[]> => {
    const list = await store.list('mysql/db1/records/');
    return Promise.all(list.keys.map(async (k) => JSON.parse((await store.getBytes(k.key)).toString()) as ObjectRecord));
  };

  it('writes an ok record and tags every shipped binlog within seconds', async () => {
    await admin.query('CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1),(2)');
    await admin.query('FLUSH BINARY LOGS');
    await admin.query('INSERT INTO app.t VALUES (3)');
    const started = Date.now();

    expectExit(await runCli(['ship', 'binlogs'], env), 0);
    await runtime.idle();

    const written = await records();
    expect(written.length).toBeGreaterThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const record of written) {
      expect(record).toMatchObject({ status: 'ok', kind: 'binlog', host: 'db1', sha256Match: true, gzip: { ok: true, sealed: true }, reasons: [] });
      expect(record.binlog).toMatchObject({ checksum: 'CRC32', end: 'rotate', serverIds: [1] });
      const tags = await createS3Client({ endpoint: runtime.endpoint.url }).send(new GetObjectTaggingCommand({ Bucket: 'binvault', Key: record.key }));
      expect(tags.TagSet).toEqual([{ Key: 'binvault-verified', Value: 'ok' }]);
    }
    // Each binlog's ROTATE names the next one: the records already chain.
    const sorted = written.map((r) => r.binlog).sort((a, b) => (a?.lastPosition ?? 0) - (b?.lastPosition ?? 0));
    expect(sorted.every((b) => b?.rotateTo?.startsWith('binlog.'))).toBe(true);
  });

  it('fails a corrupt object with a record, a tag and one verification-failed alert', async () => {
    const raw = await readFile(join(server.dataDir, 'binlog.000001'));
    const corrupt = Buffer.from(raw);
    corrupt[corrupt.length - 10] = (corrupt[corrupt.length - 10] ?? 0) ^ 0x10;
    const key = 'mysql/db1/binlogs/2026-11-20/binlog.999001.gz';
    await store.put(key, gzipSync(corrupt), { metadata: { sha256: createHash('sha256').update(raw).digest('hex'), kind: 'binlog' } });
    await runtime.idle();

    const record = (await records()).find((r) => r.key === key);
    expect(record?.status).toBe('failed');
    expect(record?.reasons[0]).toMatch(/^CRC32 mismatch in \w+ event at \d+$/);
    const alerts = (await readFile(join(stateDir, 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; key: string });
    expect(alerts.filter((a) => a.key === key)).toMatchObject([{ type: 'verification-failed', host: 'db1' }]);
  });

  it('changes nothing on a duplicate event, and ignores an event whose object is gone', async () => {
    const before = await records();
    const key = before[0]?.key ?? '';

    const again = await verifyObject({ store, alerts: { publish: () => Promise.reject(new Error('no alert expected')) }, clock: systemClock }, key);
    expect(again.outcome).toBe('already-verified');
    expect(await records()).toEqual(before);

    const gone = await verifyObject({ store, alerts: { publish: () => Promise.reject(new Error('no alert expected')) }, clock: systemClock }, 'mysql/db1/binlogs/2026-11-20/binlog.999999.gz');
    expect(gone).toMatchObject({ outcome: 'ignored', why: 'the object no longer exists' });
  });

  it('fails an object too large for one invocation with a clear reason, never a silent timeout', async () => {
    const key = 'mysql/db1/binlogs/2026-11-21/binlog.999002.gz';
    await runtime.idle();
    const published: unknown[] = [];
    const alerts = { publish: async (a: unknown) => void published.push(a) };
    // The runtime verifies it too; this call plays an invocation with little time left.
    await store.put(key, gzipSync(randomBytes(4096)));
    await runtime.idle();
    await store.delete(`mysql/db1/records/2026-11-21/binlog.999002.gz.json`);
    const outcome = await verifyObject({ store, alerts, clock: systemClock }, key, { maxBytes: 100 });
    expect(outcome.outcome === 'verified' && outcome.record.reasons).toEqual([
      expect.stringMatching(/^too large to verify in one invocation: \d+ bytes, at most 100 fit in its time/),
    ]);
    expect(published).toHaveLength(1);
  });
});

describe('SnsAlerts (SNS cannot run here: an SDK-level fake, asserting the command sent)', () => {
  it('publishes to the topic with the type as a message attribute', async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: '1' });
    const alerts = new SnsAlerts(new SNSClient({ region: 'us-east-1' }), 'arn:aws:sns:us-east-1:123456789012:binvault-alerts');

    await alerts.publish({ type: 'verification-failed', host: 'db1', severity: 'critical', message: 'x failed', at: '2026-11-20T00:00:00Z' });

    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:binvault-alerts',
      MessageAttributes: {
        type: { DataType: 'String', StringValue: 'verification-failed' },
        host: { DataType: 'String', StringValue: 'db1' },
        state: { DataType: 'String', StringValue: 'started' },
      },
    });
    expect(JSON.parse(calls[0]?.args[0].input.Message ?? '{}')).toMatchObject({ type: 'verification-failed', host: 'db1' });
    sns.restore();
  });
});
