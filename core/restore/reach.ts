import { EventType } from '../binlog/events.js';
import { eventChange, qualifiers, tokens } from '../binlog/sql.js';
import type { EventInfo } from '../binlog/verify.js';
import { MysqlGtidSet, formatMariadbGtid, parseMariadbGtids, type MariadbGtid } from '../gtid.js';
import type { ExpectedReach } from '../ports.js';
import { isoSeconds } from '../time.js';
import type { RestorePlan } from './plan.js';

/** Events that start a transaction (an event group): a GTID of either family. */
const GROUP_START = new Set<number>([EventType.MARIADB_GTID, EventType.GTID, EventType.ANONYMOUS_GTID, EventType.GTID_TAGGED]);

/** Events between groups: a group that one of them follows is complete. */
const BETWEEN = new Set<number>([
  EventType.ROTATE,
  EventType.STOP,
  EventType.FORMAT_DESCRIPTION,
  EventType.PREVIOUS_GTIDS,
  EventType.MARIADB_GTID_LIST,
  EventType.MARIADB_BINLOG_CHECKPOINT,
  EventType.MARIADB_START_ENCRYPTION,
]);

/** A place in the plan's binlogs: the file's index in `plan.binlogs` and a byte position in it. */
export interface BinlogPlace {
  file: number;
  position: number;
}

/** Where a replay of the plan must stop, and what it will have applied then. */
export interface ReplayReach {
  /**
   * Stop here, before the first transaction the target excludes (its GTID event), or after the
   * last complete transaction of the files when the target excludes nothing in them.
   */
  until: BinlogPlace;
  /** Nothing of the plan's binlogs is applied (the target is the dump's own moment). */
  empty: boolean;
  expected: ExpectedReach;
  /**
   * The state of each scheduled event the applied transactions created or changed, as the source had
   * it: a replica marks the events replication creates SLAVESIDE_DISABLED, which the restore undoes.
   */
  eventStates: { database: string; name: string; state: 'ENABLE' | 'DISABLE' }[];
  /** With `databases`: the applied transactions that touch a selected database and another one too (the first twenty). */
  crossings: Crossing[];
  crossingCount: number;
}

/** A transaction a restore of selected databases cannot replay in part. */
export interface Crossing {
  /** The plan's binlog and the position of the transaction's first event. */
  binlogFile: string;
  position: number;
  databases: string[];
  /** Its first statement that names a database, shortened. */
  statement?: string;
}

/** Statements that only delimit a transaction: their default database says nothing of what it touches. */
const CONTROL = /^(BEGIN|COMMIT|ROLLBACK|XA|SAVEPOINT|RELEASE)\b/i;

/**
 * Follows the plan's binlogs event by event (as the verifier reads them, file after file) and
 * finds where a replay to the plan's target stops: before the first transaction (event group) that
 * holds an event at or after the stop second — mysqlbinlog's `--stop-datetime` rule — or, for a
 * MariaDB GTID target, the first of its domain past the GTID; never inside a transaction, and never
 * after a last transaction the files hold only in part (a binlog cut by a crash). It also says what
 * the server will have applied then: the GTID state (the dump's, moved on by every applied
 * transaction), the time and the place of the last applied event.
 */
export class ReachTracker {
  private readonly stopAt: number;
  private readonly stopGtid: MariadbGtid | undefined;
  /** A position stop: the plan's last file, and the position in it. */
  private readonly stopPlace: BinlogPlace | undefined;
  private readonly mariadb = new Map<number, MariadbGtid>();
  private readonly mysql: MysqlGtidSet;
  private mysqlSeen = false;
  private file = -1;
  /** The group being read: where it starts, its GTID, its last event's end. */
  private group:
    | { start: BinlogPlace; gtid?: string; end: number; lastTime: number; events: number; statements: { database: string; sql: string }[]; databases: Set<string>; named?: string }
    | undefined;
  /** The databases that exist, as far as the dump and the binlogs tell: what a qualifier must name to count. */
  private readonly known: Set<string>;
  private readonly crossings: Crossing[] = [];
  private crossingCount = 0;
  /** Scheduled events by `database.name`, from the applied transactions. */
  private readonly eventStates = new Map<string, { database: string; name: string; state?: 'ENABLE' | 'DISABLE' }>();
  /** The last group known complete and applied. */
  private applied: { end: BinlogPlace; time: number } | undefined;
  private stopped: BinlogPlace | undefined;
  private events = 0;
  private transactions = 0;

