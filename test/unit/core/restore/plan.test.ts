import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../../core/catalog/model.js';
import { parseRestoreTime, planRestore } from '../../../../core/restore/plan.js';
import { at, binlogSeries, dumpAt, T0 } from '../../../helpers/catalog.js';

describe('parseRestoreTime', () => {
  it('reads wall-clock time in the configured zone', () => {
    expect(parseRestoreTime('2026-11-21 00:04:05', 'Asia/Seoul')).toBe('2026-11-20T15:04:05Z');
    expect(parseRestoreTime('2026-07-01 12:00:00', 'America/New_York')).toBe('2026-07-01T16:00:00Z');
    expect(parseRestoreTime('2026-11-20 15:04:05', 'UTC')).toBe('2026-11-20T15:04:05Z');
  });

  it('reads ISO 8601 with a zone as it says', () => {
    expect(parseRestoreTime('2026-11-21T00:04:05+09:00', 'UTC')).toBe('2026-11-20T15:04:05Z');
    expect(parseRestoreTime('2026-11-20T15:04:05Z', 'Asia/Seoul')).toBe('2026-11-20T15:04:05Z');
  });

  it('says what it expects of anything else', () => {
    expect(() => parseRestoreTime('yesterday', 'UTC')).toThrow("'yesterday' is not a time: use ISO 8601 with a zone or 'YYYY-MM-DD HH:MM:SS' (in BINVAULT_TZ)");
  });
});

describe('planRestore', () => {
  const binlogs = binlogSeries({ count: 10 });
  const dumps = [dumpAt(T0 + 30, 'binlog.000001'), dumpAt(T0 + 250, 'binlog.000005')];
  const catalog = buildCatalog({ host: 'db1', binlogs, dumps, gapRecords: [], pending: [], now: new Date((T0 + 700) * 1000) });

  it('takes the newest verified dump before the target and the binlogs from its file to the target', () => {
    const plan = planRestore({ catalog, binlogs, dumps, target: { time: at(T0 + 400) } });
    expect(plan.dump.key).toBe(dumps[1]?.key);
    expect(plan.binlogs.map((b) => b.name)).toEqual(['binlog.000005', 'binlog.000006', 'binlog.000007']);
    expect(plan.startPosition).toBe(1234);
    expect(plan.stop).toEqual({ datetime: at(T0 + 401) });
  });

  it('takes every binlog opened in the target second, also when the one before ends in it', () => {
    // binlog.000003 rotates in the very second binlog.000004 opens and ends: both hold that second.
    const tight = binlogSeries({ count: 4 }).map((b) => (b.name === 'binlog.000004' ? { ...b, firstEventTime: at(T0 + 180), lastEventTime: at(T0 + 180) } : b));
    const c = buildCatalog({ host: 'db1', binlogs: tight, dumps: [dumpAt(T0 + 10, 'binlog.000001')], gapRecords: [], pending: [], now: new Date((T0 + 700) * 1000) });
    const plan = planRestore({ catalog: c, binlogs: tight, dumps: [dumpAt(T0 + 10, 'binlog.000001')], target: { latest: true } });
    expect(plan.binlogs.map((b) => b.name)).toEqual(['binlog.000001', 'binlog.000002', 'binlog.000003', 'binlog.000004']);
  });

  it('plans --latest to the end of the window', () => {
    const plan = planRestore({ catalog, binlogs, dumps, target: { latest: true } });
    expect(plan.targetTime).toBe(at(T0 + 600));
    expect(plan.binlogs.at(-1)?.name).toBe('binlog.000010');
  });

  it('finds the binlog that holds a MariaDB GTID and stops before or after it', () => {
    const after = planRestore({ catalog, binlogs, dumps, target: { gtid: '0-1-35', mode: 'after' } });
    expect(after.stop).toEqual({ gtid: '0-1-35' });
    expect(after.binlogs.at(-1)?.name).toBe('binlog.000004');
    expect(planRestore({ catalog, binlogs, dumps, target: { gtid: '0-1-35', mode: 'before' } }).stop).toEqual({ gtid: '0-1-34' });
  });

  it('refuses a target before every backup, naming the nearest window', () => {
    expect(() => planRestore({ catalog, binlogs, dumps, target: { time: at(T0 + 5) } })).toThrow(
      `${at(T0 + 5)} is outside every restorable window of db1; nearest: ${at(T0 + 30)} → ${at(T0 + 600)}; restorable: ${at(T0 + 30)} → ${at(T0 + 600)}`,
    );
  });

  it('refuses a target inside a gap', () => {
    const holed = binlogs.filter((b) => b.name !== 'binlog.000007');
    const gapped = buildCatalog({
      host: 'db1',
      binlogs: holed,
      dumps: [dumps[0] as (typeof dumps)[number]],
      gapRecords: [{ kind: 'gap', missing: ['binlog.000007'], after: 'binlog.000006', before: 'binlog.000008', detectedAt: at(T0 + 500) }],
      pending: [],
      now: new Date((T0 + 700) * 1000),
    });
    expect(() => planRestore({ catalog: gapped, binlogs: holed, dumps, target: { time: at(T0 + 450) } })).toThrow(/outside every restorable window of db1 \(inside a missing gap after binlog\.000006\)/);
  });
});

describe('infra/restore.asl.json', () => {
  it('gives every Task state a timeout: the States Language default (60 s) would cut a long load or replay', async () => {
    const { readFileSync } = await import('node:fs');
    const definition = JSON.parse(readFileSync('infra/restore.asl.json', 'utf8')) as { States: Record<string, { Type: string; TimeoutSeconds?: number }> };
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.every(([, s]) => (s.TimeoutSeconds ?? 0) >= 60)).toBe(true);
    expect(definition.States.ReplayBinlogs?.TimeoutSeconds).toBeGreaterThanOrEqual(86_400);
    expect(definition.States.LoadDump?.TimeoutSeconds).toBeGreaterThanOrEqual(86_400);
  });
});
