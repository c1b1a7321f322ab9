import type { BinlogSummary, Catalog, DumpSummary } from '../catalog/model.js';
import { InputError, RestoreRefusedError } from '../errors.js';
import { parseMariadbGtids } from '../gtid.js';
import { isoSeconds, parseInstant } from '../time.js';

/** What to restore to: a second, a GTID (before or after it), or the latest restorable second. */
export type RestoreTarget = { time: string } | { gtid: string; mode: 'before' | 'after' } | { latest: true };

export interface PlannedBinlog {
  name: string;
  key: string;
  /** The server ids of the source that wrote it (the replay's applier must use another). */
  serverIds?: number[];
  firstEventTime?: string;
  lastEventTime?: string;
}

export interface RestorePlan {
  host: string;
  target: RestoreTarget;
  /** The second restored to (ISO UTC); for a GTID target, the window second that holds it. */
  targetTime: string;
  dump: { key: string; completedAt: string; binlogFile: string; binlogPosition: number; gtids?: string; size?: number; databases?: string[] };
  /** In order, from the dump's binlog to the one holding the target. */
  binlogs: PlannedBinlog[];
  /** Replay starts here in the first binlog (the dump's coordinates). */
  startPosition: number;
  /**
   * Where the replay stops: before the first transaction of the first second not restored, after a
   * GTID, or (a drill) at a binlog position — another dump's coordinates, a transaction boundary.
   */
  stop: { datetime: string } | { gtid: string } | { binlogFile: string; position: number };
  databases?: string[];
  bytes: number;
  estimatedSeconds: number;
  /** The estimate's parts (core/restore/rto.ts), and whether its rates were measured or the defaults. */
  estimate?: { loadSeconds: number; replaySeconds: number; rates: 'measured' | 'default' };
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

/** Stored bytes expand about three times; a loader takes about 20 MB/s of SQL on a small instance. */
export const estimateSeconds = (storedBytes: number): number => Math.max(5, Math.round((storedBytes * 3) / 20e6));

/**
 * The target second of a restore, from what a person typed (core/time.ts parseInstant: ISO 8601
 * with a zone, or a wall clock in the zone; impossible or ambiguous times refused) → ISO UTC.
 */
export const parseRestoreTime = (text: string, timeZone: string): string => isoSeconds(Math.floor(parseInstant(text, timeZone)));

/** A GTID target must be MariaDB's `domain-server-sequence`; MySQL GTID targets are refused for now. */
export const checkGtidTarget = (gtid: string): void => {
  if (!/^\d+-\d+-\d+$/.test(gtid)) {
    throw new InputError(`'${gtid}' is not a MariaDB GTID (domain-server-sequence); MySQL GTID targets are not supported yet`);
  }
};

export interface PlanInput {
  catalog: Catalog;
  binlogs: BinlogSummary[];
  dumps: DumpSummary[];
  target: RestoreTarget;
  databases?: string[];
  /** Object sizes (stored bytes) by key, for the estimate. */
  sizes?: Record<string, number>;
}

const describeWindows = (catalog: Catalog): string =>
  catalog.windows.length === 0 ? 'there is no restorable window yet' : `restorable: ${catalog.windows.map((w) => `${w.from} → ${w.to}`).join(', ')}`;

/** Where a MariaDB GTID lies: the second of the binlog that holds it. */
const locateGtid = (gtid: string, binlogs: BinlogSummary[]): BinlogSummary | undefined => {
  const [target] = parseMariadbGtids(gtid);
  if (!target) return undefined;
  return binlogs.find((b) => {
    const before = parseMariadbGtids(b.previousGtids).find((g) => g.domain === target.domain)?.seq ?? 0;
    const last = parseMariadbGtids(b.gtids).find((g) => g.domain === target.domain)?.seq;
    return last !== undefined && before < target.seq && target.seq <= last;
  });
};

/**
 * The newest verified dump before the target and the binlogs from its exact coordinates to the
 * target, or a refusal that names the nearest windows.
 */
export const planRestore = (input: PlanInput): RestorePlan => {
  const { catalog, target } = input;
  if (catalog.windows.length === 0) throw new RestoreRefusedError(`cannot restore ${catalog.host}: ${describeWindows(catalog)}`);

  let targetTime: string;
  let stop: RestorePlan['stop'];
  let lastFile: string | undefined;
  if ('latest' in target) {
    targetTime = catalog.latestRestorableTime ?? '';
    stop = { datetime: isoSeconds(seconds(targetTime) + 1) };
  } else if ('time' in target) {
    targetTime = target.time;
    stop = { datetime: isoSeconds(seconds(targetTime) + 1) };
  } else {
    checkGtidTarget(target.gtid);
    const holder = locateGtid(target.gtid, input.binlogs);
    if (!holder?.lastEventTime) throw new RestoreRefusedError(`GTID ${target.gtid} is in no shipped binlog of ${catalog.host}: ${describeWindows(catalog)}`);
    targetTime = holder.lastEventTime;
    lastFile = holder.name;
    const [g] = parseMariadbGtids(target.gtid);
    // mariadb-binlog's GTID stop is inclusive: "before" stops at the transaction before it.
    stop = { gtid: `${g?.domain ?? 0}-${g?.serverId ?? 0}-${(g?.seq ?? 0) - (target.mode === 'before' ? 1 : 0)}` };
  }

  const t = seconds(targetTime);
  const window = catalog.windows.find((w) => seconds(w.from) <= t && t <= seconds(w.to));
  if (!window) {
    const nearest = [...catalog.windows].sort((a, b) => Math.min(Math.abs(seconds(a.from) - t), Math.abs(seconds(a.to) - t)) - Math.min(Math.abs(seconds(b.from) - t), Math.abs(seconds(b.to) - t)))[0];
    const gap = catalog.gaps.find((g) => g.since && seconds(g.since) <= t && g.kind !== 'reset');
    throw new RestoreRefusedError(
      `${targetTime} is outside every restorable window of ${catalog.host}${gap ? ` (inside a ${gap.kind} gap after ${gap.after ?? '?'})` : ''}; nearest: ${nearest?.from ?? '?'} → ${nearest?.to ?? '?'}; ${describeWindows(catalog)}`,
    );
  }

  // The newest verified dump completed at or before the target, whose chain reaches the target.
  const dump = input.dumps
    .filter((d) => d.status === 'ok' && d.completedAt && d.binlogFile && d.binlogPosition !== undefined && seconds(d.completedAt) <= t && seconds(d.completedAt) >= seconds(window.from))
    .sort((a, b) => seconds(b.completedAt ?? '') - seconds(a.completedAt ?? ''))[0];
  if (!dump?.completedAt || !dump.binlogFile || dump.binlogPosition === undefined) {
    throw new RestoreRefusedError(`no verified dump of ${catalog.host} before ${targetTime}: ${describeWindows(catalog)}`);
  }

  const chain = catalog.chain;
  let start = -1;
  chain.forEach((link, i) => {
    if (link.name === dump.binlogFile && link.firstEventTime && seconds(link.firstEventTime) <= seconds(dump.completedAt ?? '')) start = i;
  });
  if (start < 0) throw new RestoreRefusedError(`the dump's binlog ${dump.binlogFile} is not in the chain of ${catalog.host}`);
  const binlogs: PlannedBinlog[] = [];
  const summaries = new Map(input.binlogs.map((b) => [b.key, b]));
  for (let i = start; i < chain.length; i++) {
    const link = chain[i];
    if (!link?.key || link.status !== 'ok') throw new RestoreRefusedError(`the chain of ${catalog.host} is broken at ${link?.name ?? '?'} before ${targetTime}`);
    const serverIds = summaries.get(link.key)?.serverIds;
    binlogs.push({ name: link.name, key: link.key, ...(serverIds && serverIds.length > 0 ? { serverIds } : {}), ...(link.firstEventTime ? { firstEventTime: link.firstEventTime } : {}), ...(link.lastEventTime ? { lastEventTime: link.lastEventTime } : {}) });
    // Every file opened at or before the target may hold events of that second: a file can end
    // (ROTATE) in the very second the next one begins.
    const next = chain[i + 1];
    if (link.name === lastFile || !next?.firstEventTime || seconds(next.firstEventTime) > t) break;
  }

  const sizes = input.sizes ?? {};
  const bytes = (sizes[dump.key] ?? 0) + binlogs.reduce((sum, b) => sum + (sizes[b.key] ?? 0), 0);
  return {
    host: catalog.host,
    target,
    targetTime,
    dump: {
      key: dump.key,
      completedAt: dump.completedAt,
      binlogFile: dump.binlogFile,
      binlogPosition: dump.binlogPosition,
      ...(dump.gtids ? { gtids: dump.gtids } : {}),
      ...(dump.databases.length > 0 ? { databases: dump.databases } : {}),
      ...(sizes[dump.key] !== undefined ? { size: sizes[dump.key] } : {}),
    },
    binlogs,
    startPosition: dump.binlogPosition,
    stop,
    ...(input.databases ? { databases: input.databases } : {}),
    bytes,
    estimatedSeconds: estimateSeconds(bytes),
  };
};
