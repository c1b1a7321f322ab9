import { describe, expect, it } from 'vitest';
import { buildCatalog, type BinlogSummary, type DumpSummary, type GapRecord, type Window } from '../../../../core/catalog/model.js';
import { planRetention, type RetentionPolicy } from '../../../../core/retention/plan.js';
import { at, binlogSeries, dumpAt, T0 } from '../../../helpers/catalog.js';

/** A small seeded PRNG (mulberry32): the same seed, the same catalog. */
const prng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

interface Generated {
  binlogs: BinlogSummary[];
  dumps: DumpSummary[];
  gapRecords: Record<string, GapRecord>;
  now: Date;
}

/** Days of binlogs with holes (recorded or not), corrupt files, resets and daily dumps, some failed. */
const generate = (rand: () => number, days: number, perDay: number): Generated => {
  const span = Math.floor(86_400 / perDay);
  const binlogs: BinlogSummary[] = [];
  const gapRecords: Record<string, GapRecord> = {};
  let seq = 1;
  let gtid = 0;
  let serverId = 1;
  let lineage = 0;
  let t = T0;
  for (let i = 0; i < days * perDay; i++) {
    if (rand() < 0.01) {
      seq = 1;
      lineage++;
      if (rand() < 0.5) serverId++;
    }
    const name = `binlog.${String(seq).padStart(6, '0')}`;
    const day = at(t).slice(0, 10);
    const summary: BinlogSummary = {
      key: `mysql/db1/binlogs/${day}/${name}~L${lineage}.gz`,
      day,
      name,
      status: rand() < 0.02 ? 'failed' : 'ok',
      reasons: [],
      serverIds: [serverId],
      flavor: 'mariadb',
      firstEventTime: at(t),
      lastEventTime: at(t + span),
      end: 'rotate',
      rotateTo: `binlog.${String(seq + 1).padStart(6, '0')}`,
      gtids: `0-${serverId}-${gtid + 10}`,
      previousGtids: seq === 1 ? '' : `0-${serverId}-${gtid}`,
      verifiedAt: at(t + span + 1),
    };
    if (rand() < 0.02 && seq > 1) {
      if (rand() < 0.5) gapRecords[`mysql/db1/records/${day}/gap.${name}.${i}.json`] = { kind: 'gap', missing: [name], after: binlogs[binlogs.length - 1]?.name ?? null, before: `binlog.${String(seq + 1).padStart(6, '0')}`, detectedAt: at(t) };
    } else {
      binlogs.push(summary);
    }
    seq++;
    gtid += 10;
    t += span;
  }
  const dumps: DumpSummary[] = [];
  for (let d = 0; d < days; d++) {
    const when = T0 + d * 86_400 + Math.floor(rand() * 86_000);
    const file = binlogs.find((b) => Date.parse(b.firstEventTime ?? '') / 1000 <= when && when < Date.parse(b.lastEventTime ?? '') / 1000);
    if (!file) continue;
    const dump = dumpAt(when, file.name, `mysql/db1/dumps/${at(when).slice(0, 10)}/db1-${when}.sql.gz`);
    dumps.push(rand() < 0.1 ? { ...dump, status: 'failed', reasons: ['cut short'] } : dump);
  }
  return { binlogs, dumps, gapRecords, now: new Date(t * 1000) };
};

const seconds = (iso: string): number => Date.parse(iso) / 1000;
const inside = (s: number, windows: Window[]): boolean => windows.some((w) => seconds(w.from) <= s && s <= seconds(w.to));

