import { parseBinlogName, namesBetween } from '../binlog/names.js';
import { MysqlGtidSet, parseMariadbGtids } from '../gtid.js';
import { parseKey } from '../layout.js';
import type { ObjectRecord } from '../records.js';

/**
 * The catalog model: from a host's verification records, the chain of binlogs ordered by their own
 * content (lineage, sequence, ROTATE target, GTID continuity, event times — never upload time), every
 * break classified, and the windows of time to any second of which a restore is possible.
 */

/** What the catalog keeps of a binlog's record. */
export interface BinlogSummary {
  key: string;
  day: string;
  /** The binlog's own name, e.g. `binlog.000123`. */
  name: string;
  status: 'ok' | 'failed';
  reasons: string[];
  serverUuid?: string;
  serverIds: number[];
  flavor?: 'mysql' | 'mariadb';
  firstEventTime?: string;
  lastEventTime?: string;
  end?: 'rotate' | 'stop' | 'cut';
  rotateTo?: string;
  gtids: string;
  previousGtids: string;
  verifiedAt: string;
}

/** What the catalog keeps of a dump's record. */
export interface DumpSummary {
  key: string;
  day: string;
  status: 'ok' | 'failed';
  reasons: string[];
  /** When the dump finished (UTC): every second from here on can be rebuilt from it. */
  completedAt?: string;
  binlogFile?: string;
  binlogPosition?: number;
  gtids?: string;
  databases: string[];
  verifiedAt: string;
}

/** The shipper's record of binlogs the server purged before they were shipped. */
export interface GapRecord {
  kind: 'gap';
  missing: string[];
  after: string | null;
  before: string;
  detectedAt: string;
}

export interface Link {
  name: string;
  key?: string;
  status: 'ok' | 'corrupt';
  lineage: number;
  firstEventTime?: string;
  lastEventTime?: string;
}

export interface Gap {
  kind: 'delayed' | 'missing' | 'corrupt' | 'reset';
  /** The last good binlog before the break (null at the start). */
  after: string | null;
  /** The first binlog after it (null when none has arrived). */
  before: string | null;
  /** Restorable up to here: the last event time before the break. */
  since: string | null;
  missing?: string[];
  reason: string;
}

export interface Window {
  from: string;
  to: string;
  /** The dump this window starts from. */
  dump: string;
}

export interface Catalog {
  host: string;
  chain: Link[];
  gaps: Gap[];
  windows: Window[];
  earliestRestorableTime: string | null;
  latestRestorableTime: string | null;
  lagSeconds: number | null;
  lastDump: { key: string; completedAt?: string; binlogFile?: string; binlogPosition?: number } | null;
  lastBinlog: { name: string; key: string; lastEventTime?: string } | null;
  failedObjects: { key: string; reasons: string[] }[];
  builtAt: string;
}

export interface CatalogInput {
  host: string;
  binlogs: BinlogSummary[];
  dumps: DumpSummary[];
  gapRecords: GapRecord[];
  /** Objects in the bucket that have no record yet (being verified). */
  pending: string[];
  now: Date;
  /** A hole younger than this (after the later file was verified) is `delayed`, older `missing`. @default 600 */
  delayGraceSeconds?: number;
}

/** The binlog's own name (`binlog.000123`), from its key: without the lineage tag and `.gz`. */
const binlogNameOf = (record: ObjectRecord): string => {
  const ref = parseKey(record.key);
  return ref?.area === 'binlogs' ? ref.binlog : record.name;
};

export const summarizeBinlog = (record: ObjectRecord): BinlogSummary => ({
  key: record.key,
  day: record.day,
  name: binlogNameOf(record),
  status: record.status,
  reasons: record.reasons,
  ...(record.metadata['server-uuid'] ? { serverUuid: record.metadata['server-uuid'] } : {}),
  serverIds: record.binlog?.serverIds ?? (record.metadata['server-id'] ? [Number(record.metadata['server-id'])] : []),
  ...(record.binlog?.flavor ? { flavor: record.binlog.flavor } : {}),
  ...(record.binlog?.firstEventTime ? { firstEventTime: record.binlog.firstEventTime } : {}),
  ...(record.binlog?.lastEventTime ? { lastEventTime: record.binlog.lastEventTime } : {}),
  ...(record.binlog ? { end: record.binlog.end } : {}),
  ...(record.binlog?.rotateTo ? { rotateTo: record.binlog.rotateTo } : {}),
  gtids: record.binlog?.gtids ?? '',
  previousGtids: record.binlog?.previousGtids ?? '',
  verifiedAt: record.verifiedAt,
});

