import { compareBinlogNames, parseBinlogName } from '../binlog/names.js';
import type { Catalog } from '../catalog/model.js';
import { areaRoot, binlogsRoot, parseKey, type HostScope } from '../layout.js';
import type { ObjectStore } from '../ports.js';
import { updateJson } from '../update-json.js';

/**
 * The RTO budget: how long a restore to the latest restorable time would take now, from what
 * restores measured on this host — the newest verified dump's load, and the replay of every binlog
 * byte since its coordinates — and what to do before it passes the budget (take a dump).
 *
 * Rates are stored bytes a second, from the bucket to applied: a restore streams each object from
 * the bucket, gunzips, checks and applies it at once, so the download is inside each rate.
 */

/** Measured (or default) speeds of a restore of this host, stored bytes a second. */
export interface RestoreRates {
  loadBytesPerSecond: number;
  replayBytesPerSecond: number;
  /** `measured` once a restore or drill of this host recorded them; `default` before. */
  source: 'measured' | 'default';
}

/**
 * Conservative speeds before anything was measured: a dump loads at 3 MB/s of its gzip (about 9 MB/s
 * of SQL), binlogs replay at 0.5 MB/s of their stored bytes — a fifth of what the first users'
 * `mysqlbinlog | mysql` replayed of ROW binlog on 2 cores (2.6 MB/s raw; stored is never larger).
 */
export const DEFAULT_RATES: RestoreRates = { loadBytesPerSecond: 3e6, replayBytesPerSecond: 0.5e6, source: 'default' };

/** One measurement, as kept in `{prefix}/{host}/restores/rates.json`. */
interface Measurement {
  bytesPerSecond: number;
  bytes: number;
  seconds: number;
  at: string;
  execution: string;
}

/** `{prefix}/{host}/restores/rates.json`: the last measurements of each phase, newest last. */
export interface RatesFile {
  version: 1;
  load: Measurement[];
  replay: Measurement[];
}

/** How many measurements of each phase are kept; the slowest of them is used. */
const KEPT = 5;
/** A phase shorter or smaller than this measures the fixed costs more than the speed: not recorded. */
const MIN_SECONDS = 1;
const MIN_BYTES = 4e6;

export const ratesKey = (scope: HostScope): string => `${areaRoot(scope, 'restores')}rates.json`;

/** The rates of a host: the slowest of its last measurements of each phase, or the defaults. */
export const readRates = async (store: ObjectStore, scope: HostScope): Promise<RestoreRates> => {
  const current = await store.getVersioned(ratesKey(scope));
  if (!current) return DEFAULT_RATES;
  let file: Partial<RatesFile>;
  try {
    file = JSON.parse(current.body.toString('utf8')) as Partial<RatesFile>;
  } catch {
    return DEFAULT_RATES;
  }
  return ratesOf(file);
};

/** The slowest kept measurement of each phase (conservative), the default where none was kept. Pure. */
const ratesOf = (file: Partial<RatesFile>): RestoreRates => {
  const slowest = (list: Measurement[] | undefined): number | undefined => {
    const rates = (list ?? []).map((m) => m.bytesPerSecond).filter((r) => Number.isFinite(r) && r > 0);
    return rates.length > 0 ? Math.min(...rates) : undefined;
  };
  const load = slowest(file.load);
  const replay = slowest(file.replay);
  if (load === undefined && replay === undefined) return DEFAULT_RATES;
  return { loadBytesPerSecond: load ?? DEFAULT_RATES.loadBytesPerSecond, replayBytesPerSecond: replay ?? DEFAULT_RATES.replayBytesPerSecond, source: 'measured' };
};