describe('planRetention', () => {
  it('deletes the old dumps and binlogs, keeps the newest dump before the window and everything after it', () => {
    const binlogs = binlogSeries({ count: 10 * 24, span: 3600 });
    const dumps = Array.from({ length: 10 }, (_, d) => dumpAt(T0 + d * 86_400 + 60, binlogs[d * 24]?.name ?? ''));
    const plan = planRetention({ host: 'db1', binlogs, dumps, gapRecords: {}, now: new Date((T0 + 10 * 86_400) * 1000), policy: { recoveryWindowSeconds: 3 * 86_400, weeklyDumps: 0, monthlyDumps: 0 } });
    expect(plan.blocked).toBeUndefined();
    // The window starts at day 7: the dump of day 6 (the newest at or before it) is the anchor.
    expect(plan.keep.dumps).toEqual(dumps.slice(6).map((d) => d.key));
    expect(plan.delete.dumps).toEqual(dumps.slice(0, 6).map((d) => d.key));
    expect(plan.delete.binlogs).toEqual(binlogs.slice(0, 6 * 24).map((b) => b.key));
    expect(plan.windowsAfter).toEqual([{ from: dumps[6]?.completedAt, to: at(T0 + 10 * 86_400), dump: dumps[6]?.key }]);
  });

  it('keeps the last dump of each week and month asked for', () => {
    const binlogs = binlogSeries({ count: 60 * 4, span: 21_600 });
    const dumps = Array.from({ length: 60 }, (_, d) => dumpAt(T0 + d * 86_400 + 60, binlogs[d * 4]?.name ?? ''));
    const plan = planRetention({ host: 'db1', binlogs, dumps, gapRecords: {}, now: new Date((T0 + 60 * 86_400) * 1000), policy: { recoveryWindowSeconds: 2 * 86_400, weeklyDumps: 3, monthlyDumps: 2 } });
    const kept = new Set(plan.keep.dumps);
    // 2026-11-01 is a Sunday: the last dumps of the ISO weeks are Sundays; of the months, the 30th/31st.
    expect(kept.has(dumps[29]?.key ?? '')).toBe(true); // 2026-11-30: last of November
    expect(kept.has(dumps[49]?.key ?? '')).toBe(true); // 2026-12-20: a Sunday, last of its week
    expect(plan.keep.dumps.length).toBeGreaterThanOrEqual(3 + 3);
  });

  it('never deletes when there is no verified dump before the window', () => {
    const binlogs = binlogSeries({ count: 48, span: 3600 });
    const plan = planRetention({ host: 'db1', binlogs, dumps: [dumpAt(T0 + 40 * 3600, 'binlog.000040')], gapRecords: {}, now: new Date((T0 + 48 * 3600) * 1000), policy: { recoveryWindowSeconds: 86_400, weeklyDumps: 0, monthlyDumps: 0 } });
    expect(plan.delete.dumps).toEqual([]);
    expect(plan.delete.binlogs).toEqual([]);
  });

  describe('property: over generated catalogs (gaps, corrupt objects, resets, failed dumps, many days)', () => {
    const cases = Array.from({ length: 150 }, (_, i) => i + 1);
    const outcomes = { deleting: 0, blocked: 0 };

    it('exercise real deletions in most cases, not only plans that keep everything', () => {
      for (const seed of cases) {
        const rand = prng(seed);
        const g = generate(rand, 5 + Math.floor(rand() * 25), 4 + Math.floor(rand() * 20));
        const policy = { recoveryWindowSeconds: Math.floor((0.5 + rand() * 10) * 86_400), weeklyDumps: Math.floor(rand() * 3), monthlyDumps: Math.floor(rand() * 2) };
        const plan = planRetention({ host: 'db1', ...g, policy });
        if (plan.blocked) outcomes.blocked++;
        else if (plan.delete.binlogs.length + plan.delete.dumps.length > 0) outcomes.deleting++;
      }
      expect(outcomes.deleting).toBeGreaterThan(cases.length / 2);
    });

    it.each(cases)('seed %i: what was restorable in the promised window stays restorable; nothing outside the plan is deleted', (seed) => {
      const rand = prng(seed);
      const g = generate(rand, 5 + Math.floor(rand() * 25), 4 + Math.floor(rand() * 20));
      const policy: RetentionPolicy = { recoveryWindowSeconds: Math.floor((0.5 + rand() * 10) * 86_400), weeklyDumps: Math.floor(rand() * 3), monthlyDumps: Math.floor(rand() * 2) };

      const plan = planRetention({ host: 'db1', ...g, policy });

      const allDumps = g.dumps.map((d) => d.key);
      const allBinlogs = g.binlogs.map((b) => b.key);
      expect([...plan.keep.dumps, ...plan.delete.dumps].sort()).toEqual([...allDumps].sort());
      expect([...plan.keep.binlogs, ...plan.delete.binlogs].sort()).toEqual([...allBinlogs].sort());
      if (plan.blocked) {
        expect(plan.delete.dumps.length + plan.delete.binlogs.length).toBe(0);
        return;
      }
      // An independent look at what is left.
      const keptGaps = Object.entries(g.gapRecords).filter(([k]) => !plan.delete.gapRecords.includes(k)).map(([, v]) => v);
      const before = buildCatalog({ host: 'db1', binlogs: g.binlogs, dumps: g.dumps, gapRecords: Object.values(g.gapRecords), pending: [], now: g.now });
      const after = buildCatalog({
        host: 'db1',
        binlogs: g.binlogs.filter((b) => plan.keep.binlogs.includes(b.key)),
        dumps: g.dumps.filter((d) => plan.keep.dumps.includes(d.key)),
        gapRecords: keptGaps,
        pending: [],
        now: g.now,
      });
      const start = g.now.getTime() / 1000 - policy.recoveryWindowSeconds;
      const end = g.now.getTime() / 1000;
      for (let k = 0; k <= 200; k++) {
        const s = Math.floor(start + ((end - start) * k) / 200);
        if (inside(s, before.windows)) expect(inside(s, after.windows), `second ${at(s)}`).toBe(true);
      }
      for (const w of before.windows) {
        for (const edge of [seconds(w.from), seconds(w.to)]) if (edge >= start && edge <= end) expect(inside(edge, after.windows)).toBe(true);
      }
    });
  });
});
