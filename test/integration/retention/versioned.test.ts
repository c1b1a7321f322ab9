import { ListObjectVersionsCommand, PutObjectLegalHoldCommand, PutObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog, rebuildHost } from '../../../core/catalog/manifests.js';
import { checkpointKeyOf, drillKey, parseObjectKey, recordKeyOf } from '../../../core/layout.js';
import type { Alert } from '../../../core/ports.js';
import { runRetention } from '../../../core/retention/run.js';
import type { VersioningOptions } from '../../../local/s3-versioning.js';
import { binlogSeries, dumpAt, putShipped, T0 } from '../../helpers/catalog.js';
import { expectExit, runCli } from '../../helpers/cli.js';
import { startTestBucket, type TestBucket } from '../../helpers/s3.js';

const DAY = 86_400;
const scope = { prefix: 'mysql', host: 'db1' };
const policy = { recoveryWindowSeconds: DAY, weeklyDumps: 0, monthlyDumps: 0 };
const clock = { now: () => new Date((T0 + 2 * DAY + 12 * 3600) * 1000) };
const SIZE = 4096;

/**
 * Retention against the local endpoint made to behave as the stack's bucket does: versioned (a
 * plain delete keeps the bytes), with S3 Object Lock, and with a policy that can deny deletes.
 */
