import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../../core/catalog/model.js';
import { TimeInputError } from '../../../../core/errors.js';
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
    expect(() => parseRestoreTime('yesterday', 'UTC')).toThrow("'yesterday' is not a time: use ISO 8601 with a zone (2026-11-20T15:04:05Z) or 'YYYY-MM-DD HH:MM:SS' (in BINVAULT_TZ)");
  });

  it('reads the second a fraction falls in, and offsets written without a colon', () => {
    expect(parseRestoreTime('2026-11-20T15:04:05.999Z', 'UTC')).toBe('2026-11-20T15:04:05Z');
    expect(parseRestoreTime('2026-11-20T10:04:05.5-0500', 'UTC')).toBe('2026-11-20T15:04:05Z');
    expect(parseRestoreTime('2026-11-20 15:04:05+00:00', 'Asia/Seoul')).toBe('2026-11-20T15:04:05Z');
    expect(parseRestoreTime('2028-02-29 12:00:00', 'UTC')).toBe('2028-02-29T12:00:00Z');
  });

  // A mistyped time used to roll over into another second (hour 47 became the next day, second 65
  // the next minute) and the restore went on: each is refused with one line that quotes the input.
  it.each([
    ['2026-12-02 47:47:05', 'there is no hour 47 (00 to 23)'],
    ['2026-12-03 23:46:65', 'there is no second 65 (00 to 59)'],
    ['2026-12-03 23:60:00', 'there is no minute 60 (00 to 59)'],
    ['2026-12-03 24:00:00', 'there is no hour 24 (00 to 23)'],
    ['2026-13-01 00:00:00', 'there is no month 13'],
    ['2026-00-10 00:00:00', 'there is no month 00'],
    ['2026-04-31 12:00:00', '2026-04 has no day 31'],
    ['2027-02-29 12:00:00', '2027-02 has no day 29'],
    ['2026-11-00T00:00:00Z', '2026-11 has no day 00'],
    ['2026-11-20T15:04:05+15:00', 'the offset +15:00 is beyond ±14:00'],
    ['2026-11-20T15:04:05+09:75', 'the offset +09:75 is beyond ±14:00'],
    ['2026-11-20T15:04:05Z trailing', "use ISO 8601 with a zone (2026-11-20T15:04:05Z) or 'YYYY-MM-DD HH:MM:SS' (in BINVAULT_TZ)"],
    ['2026-11-20 15:04', "use ISO 8601 with a zone (2026-11-20T15:04:05Z) or 'YYYY-MM-DD HH:MM:SS' (in BINVAULT_TZ)"],
  ])('refuses %s: %s', (text, why) => {
    expect(() => parseRestoreTime(text, 'UTC')).toThrow(new TimeInputError(`'${text}' is not a time: ${why}`));
  });

  it('refuses a wall clock the zone skipped when summer time began', () => {
    // 2026-03-08 in New York: 02:00 EST became 03:00 EDT.
    expect(() => parseRestoreTime('2026-03-08 02:30:00', 'America/New_York')).toThrow(
      "'2026-03-08 02:30:00' does not exist in America/New_York: the clocks skipped that time (summer time began); give another time, or an offset",
    );
    expect(parseRestoreTime('2026-03-08 03:30:00', 'America/New_York')).toBe('2026-03-08T07:30:00Z');
  });

  it('refuses a wall clock the zone showed twice unless an offset says which, and gives both', () => {
    // 2026-11-01 in New York: 02:00 EDT became 01:00 EST, so 01:30 happened twice.
    expect(() => parseRestoreTime('2026-11-01 01:30:00', 'America/New_York')).toThrow(
      "'2026-11-01 01:30:00' happened twice in America/New_York (the clocks were set back): say which with its offset, 2026-11-01T01:30:00-04:00 (2026-11-01T05:30:00Z) or 2026-11-01T01:30:00-05:00 (2026-11-01T06:30:00Z)",
    );
    expect(parseRestoreTime('2026-11-01T01:30:00-04:00', 'America/New_York')).toBe('2026-11-01T05:30:00Z');
    expect(parseRestoreTime('2026-11-01T01:30:00-05:00', 'America/New_York')).toBe('2026-11-01T06:30:00Z');
  });

  it('exits the CLI with 2 (usage) for a bad time, like every other bad input', () => {
    expect(new TimeInputError('x').exitCode).toBe(2);
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