/** Records what a restore (or drill) measured: stored bytes and seconds of its load and replay. */
export const recordRates = async (
  store: ObjectStore,
  scope: HostScope,
  measured: { execution: string; at: Date; load?: { bytes: number; seconds: number }; replay?: { bytes: number; seconds: number } },
): Promise<void> => {
  const entry = (m: { bytes: number; seconds: number } | undefined): Measurement | undefined =>
    m && m.seconds >= MIN_SECONDS && m.bytes >= MIN_BYTES
      ? { bytesPerSecond: Math.round(m.bytes / m.seconds), bytes: m.bytes, seconds: Number(m.seconds.toFixed(1)), at: measured.at.toISOString(), execution: measured.execution }
      : undefined;
  const load = entry(measured.load);
  const replay = entry(measured.replay);
  if (!load && !replay) return;
  await updateJson<RatesFile, void>(
    store,
    ratesKey(scope),
    (current) => {
      const file: RatesFile = { version: 1, load: current?.load ?? [], replay: current?.replay ?? [] };
      return {
        next: { version: 1, load: [...file.load, ...(load ? [load] : [])].slice(-KEPT), replay: [...file.replay, ...(replay ? [replay] : [])].slice(-KEPT) },
        result: undefined,
      };
    },
    { attempts: 6 },
  );
};

/** What a restore to the latest restorable time would have to bring back now. */
export interface RtoInput {
  /** The newest verified dump, and its stored size. */
  dump: { key: string; bytes: number; completedAt?: string };
  /** Stored bytes of the binlogs from the dump's binlog on (the whole first one: a little more, never less). */
  binlogBytes: number;
  binlogs: number;
}

/** How long that restore would take, from the rates. */
export interface RtoEstimate extends RtoInput {
  seconds: number;
  loadSeconds: number;
  replaySeconds: number;
  rates: RestoreRates;
}

/** The estimate from sizes and rates. Pure. */
export const estimateRto = (input: RtoInput, rates: RestoreRates): RtoEstimate => {
  const loadSeconds = input.dump.bytes / rates.loadBytesPerSecond;
  const replaySeconds = input.binlogBytes / rates.replayBytesPerSecond;
  return { ...input, loadSeconds: Math.round(loadSeconds), replaySeconds: Math.round(replaySeconds), seconds: Math.round(loadSeconds + replaySeconds), rates };
};

/**
 * What a restore would bring back, read from the catalog (its newest verified dump) and the
 * bucket's listing of binlogs (their stored sizes: shipped ones count before they are verified, so
 * the estimate never lags behind the writes). The one place the budget reads the catalog.
 */
const rtoInput = async (store: ObjectStore, scope: HostScope, catalog: Pick<Catalog, 'lastDump'>): Promise<RtoInput | undefined> => {
  const dump = catalog.lastDump;
  if (!dump) return undefined;
  const dumpBytes = (await store.head(dump.key))?.size ?? 0;
  const from = dump.binlogFile ? parseBinlogName(dump.binlogFile) : undefined;
  let binlogBytes = 0;
  let binlogs = 0;
  if (from) {
    // Only the day folders from the dump's day on: every binlog after its coordinates was shipped
    // after it. The listing stays the size of a day or two, not of the whole history kept.
    const dumpRef = parseKey(dump.key);
    const since = dumpRef?.area === 'dumps' ? dumpRef.day : '';
    const days = (await store.list(binlogsRoot(scope), { delimiter: '/' })).prefixes.filter((p) => p.slice(binlogsRoot(scope).length, -1) >= since);
    for (const day of days) {
      for (const object of (await store.list(day)).keys) {
        const ref = parseKey(object.key);
        const name = ref?.area === 'binlogs' ? parseBinlogName(ref.binlog) : undefined;
        if (!name || compareBinlogNames(name, from) < 0) continue;
        binlogBytes += object.size;
        binlogs++;
      }
    }
  }
  return { dump: { key: dump.key, bytes: dumpBytes, ...(dump.completedAt ? { completedAt: dump.completedAt } : {}) }, binlogBytes, binlogs };
};