describe('retention on a versioned bucket with Object Lock (local endpoint)', () => {
  let bucket: TestBucket;
  const versioning: VersioningOptions = { versioned: true, denyDeletePrefixes: [] };
  const client = (): S3Client => (bucket.store as unknown as { client: S3Client }).client;
  const versionsOf = async (key: string): Promise<{ versions: number; markers: number }> => {
    const out = await client().send(new ListObjectVersionsCommand({ Bucket: bucket.bucket, Prefix: key }));
    return { versions: (out.Versions ?? []).filter((v) => v.Key === key).length, markers: (out.DeleteMarkers ?? []).filter((m) => m.Key === key).length };
  };

  beforeEach(async () => {
    versioning.denyDeletePrefixes = [];
    bucket = await startTestBucket('binvault', versioning);
    const binlogs = binlogSeries({ count: 72, span: 3600 });
    const dumps = [0, 1, 2].map((d) => dumpAt(T0 + d * DAY + 1800, binlogs[d * 24]?.name ?? ''));
    await putShipped(bucket.store, [...binlogs, ...dumps], SIZE);
    await rebuildHost(bucket.store, scope, { now: () => new Date((T0 + 3 * DAY) * 1000) });
  }, 60_000);
  afterEach(() => bucket.close());

  it('the endpoint keeps a deleted object’s bytes as a noncurrent version behind a delete marker, as the versioned bucket does', async () => {
    const key = 'mysql/db1/binlogs/2026-11-01/binlog.000001.gz';

    await bucket.store.delete(key);

    expect(await bucket.store.head(key)).toBeUndefined();
    expect(await versionsOf(key)).toEqual({ versions: 1, markers: 1 });
  });

  it('deletes every version of what the plan deletes, and of its record, and reports the bytes actually freed', async () => {
    // An object written twice has two versions: retention frees both.
    const [first] = (await bucket.store.list('mysql/db1/binlogs/2026-11-01/')).keys;
    await bucket.store.put(first?.key ?? '', Buffer.alloc(SIZE));
    const recordSizes = new Map((await bucket.store.list('mysql/db1/records/')).keys.map((k) => [k.key, k.size]));

    const [result] = await runRetention({ store: bucket.store, alerts: { publish: async () => undefined }, clock }, { prefix: 'mysql', policy, dryRun: false });

    const planned = [...(result?.plan.delete.dumps ?? []), ...(result?.plan.delete.binlogs ?? [])];
    expect(planned.length).toBeGreaterThan(20);
    expect(planned).toContain(first?.key);
    expect(result?.deleted.sort()).toEqual(planned.sort());
    expect(result?.failed).toEqual([]);
    let recordBytes = 0;
    for (const key of planned) {
      const record = recordKeyOf(parseObjectKey(key) as NonNullable<ReturnType<typeof parseObjectKey>>);
      expect(await versionsOf(key), key).toEqual({ versions: 0, markers: 0 });
      expect(await versionsOf(record), record).toEqual({ versions: 0, markers: 0 });
      recordBytes += recordSizes.get(record) ?? 0;
    }
    // The current bytes the plan counted, the older version of the object written twice, the records.
    expect((result?.bytes.dumps ?? 0) + (result?.bytes.binlogs ?? 0)).toBe(planned.length * SIZE);
    expect(result?.freedBytes).toBe(planned.length * SIZE + SIZE + recordBytes);
  });

  it('reports objects under a legal hold as held — kept, no error, no alert', async () => {
    const binlogs = (await bucket.store.list('mysql/db1/binlogs/2026-11-01/')).keys.slice(0, 2).map((k) => k.key);
    for (const key of binlogs) {
      await client().send(new PutObjectLegalHoldCommand({ Bucket: bucket.bucket, Key: key, LegalHold: { Status: 'ON' } }));
    }
    const alerts: Alert[] = [];

    const [result] = await runRetention({ store: bucket.store, alerts: { publish: async (a) => void alerts.push(a) }, clock }, { prefix: 'mysql', policy, dryRun: false });

    expect(result?.held.sort()).toEqual(binlogs.sort());
    expect(result?.failed).toEqual([]);
    for (const key of binlogs) expect((await versionsOf(key)).versions, key).toBe(1);
    expect(alerts).toEqual([]);
  });

  it('a drill record or checkpoint under a lock is held, a refused one failed: the run goes on to retention-failed and never throws', async () => {
    // A drill of the first window (deleted by this run) under a legal hold, its snapshot refused by a
    // policy, and the checkpoint of a verify in steps of a deleted binlog under a legal hold.
    const [d0, d1] = (await bucket.store.list('mysql/db1/dumps/')).keys.map((k) => k.key).sort();
    const record = drillKey(scope, '2026-11-02', 'drill-a');
    const snapshot = record.replace(/\.json$/, '/restored.json');
    await bucket.store.put(record, JSON.stringify({ kind: 'drill', dumps: { from: d0, to: d1 } }));
    await bucket.store.put(snapshot, '{"tables":{},"definitions":{}}');
    const binlog = (await bucket.store.list('mysql/db1/binlogs/2026-11-01/')).keys[0]?.key ?? '';
    const checkpoint = checkpointKeyOf(parseObjectKey(binlog) as NonNullable<ReturnType<typeof parseObjectKey>>);
    await bucket.store.put(checkpoint, '{}');
    for (const key of [record, checkpoint]) await client().send(new PutObjectLegalHoldCommand({ Bucket: bucket.bucket, Key: key, LegalHold: { Status: 'ON' } }));
    versioning.denyDeletePrefixes = [snapshot];
    const alerts: Alert[] = [];

    const [result] = await runRetention({ store: bucket.store, alerts: { publish: async (a) => void alerts.push(a) }, clock }, { prefix: 'mysql', policy, dryRun: false });

    expect(result?.deleted).toContain(d0);
    expect(result?.deleted).toContain(binlog);
    expect(result?.held.sort()).toEqual([checkpoint, record].sort());
    expect(result?.failed).toEqual([{ key: snapshot, reason: expect.stringContaining('access denied') }]);
    expect(result?.drills).toEqual([]);
    expect((await versionsOf(record)).versions).toBe(1);
    expect((await versionsOf(binlog)).versions).toBe(0);
    expect(alerts.map((a) => [a.type, a.state])).toEqual([['retention-failed', 'started']]);
    expect(alerts[0]?.message).toContain(snapshot);

    // The hold lifted and the refusal gone: the next run finds the record by its missing dumps, not orphaned.
    await client().send(new PutObjectLegalHoldCommand({ Bucket: bucket.bucket, Key: record, LegalHold: { Status: 'OFF' } }));
    versioning.denyDeletePrefixes = [];
    const [next] = await runRetention({ store: bucket.store, alerts: { publish: async (a) => void alerts.push(a) }, clock }, { prefix: 'mysql', policy, dryRun: false });
    expect(next?.drills.sort()).toEqual([record, snapshot].sort());
    expect(await versionsOf(record)).toEqual({ versions: 0, markers: 0 });
    expect(alerts.map((a) => [a.type, a.state])).toEqual([['retention-failed', 'started'], ['retention-failed', 'cleared']]);
  });

  it('a record, a checkpoint and a gap record under a retention date are held while it lasts, and purged by a later run once it ends; nothing else is touched', async () => {
    // The oldest dump's record, the checkpoint of a verify in steps of the oldest binlog, and a gap
    // record of day one (binlog.000003 purged before it was shipped): all deleted by the first run.
    const [d0] = (await bucket.store.list('mysql/db1/dumps/')).keys.map((k) => k.key).sort();
    const record = recordKeyOf(parseObjectKey(d0 ?? '') as NonNullable<ReturnType<typeof parseObjectKey>>);
    const binlog = (await bucket.store.list('mysql/db1/binlogs/2026-11-01/')).keys[0]?.key ?? '';
    const checkpoint = checkpointKeyOf(parseObjectKey(binlog) as NonNullable<ReturnType<typeof parseObjectKey>>);
    await bucket.store.put(checkpoint, '{}');
    const lost = parseObjectKey('mysql/db1/binlogs/2026-11-01/binlog.000003.gz') as NonNullable<ReturnType<typeof parseObjectKey>>;
    for (const key of [lost.key, recordKeyOf(lost)]) await bucket.store.purge(key);
    const gap = 'mysql/db1/records/2026-11-01/gap.binlog.000003.binlog.000003.json';
    await bucket.store.put(gap, JSON.stringify({ kind: 'gap', missing: ['binlog.000003'], after: 'binlog.000002', before: 'binlog.000004', detectedAt: '2026-11-01T03:00:00Z' }));
    await rebuildHost(bucket.store, scope, { now: () => new Date((T0 + 3 * DAY) * 1000) });
    const until = new Date(Date.now() + 8000);
    for (const key of [record, checkpoint, gap]) {
      await client().send(new PutObjectRetentionCommand({ Bucket: bucket.bucket, Key: key, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until } }));
    }
    const alerts: Alert[] = [];
    const deps = { store: bucket.store, alerts: { publish: async (a: Alert) => void alerts.push(a) }, clock };

    const [first] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    expect(Date.now()).toBeLessThan(until.getTime());
    expect(first?.deleted).toContain(d0);
    expect(first?.deleted).toContain(binlog);
    expect(first?.held.sort()).toEqual([checkpoint, gap, record].sort());
    expect(first?.failed).toEqual([]);
    expect(first?.orphans).toEqual([]);
    for (const key of [record, checkpoint, gap]) expect((await versionsOf(key)).versions, key).toBe(1);
    expect((await versionsOf(d0 ?? '')).versions).toBe(0);

    // The CLI's dry run names what a run would purge.
    const stateDir = await mkdtemp(join(tmpdir(), 'binvault-retention-'));
    try {
      const env = { BINVAULT_BUCKET: bucket.bucket, BINVAULT_S3_ENDPOINT: bucket.endpoint.url, BINVAULT_STATE_DIR: stateDir, BINVAULT_RECOVERY_WINDOW_DAYS: '1' };
      const dry = await runCli(['retention', '--dry-run'], env);
      expectExit(dry, 0);
      expect(dry.stdout).toContain('\n  orphaned           2 record(s) or checkpoint(s) of objects deleted on an earlier run (held then)\n');
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }

    // The retention date passed: the next run purges the three, and nothing else.
    await new Promise((resolve) => setTimeout(resolve, until.getTime() - Date.now() + 1000));
    const others = async (): Promise<string[]> => (await bucket.store.list('mysql/')).keys.map((k) => k.key).filter((k) => !k.includes('/catalog/') && ![record, checkpoint, gap].includes(k));
    const kept = await others();
    const windows = (await loadCatalog(bucket.store, scope, clock.now())).windows;
    const [second] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    expect(second?.orphans.sort()).toEqual([checkpoint, record].sort());
    expect(second?.deleted).toEqual([gap]);
    expect(second?.held).toEqual([]);
    expect(second?.failed).toEqual([]);
    for (const key of [record, checkpoint, gap]) expect(await versionsOf(key), key).toEqual({ versions: 0, markers: 0 });
    expect(await others()).toEqual(kept);
    for (const key of kept) expect(await versionsOf(key), key).toEqual({ versions: 1, markers: 0 });
    expect((await loadCatalog(bucket.store, scope, clock.now())).windows).toEqual(windows);
    expect(alerts).toEqual([]);
  }, 60_000);

  it('treats a delete refused with no lock (a policy denying it) as an error: retention-failed once, cleared once it succeeds, exit 1 from the CLI', async () => {
    const denied = (await bucket.store.list('mysql/db1/binlogs/2026-11-01/')).keys[0]?.key ?? '';
    versioning.denyDeletePrefixes = [denied];
    const alerts: Alert[] = [];
    const deps = { store: bucket.store, alerts: { publish: async (a: Alert) => void alerts.push(a) }, clock };

    const [result] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });

    expect(result?.held).toEqual([]);
    expect(result?.failed).toEqual([{ key: denied, reason: expect.stringContaining('access denied') }]);
    expect((await versionsOf(denied)).versions).toBe(1);
    expect(alerts.map((a) => [a.type, a.state, a.severity])).toEqual([['retention-failed', 'started', 'critical']]);
    expect(alerts[0]?.message).toContain(denied);

    const stateDir = await mkdtemp(join(tmpdir(), 'binvault-retention-'));
    try {
      const env = { BINVAULT_BUCKET: bucket.bucket, BINVAULT_S3_ENDPOINT: bucket.endpoint.url, BINVAULT_STATE_DIR: stateDir, BINVAULT_RECOVERY_WINDOW_DAYS: '1' };
      const run = await runCli(['retention'], env);
      expectExit(run, 1);
      expect(run.stderr.trim()).toMatch(/^binvault retention: could not delete 1 object\(s\) that no Object Lock holds \(first: \S+: .*access denied\)$/);
      expect(run.stdout).toContain('FAILED');

      versioning.denyDeletePrefixes = [];
      expectExit(await runCli(['retention'], env), 0);
      expect((await versionsOf(denied)).versions).toBe(0);
      const local = (await readFile(join(stateDir, 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Alert);
      expect(local.map((a) => a.state)).toContain('cleared');
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