  /**
   * @param databases.selected a restore of these databases only: every applied transaction is checked
   *   for touching one of them and another database too (`crossings`).
   * @param databases.known the databases of the dump.
   */
  public constructor(
    private readonly plan: Pick<RestorePlan, 'startPosition' | 'stop' | 'dump' | 'binlogs'>,
    private readonly databases?: { selected: string[]; known: string[] },
  ) {
    this.known = new Set(databases?.known ?? []);
    this.stopAt = 'datetime' in plan.stop ? Date.parse(plan.stop.datetime) / 1000 : Number.POSITIVE_INFINITY;
    this.stopGtid = 'gtid' in plan.stop ? parseMariadbGtids(plan.stop.gtid)[0] : undefined;
    // A position stop is in the plan's last file (the planner ends the files there).
    this.stopPlace = 'binlogFile' in plan.stop ? { file: plan.binlogs.length - 1, position: plan.stop.position } : undefined;
    const dumpGtids = plan.dump.gtids ?? '';
    for (const g of parseMariadbGtids(dumpGtids)) this.mariadb.set(g.domain, g);
    this.mysql = /^[0-9a-f]{8}-/i.test(dumpGtids.trim()) ? MysqlGtidSet.parse(dumpGtids) : new MysqlGtidSet();
  }

  /** The next file begins (files in the plan's order). */
  public nextFile(): void {
    this.closeGroup(true);
    this.file++;
  }

  /** One event of the current file, in order. */
  public event(e: EventInfo): void {
    if (this.stopped) return;
    // The first file is read from the dump's coordinates: what is before them is in the dump.
    if (this.file === 0 && e.position < this.plan.startPosition) return;
    if (this.stopPlace && this.file === this.stopPlace.file && e.position >= this.stopPlace.position) {
      // The position is a transaction boundary (another dump's coordinates): what ended before it is applied.
      this.closeGroup(this.group !== undefined && this.group.end <= this.stopPlace.position);
      this.stopped = { file: this.file, position: e.position };
      return;
    }
    if (BETWEEN.has(e.type)) {
      this.closeGroup(true);
      return;
    }
    if (GROUP_START.has(e.type)) {
      this.closeGroup(true);
      if (this.stopGtid && e.type === EventType.MARIADB_GTID && e.gtid) {
        const [g] = parseMariadbGtids(e.gtid);
        if (g && g.domain === this.stopGtid.domain && g.seq > this.stopGtid.seq) {
          this.stopped = { file: this.file, position: e.position };
          return;
        }
      }
      this.group = { start: { file: this.file, position: e.position }, ...(e.gtid ? { gtid: e.gtid } : {}), end: e.position + e.size, lastTime: e.timestamp, events: 0, statements: [], databases: new Set() };
    }
    if (e.timestamp >= this.stopAt) {
      // This event is past the target: its transaction, and all after it, are left out.
      this.stopped = this.group ? this.group.start : { file: this.file, position: e.position };
      this.group = undefined;
      return;
    }
    if (this.group) {
      this.group.end = e.position + e.size;
      this.group.lastTime = e.timestamp;
      this.group.events++;
      if (e.names?.statement !== undefined && /\bEVENT\b/i.test(e.names.statement)) this.group.statements.push({ database: e.names.database ?? '', sql: e.names.statement });
      if (this.databases && e.names) this.touching(this.group, e.names);
    } else {
      // An event outside any group (binlogs older than GTID events): a statement of its own.
      this.events++;
      this.applied = { end: { file: this.file, position: e.position + e.size }, time: e.timestamp };
    }
  }