/** The estimate of a host now: its catalog's newest dump, the binlogs since, the host's rates. */
export const estimateHost = async (store: ObjectStore, scope: HostScope, catalog: Pick<Catalog, 'lastDump'>): Promise<RtoEstimate | undefined> => {
  const input = await rtoInput(store, scope, catalog);
  if (!input) return undefined;
  return estimateRto(input, await readRates(store, scope));
};

/**
 * Whether the shipper should take a dump now: the estimate would pass the budget before the next
 * scheduled dump (binlogs keep coming at the pace they came since the last dump), and the last dump
 * (the catalog's, or the last one the shipper took itself) is at least `minIntervalSeconds` old.
 * Pure.
 */
export const dumpDue = (input: {
  estimate: RtoEstimate;
  budgetSeconds: number;
  /** The schedule's interval between dumps (BINVAULT_DUMP_INTERVAL_HOURS). */
  dumpIntervalSeconds: number;
  minIntervalSeconds: number;
  /** The last dump the shipper itself started, if any. */
  lastTakenAt?: string;
  now: Date;
}): { due: boolean; reason: string; projectedSeconds: number } => {
  const { estimate, budgetSeconds, now } = input;
  const t = now.getTime() / 1000;
  const dumpAt = estimate.dump.completedAt ? Date.parse(estimate.dump.completedAt) / 1000 : undefined;
  const since = dumpAt !== undefined ? Math.max(1, t - dumpAt) : undefined;
  // The pace of writes since the last dump, carried on to the next scheduled one.
  const untilNext = dumpAt !== undefined ? Math.max(0, dumpAt + input.dumpIntervalSeconds - t) : 0;
  const growth = since !== undefined ? estimate.binlogBytes / since : 0;
  const projectedSeconds = Math.round(estimate.seconds + (growth * untilNext) / estimate.rates.replayBytesPerSecond);
  if (projectedSeconds <= budgetSeconds) return { due: false, reason: `the estimate stays within the budget until the next scheduled dump (${projectedSeconds} s of ${budgetSeconds} s)`, projectedSeconds };
  const last = Math.max(dumpAt ?? 0, input.lastTakenAt ? Date.parse(input.lastTakenAt) / 1000 : 0);
  if (t - last < input.minIntervalSeconds) {
    return { due: false, reason: `the last dump is ${Math.round(t - last)} s old, less than BINVAULT_DUMP_MIN_INTERVAL (${input.minIntervalSeconds} s)`, projectedSeconds };
  }
  return {
    due: true,
    reason:
      estimate.seconds > budgetSeconds
        ? `a restore would take about ${estimate.seconds} s now, past the ${budgetSeconds} s RTO budget`
        : `a restore would take about ${projectedSeconds} s by the next scheduled dump, past the ${budgetSeconds} s RTO budget`,
    projectedSeconds,
  };
};

/**
 * The time left of a restore, from its plan's estimate (the same rates) and how far its phases are:
 * the load's share left of its estimate, then the replay's; the replay step downloads its binlogs
 * before it applies them, so while it downloads the time left is its estimate less the time spent,
 * and once it applies, the share left of what its estimate leaves after the download.
 */
export class RestoreEta {
  private replayStarted: number | undefined;
  private applyStarted: number | undefined;

  public constructor(
    private readonly estimate: { loadSeconds: number; replaySeconds: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds left of the whole restore, at this progress of a phase. */
  public update(p: { phase: 'load' | 'download' | 'replay'; bytes: number; total?: number }): number {
    const left = p.total && p.total > 0 ? Math.max(0, 1 - p.bytes / p.total) : 1;
    const { loadSeconds, replaySeconds } = this.estimate;
    const at = this.now();
    if (p.phase === 'load') return Math.round(left * loadSeconds + replaySeconds);
    this.replayStarted ??= at;
    if (p.phase === 'download') return Math.round(Math.max(0, replaySeconds - (at - this.replayStarted) / 1000));
    this.applyStarted ??= at;
    const apply = Math.max(1, replaySeconds - (this.applyStarted - this.replayStarted) / 1000);
    return Math.round(left * apply);
  }
}