/** `2026-11-20 15:00:01` as the dump tool wrote it (the shipper runs it with TZ=UTC) → ISO UTC. */
const dumpTime = (text: string | undefined): string | undefined => {
  const match = /^(\d{4})-(\d{2})-(\d{2})\s+(\d{1,2}):(\d{2}):(\d{2})$/.exec(text?.trim() ?? '');
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  return `${y}-${mo}-${d}T${(h ?? '').padStart(2, '0')}:${mi}:${s}Z`;
};

export const summarizeDump = (record: ObjectRecord): DumpSummary => {
  const completedAt = dumpTime(record.dump?.completedAt);
  return {
    key: record.key,
    day: record.day,
    status: record.status,
    reasons: record.reasons,
    ...(completedAt ? { completedAt } : {}),
    ...(record.dump?.binlogFile ? { binlogFile: record.dump.binlogFile } : {}),
    ...(record.dump?.binlogPosition !== undefined ? { binlogPosition: record.dump.binlogPosition } : {}),
    ...(record.dump?.gtids ? { gtids: record.dump.gtids } : {}),
    databases: record.dump?.databases ?? [],
    verifiedAt: record.verifiedAt,
  };
};

const seconds = (iso: string): number => Date.parse(iso) / 1000;
const identity = (b: BinlogSummary): string => b.serverUuid ?? `server-id ${b.serverIds[0] ?? '?'}`;

/** Whether B's starting GTID state follows from A's: nothing lost between them. */
const gtidsContinue = (a: BinlogSummary, b: BinlogSummary): boolean => {
  if (a.flavor === 'mariadb' || b.flavor === 'mariadb') {
    // MariaDB: B's GTID_LIST must hold, per domain and server, at least A's last GTID.
    const state = parseMariadbGtids(b.previousGtids);
    return parseMariadbGtids(a.gtids).every((g) =>
      state.some((s) => s.domain === g.domain && s.serverId === g.serverId && s.seq >= g.seq),
    );
  }
  if (a.previousGtids === '' && a.gtids === '' && b.previousGtids === '') return true;
  const expected = MysqlGtidSet.parse(a.previousGtids).union(MysqlGtidSet.parse(a.gtids));
  return MysqlGtidSet.parse(b.previousGtids).contains(expected);
};

/**
 * Builds the catalog of one host. Pure and deterministic: the same records give the same catalog.
 */
