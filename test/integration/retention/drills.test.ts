import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildHost } from '../../../core/catalog/manifests.js';
import { drillKey } from '../../../core/layout.js';
import { drillHistory, type DrillRecord } from '../../../core/restore/drill.js';
import { runRetention } from '../../../core/retention/run.js';
import { binlogSeries, dumpAt, putShipped, T0, at } from '../../helpers/catalog.js';
import { startTestBucket, type TestBucket } from '../../helpers/s3.js';

const DAY = 86_400;
const scope = { prefix: 'mysql', host: 'db1' };

/** A proven drill record of the window between two dumps, as runDrill writes it. */
const drillOf = (execution: string, from: ReturnType<typeof dumpAt>, to: ReturnType<typeof dumpAt>, binlogs: { name: string; key: string }[], withKeys = true): DrillRecord => ({
  recordVersion: 1,
  kind: 'drill',
  host: 'db1',
  execution,
  result: 'proven',
  window: { from: from.completedAt ?? '', to: to.completedAt ?? '' },
  dumps: { from: from.key, to: to.key },
  binlogs: binlogs.map((b) => b.name),
  ...(withKeys ? { binlogKeys: binlogs.map((b) => b.key) } : {}),
  stop: { binlogFile: to.binlogFile ?? '', position: 1234 },
  tables: 1,
  definitions: 0,
  withoutPrimaryKey: [],
  differences: [],
  timings: { provisionSeconds: 1, loadSeconds: 1, replaySeconds: 1, laterLoadSeconds: 1, compareSeconds: 1, totalSeconds: 5 },
  startedAt: to.completedAt ?? '',
  finishedAt: at(Date.parse(to.completedAt ?? '') / 1000 + 600),
});

describe('retention keeps drill records with their window (the local S3 endpoint)', () => {
  let bucket: TestBucket;
  beforeAll(async () => {
    bucket = await startTestBucket('binvault-retention-drills');
  });
  afterAll(() => bucket.close());

  it('deletes the records (and snapshots) of the windows whose dumps or binlogs it deletes, keeps the others; status still shows the kept proof', async () => {
    // Prepare: three days, a dump each morning; drills of both windows (the first written before
    // binlogKeys existed, matched by binlog names); the AWS drill's snapshots beside the first.
    const { store } = bucket;
    const binlogs = binlogSeries({ count: 72, span: 3600 });
    const dumps = [0, 1, 2].map((d) => dumpAt(T0 + d * DAY + 1800, binlogs[d * 24]?.name ?? ''));
    await putShipped(store, [...binlogs, ...dumps]);
    await rebuildHost(store, scope, { now: () => new Date((T0 + 3 * DAY) * 1000) });
    const [d0, d1, d2] = dumps as [ReturnType<typeof dumpAt>, ReturnType<typeof dumpAt>, ReturnType<typeof dumpAt>];
    const first = drillOf('drill-a', d0, d1, binlogs.slice(0, 25), false);
    const second = drillOf('drill-b', d1, d2, binlogs.slice(24, 49));
    const firstKey = drillKey(scope, d1.day, 'drill-a');
    const secondKey = drillKey(scope, d2.day, 'drill-b');
    await store.put(firstKey, JSON.stringify(first));
    await store.put(`${firstKey.replace(/\.json$/, '')}/restored.json`, '{"tables":{},"definitions":{}}');
    await store.put(secondKey, JSON.stringify(second));
    const clock = { now: () => new Date((T0 + 2 * DAY + 12 * 3600) * 1000) };

    // Act: a recovery window of one day, whose anchor is the second dump.
    const [result] = await runRetention({ store, alerts: { publish: async () => undefined }, clock }, { prefix: 'mysql', policy: { recoveryWindowSeconds: DAY, weeklyDumps: 0, monthlyDumps: 0 }, dryRun: false });

    // Assess
    expect(result?.deleted).toContain(d0.key);
    expect(result?.drills.sort()).toEqual([firstKey, `${firstKey.replace(/\.json$/, '')}/restored.json`].sort());
    expect(await store.head(firstKey)).toBeUndefined();
    expect(await store.head(secondKey)).toBeDefined();
    const history = await drillHistory(store, scope);
    expect(history.lastProven?.execution).toBe('drill-b');
    expect(history.lastProvenAt).toBe(second.finishedAt);
  });

  it('a dry run deletes no drill record', async () => {
    const { store } = bucket;
    const before = (await store.list('mysql/db1/drills/')).keys.map((k) => k.key);

    const [result] = await runRetention({ store, alerts: { publish: async () => undefined }, clock: { now: () => new Date((T0 + 4 * DAY) * 1000) } }, { prefix: 'mysql', policy: { recoveryWindowSeconds: 1, weeklyDumps: 0, monthlyDumps: 0 }, dryRun: true });

    expect(result?.drills).toEqual([]);
    expect((await store.list('mysql/db1/drills/')).keys.map((k) => k.key)).toEqual(before);
  });
});