  /** The reach once every file was read. A last group not followed by anything may be cut: left out. */
  public finish(): ReplayReach {
    // A position stop at the very end of its file: the last group ends there, complete.
    const place = this.stopPlace;
    if (!this.stopped && this.group && place && this.group.start.file === place.file && this.group.end === place.position) this.closeGroup(true);
    if (!this.stopped && this.group) this.stopped = this.group.start;
    this.group = undefined;
    // Groups follow one another: the first one left out starts where the last applied one ended, or after.
    const until = this.stopped ?? this.applied?.end ?? { file: 0, position: this.plan.startPosition };
    const gtids = this.mysqlSeen || !this.mysql.isEmpty
      ? this.mysql.toString()
      : [...this.mariadb.values()].sort((a, b) => a.domain - b.domain).map(formatMariadbGtid).join(',');
    return {
      until,
      empty: this.applied === undefined,
      crossings: this.crossings,
      crossingCount: this.crossingCount,
      eventStates: [...this.eventStates.values()].flatMap((e) => (e.state ? [{ database: e.database, name: e.name, state: e.state }] : [])),
      expected: {
        gtids,
        events: this.events,
        transactions: this.transactions,
        ...(this.applied
          ? {
              time: isoSeconds(this.applied.time),
              binlogFile: this.plan.binlogs[this.applied.end.file]?.name ?? '',
              binlogPosition: this.applied.end.position,
            }
          : {}),
      },
    };
  }

  /** The databases an event of the group names: a table map's, a statement's default one and those it qualifies names with. */
  private touching(group: NonNullable<ReachTracker['group']>, names: NonNullable<EventInfo['names']>): void {
    if (names.table) {
      this.known.add(names.table.database);
      group.databases.add(names.table.database);
      return;
    }
    const sql = names.statement ?? '';
    if (CONTROL.test(sql.trimStart())) return;
    const created = /^\s*CREATE\s+(?:DATABASE|SCHEMA)\s+(?:IF\s+NOT\s+EXISTS\s+)?([^\s;]+)/i.exec(sql)?.[1];
    const target = created ? tokens(created)[0]?.replace(/^`/, '') : undefined;
    if (target) {
      this.known.add(target);
      group.databases.add(target);
    } else if (names.database) {
      this.known.add(names.database);
      group.databases.add(names.database);
    }
    for (const q of qualifiers(sql)) if (this.known.has(q)) group.databases.add(q);
    group.named ??= sql.replace(/\s+/g, ' ').slice(0, 200);
  }

  private checkCrossing(group: NonNullable<ReachTracker['group']>): void {
    const selected = new Set(this.databases?.selected ?? []);
    const touched = [...group.databases].sort();
    if (!touched.some((d) => selected.has(d)) || touched.every((d) => selected.has(d))) return;
    this.crossingCount++;
    if (this.crossings.length >= 20) return;
    this.crossings.push({
      binlogFile: this.plan.binlogs[group.start.file]?.name ?? '',
      position: group.start.position,
      databases: touched,
      ...(group.named ? { statement: group.named } : {}),
    });
  }

  /** Follows what an applied statement does to a scheduled event. */
  private eventStatement(database: string, sql: string): void {
    const change = eventChange(sql);
    if (!change) return;
    const key = (db: string | undefined, name: string): string => `${db ?? database}.${name}`;
    const was = this.eventStates.get(key(change.database, change.name));
    this.eventStates.delete(key(change.database, change.name));
    if (change.kind === 'drop') return;
    const to = change.renamed ?? { database: change.database, name: change.name };
    const state = change.state ?? was?.state;
    this.eventStates.set(key(to.database, to.name), { database: to.database ?? database, name: to.name, ...(state ? { state } : {}) });
  }

  /** The group being read is complete (what follows it is another group or a between event). */
  private closeGroup(complete: boolean): void {
    const group = this.group;
    this.group = undefined;
    if (!group || !complete) return;
    this.transactions++;
    this.events += group.events;
    this.applied = { end: { file: group.start.file, position: group.end }, time: group.lastTime };
    for (const statement of group.statements) this.eventStatement(statement.database, statement.sql);
    if (this.databases) this.checkCrossing(group);
    if (!group.gtid) return;
    const [mariadb] = /^\d+-\d+-\d+$/.test(group.gtid) ? parseMariadbGtids(group.gtid) : [];
    if (mariadb) this.mariadb.set(mariadb.domain, mariadb);
    else {
      // uuid:gno or, tagged (8.4+), uuid:tag:gno.
      const parts = group.gtid.split(':');
      const gno = Number(parts.pop());
      if (parts[0] && Number.isFinite(gno)) {
        this.mysqlSeen = true;
        this.mysql.add(parts[0], parts[1] ?? '', gno);
      }
    }
  }
}
