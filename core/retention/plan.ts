import { buildCatalog, type BinlogSummary, type DumpSummary, type GapRecord, type Window } from '../catalog/model.js';
import { dayIn } from '../layout.js';
import { isoSeconds } from '../time.js';

/**
 * The retention policy: every second of the last `recoveryWindowSeconds` stays restorable, plus
 * the last dump of each of the last `weeklyDumps` weeks and `monthlyDumps` months.
 */
export interface RetentionPolicy {
  /** @default 7 days */
  recoveryWindowSeconds: number;
  /** @default 0 */
  weeklyDumps: number;
  /** @default 0 */
  monthlyDumps: number;
}

export const DEFAULT_POLICY: RetentionPolicy = { recoveryWindowSeconds: 7 * 86_400, weeklyDumps: 0, monthlyDumps: 0 };

export interface RetentionInput {
  host: string;
  binlogs: BinlogSummary[];
  dumps: DumpSummary[];
  /** Gap records by record key. */
  gapRecords: Record<string, GapRecord>;
  now: Date;
  policy: RetentionPolicy;
  /** For weeks and months. @default 'UTC' */
  timeZone?: string;
}

export interface RetentionPlan {
  host: string;
  /** The seconds promised to stay restorable. */
  promised: { from: string; to: string };
  windowsBefore: Window[];
  windowsAfter: Window[];
  keep: { dumps: string[]; binlogs: string[] };
  delete: { dumps: string[]; binlogs: string[]; gapRecords: string[] };
  /** Why nothing is deleted, when the plan could not prove the promise. */
  blocked?: string;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

/** The parts of [from, to] that lie inside the windows. */
const clip = (windows: Window[], from: number, to: number): [number, number][] =>
  windows
    .map((w) => [Math.max(from, seconds(w.from)), Math.min(to, seconds(w.to))] as [number, number])
    .filter(([a, b]) => a <= b);

/** Whether every interval of `inner` lies inside one window of `outer`. */
const covered = (inner: [number, number][], outer: Window[]): boolean =>
  inner.every(([a, b]) => outer.some((w) => seconds(w.from) <= a && b <= seconds(w.to)));

/** ISO week key (year-week) of a day in the zone. */
const weekOf = (instant: string, timeZone: string): string => {
  const day = new Date(`${dayIn(new Date(instant), timeZone)}T00:00:00Z`);
  const thursday = new Date(day);
  thursday.setUTCDate(day.getUTCDate() + 3 - ((day.getUTCDay() + 6) % 7));
  const yearStart = new Date(Date.UTC(thursday.getUTCFullYear(), 0, 1));
  return `${thursday.getUTCFullYear()}-W${Math.ceil(((thursday.getTime() - yearStart.getTime()) / 86_400_000 + 1) / 7)}`;
};

/**
 * What a host keeps and what it may delete, with the proof: the windows before and after, and the
 * promised window (the last N days, as far as it was restorable before) inside the windows after.
 * Unproven, nothing is deleted and `blocked` says why. Pure.
 */
export const planRetention = (input: RetentionInput): RetentionPlan => {
  const { policy } = input;
  const tz = input.timeZone ?? 'UTC';
  const now = input.now.getTime() / 1000;
  const start = now - policy.recoveryWindowSeconds;
  const gapRecords = Object.values(input.gapRecords);
  const before = buildCatalog({ host: input.host, binlogs: input.binlogs, dumps: input.dumps, gapRecords, pending: [], now: input.now });
  const promised = { from: isoSeconds(start), to: isoSeconds(now) };
  const keepAll = (blocked?: string): RetentionPlan => ({
    host: input.host,
    promised,
    windowsBefore: before.windows,
    windowsAfter: before.windows,
    keep: { dumps: input.dumps.map((d) => d.key), binlogs: input.binlogs.map((b) => b.key) },
    delete: { dumps: [], binlogs: [], gapRecords: [] },
    ...(blocked ? { blocked } : {}),
  });

  const verified = input.dumps
    .filter((d) => d.status === 'ok' && d.completedAt)
    .sort((a, b) => seconds(a.completedAt ?? '') - seconds(b.completedAt ?? ''));
  // The newest verified dump at or before the window's start: the start itself stays restorable.
  const anchor = [...verified].reverse().find((d) => seconds(d.completedAt ?? '') <= start);
  if (!anchor) return keepAll();

  const keepDumps = new Set<string>();
  for (const d of input.dumps) {
    if (d.completedAt ? seconds(d.completedAt) >= seconds(anchor.completedAt ?? '') : true) keepDumps.add(d.key);
  }
  // Extra keeps: the last verified dump of each of the last W weeks and M months.
  const lastOf = (period: (at: string) => string, count: number): void => {
    if (count <= 0) return;
    const byPeriod = new Map<string, DumpSummary>();
    for (const d of verified) byPeriod.set(period(d.completedAt ?? ''), d);
    for (const d of [...byPeriod.values()].slice(-count)) keepDumps.add(d.key);
  };
  lastOf((at) => weekOf(at, tz), policy.weeklyDumps);
  lastOf((at) => dayIn(new Date(at), tz).slice(0, 7), policy.monthlyDumps);

  // Binlogs from the anchor's coordinates onward: the anchor's file, in the chain, and all after it.
  const chain = before.chain;
  let from = -1;
  chain.forEach((link, i) => {
    if (link.name === anchor.binlogFile && link.firstEventTime && seconds(link.firstEventTime) <= seconds(anchor.completedAt ?? '')) from = i;
  });
  if (from < 0) return keepAll(`the binlog ${anchor.binlogFile ?? '?'} of the dump ${anchor.key} is not in the chain`);
  const keepBinlogs = new Set(chain.slice(from).map((l) => l.key).filter((k): k is string => k !== undefined));
  // Binlogs outside the chain (not read) are kept: nothing is deleted that was not understood.
  for (const b of input.binlogs) if (!chain.some((l) => l.key === b.key)) keepBinlogs.add(b.key);

  const dumps = input.dumps.filter((d) => keepDumps.has(d.key));
  const binlogs = input.binlogs.filter((b) => keepBinlogs.has(b.key));
  const keptNames = new Set(binlogs.map((b) => b.name));
  const deletedGaps = Object.entries(input.gapRecords)
    .filter(([, g]) => !keptNames.has(g.before) && g.missing.every((m) => !keptNames.has(m)) && (g.after === null || !keptNames.has(g.after)))
    .map(([key]) => key);
  const keptGaps = Object.entries(input.gapRecords).filter(([key]) => !deletedGaps.includes(key)).map(([, g]) => g);
  const after = buildCatalog({ host: input.host, binlogs, dumps, gapRecords: keptGaps, pending: [], now: input.now });

  // The proof: what was restorable in the promised window still is.
  const promisedBefore = clip(before.windows, start, now);
  if (!covered(promisedBefore, after.windows)) {
    return keepAll(
      `deleting would shrink the restorable window: before ${before.windows.map((w) => `${w.from} → ${w.to}`).join(', ') || 'none'}, after ${after.windows.map((w) => `${w.from} → ${w.to}`).join(', ') || 'none'}`,
    );
  }
  return {
    host: input.host,
    promised,
    windowsBefore: before.windows,
    windowsAfter: after.windows,
    keep: { dumps: dumps.map((d) => d.key), binlogs: binlogs.map((b) => b.key) },
    delete: {
      dumps: input.dumps.filter((d) => !keepDumps.has(d.key)).map((d) => d.key),
      binlogs: input.binlogs.filter((b) => !keepBinlogs.has(b.key)).map((b) => b.key),
      gapRecords: deletedGaps,
    },
  };
};