export const buildCatalog = (input: CatalogInput): Catalog => {
  const grace = input.delayGraceSeconds ?? 600;
  const now = input.now.getTime() / 1000;
  const purged = new Map<string, GapRecord>();
  for (const record of input.gapRecords) for (const name of record.missing) purged.set(name, record);
  const pendingNames = new Set(input.pending.flatMap((k) => {
    const ref = parseKey(k);
    return ref?.area === 'binlogs' ? [ref.binlog] : [];
  }));

  // Order by content: when the file was opened (its first event), then its sequence.
  const withFacts = input.binlogs
    .filter((b) => b.firstEventTime !== undefined && parseBinlogName(b.name))
    .sort((a, b) => seconds(a.firstEventTime ?? '') - seconds(b.firstEventTime ?? '') || (parseBinlogName(a.name)?.sequence ?? 0) - (parseBinlogName(b.name)?.sequence ?? 0));
  const factless = input.binlogs.filter((b) => b.firstEventTime === undefined || !parseBinlogName(b.name));

  // Lineages: a new server identity, another base name, or numbering that goes back starts one.
  const lineages: BinlogSummary[][] = [];
  for (const b of withFacts) {
    const current = lineages[lineages.length - 1];
    const prev = current?.[current.length - 1];
    const p = prev ? parseBinlogName(prev.name) : undefined;
    const n = parseBinlogName(b.name);
    if (!current || !prev || !p || !n || identity(prev) !== identity(b) || p.base !== n.base || n.sequence <= p.sequence) {
      lineages.push([b]);
    } else {
      current.push(b);
    }
  }
  // Objects that failed before their content could be read go where their name puts them.
  for (const b of factless) {
    const n = parseBinlogName(b.name);
    let target = lineages[lineages.length - 1];
    for (const lineage of lineages) {
      const first = parseBinlogName(lineage[0]?.name ?? '');
      if (n && first && first.base === n.base && first.sequence <= n.sequence) target = lineage;
    }
    if (!target) lineages.push((target = []));
    target.push(b);
    target.sort((x, y) => (parseBinlogName(x.name)?.sequence ?? 0) - (parseBinlogName(y.name)?.sequence ?? 0));
  }

  const chain: Link[] = [];
  const gaps: Gap[] = [];
  /** For each link, whether the chain is unbroken from it to the next one. */
  const brokenAfter = new Set<number>();
  lineages.forEach((lineage, index) => {
    if (index > 0) {
      const before = lineage[0];
      const prevLineage = lineages[index - 1] ?? [];
      const after = prevLineage[prevLineage.length - 1];
      gaps.push({
        kind: 'reset',
        after: after?.name ?? null,
        before: before?.name ?? null,
        since: after?.lastEventTime ?? null,
        reason:
          after && before && identity(after) !== identity(before)
            ? `a new server identity (${identity(after)} → ${identity(before)}): a new lineage`
            : 'binlog numbering restarted (RESET MASTER or a restored server): a new lineage',
      });
      brokenAfter.add(chain.length - 1);
    }
    let lastGood: BinlogSummary | undefined;
    lineage.forEach((b, i) => {
      const prev = i > 0 ? lineage[i - 1] : undefined;
      if (prev) {
        const p = parseBinlogName(prev.name);
        const n = parseBinlogName(b.name);
        const holes = p && n ? namesBetween(p, n) : [];
        if (holes.length > 0) {
          const recorded = holes.some((h) => purged.has(h));
          const young = now - seconds(b.verifiedAt) < grace;
          const arriving = holes.every((h) => pendingNames.has(h));
          const kind = recorded ? 'missing' : arriving || young ? 'delayed' : 'missing';
          gaps.push({
            kind,
            after: prev.name,
            before: b.name,
            since: lastGood?.lastEventTime ?? null,
            missing: holes,
            reason: recorded
              ? 'purged by the server before they were shipped (the shipper recorded it)'
              : kind === 'delayed'
                ? 'not here yet: being shipped or verified'
                : 'never arrived although a later binlog did',
          });
          brokenAfter.add(chain.length - 1);
        } else if (prev.status === 'ok' && b.status === 'ok' && prev.end === 'rotate' && prev.rotateTo && prev.rotateTo !== b.name) {
          gaps.push({ kind: 'missing', after: prev.name, before: b.name, since: lastGood?.lastEventTime ?? null, reason: `${prev.name} rotates to ${prev.rotateTo}, not ${b.name}` });
          brokenAfter.add(chain.length - 1);
        } else if (prev.status === 'ok' && b.status === 'ok' && !gtidsContinue(prev, b)) {
          gaps.push({ kind: 'missing', after: prev.name, before: b.name, since: lastGood?.lastEventTime ?? null, reason: `GTIDs do not continue from ${prev.name} to ${b.name}` });
          brokenAfter.add(chain.length - 1);
        }
      }
      if (b.status !== 'ok') {
        gaps.push({
          kind: 'corrupt',
          after: lastGood?.name ?? prev?.name ?? null,
          before: lineage[i + 1]?.name ?? null,
          since: lastGood?.lastEventTime ?? null,
          reason: `${b.name} failed verification: ${b.reasons.join('; ')}`,
        });
        brokenAfter.add(chain.length - 1);
        brokenAfter.add(chain.length);
      } else {
        lastGood = b;
      }
      chain.push({
        name: b.name,
        key: b.key,
        status: b.status === 'ok' ? 'ok' : 'corrupt',
        lineage: index,
        ...(b.firstEventTime ? { firstEventTime: b.firstEventTime } : {}),
        ...(b.lastEventTime ? { lastEventTime: b.lastEventTime } : {}),
      });
    });
  });
  // Purged files after the newest shipped one (nothing later has arrived yet).
  const tail = chain[chain.length - 1];
  for (const record of input.gapRecords) {
    if (!record.missing.some((m) => chain.some((l) => l.name === m)) && !gaps.some((g) => g.missing?.some((m) => record.missing.includes(m)))) {
      gaps.push({
        kind: 'missing',
        after: record.after,
        before: record.before,
        since: tail?.lastEventTime ?? null,
        missing: record.missing,
        reason: 'purged by the server before they were shipped (the shipper recorded it)',
      });
      brokenAfter.add(chain.length - 1);
    }
  }

  // Windows: from each verified dump, along the unbroken chain from its coordinates.
  const windows: Window[] = [];
  const okDumps = input.dumps.filter((d) => d.status === 'ok' && d.completedAt && d.binlogFile);
  // Where each unbroken run of good links ends, computed once from the back: O(chain).
  const runEnd = new Array<number>(chain.length);
  for (let i = chain.length - 1; i >= 0; i--) {
    const next = runEnd[i + 1];
    runEnd[i] = i + 1 < chain.length && next !== undefined && !brokenAfter.has(i) && chain[i + 1]?.status === 'ok' ? next : i;
  }
  const positions = new Map<string, number[]>();
  chain.forEach((link, i) => positions.set(link.name, [...(positions.get(link.name) ?? []), i]));
  for (const dump of okDumps) {
    const from = dump.completedAt as string;
    // The dump's binlog: of the files with that name (one per lineage), the newest opened before it completed.
    const start = (positions.get(dump.binlogFile ?? '') ?? [])
      .filter((i) => {
        const opened = chain[i]?.firstEventTime;
        return opened !== undefined && seconds(opened) <= seconds(from);
      })
      .pop();
    if (start === undefined || chain[start]?.status !== 'ok') continue;
    const to = chain[runEnd[start] ?? start]?.lastEventTime;
    if (!to || seconds(to) < seconds(from)) continue;
    windows.push({ from, to, dump: dump.key });
  }
  windows.sort((a, b) => seconds(a.from) - seconds(b.from));
  const merged: Window[] = [];
  for (const w of windows) {
    const last = merged[merged.length - 1];
    if (last && seconds(w.from) <= seconds(last.to)) {
      if (seconds(w.to) > seconds(last.to)) last.to = w.to;
    } else merged.push({ ...w });
  }

  const latest = merged.length > 0 ? merged.reduce((a, b) => (seconds(b.to) > seconds(a.to) ? b : a)).to : null;
  const newestDump = [...okDumps].sort((a, b) => seconds(b.completedAt ?? '') - seconds(a.completedAt ?? ''))[0];
  const newestLink = [...chain].reverse().find((l) => l.status === 'ok');
  return {
    host: input.host,
    chain,
    gaps,
    windows: merged,
    earliestRestorableTime: merged[0]?.from ?? null,
    latestRestorableTime: latest,
    lagSeconds: latest ? Math.max(0, Math.round(now - seconds(latest))) : null,
    lastDump: newestDump
      ? {
          key: newestDump.key,
          ...(newestDump.completedAt ? { completedAt: newestDump.completedAt } : {}),
          ...(newestDump.binlogFile ? { binlogFile: newestDump.binlogFile } : {}),
          ...(newestDump.binlogPosition !== undefined ? { binlogPosition: newestDump.binlogPosition } : {}),
        }
      : null,
    lastBinlog: newestLink?.key ? { name: newestLink.name, key: newestLink.key, ...(newestLink.lastEventTime ? { lastEventTime: newestLink.lastEventTime } : {}) } : null,
    failedObjects: [...input.binlogs, ...input.dumps].filter((o) => o.status !== 'ok').map((o) => ({ key: o.key, reasons: o.reasons })),
    builtAt: input.now.toISOString(),
  };
};
