import { loadState, saveState } from '../snapshot.js';

/**
 * A one-pass scan of a mysqldump / mariadb-dump stream: the header (tool, server version), the
 * binlog coordinates and GTID state it is consistent with, the databases it holds, and the
 * "Dump completed" trailer that only a dump that ran to the end writes. Lines are read from their
 * start only, so memory stays small whatever the length of an INSERT.
 */
export interface DumpFacts {
  tool?: 'mysqldump' | 'mariadb-dump';
  toolVersion?: string;
  serverVersion?: string;
  headerDatabase?: string;
  databases: string[];
  binlogFile?: string;
  binlogPosition?: number;
  coordinatesCommented?: boolean;
  /** MySQL GTID_PURGED set or MariaDB gtid_slave_pos, whitespace removed. */
  gtids?: string;
  gtidsCommented?: boolean;
  complete: boolean;
  completedAt?: string;
  lastLine?: string;
  problems: string[];
}

/** Longest line prefix kept: enough for every header and comment line. */
const KEEP = 64 * 1024;

/**
 * 1 for the first bytes of the lines read (`-`, `/`, `C`, `S`, `U`); 2 for CR, whose line may be
 * empty (not counted); a line that starts with any other byte is only counted.
 */
const LINE_STARTS = new Uint8Array(256);
for (const c of '-/CSU') LINE_STARTS[c.charCodeAt(0)] = 1;
LINE_STARTS[13] = 2;

const unquoteName = (quoted: string): string => quoted.replace(/``/g, '`');

export class DumpVerifier {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private lines = 0;
  private gtidOpen: { text: string; commented: boolean } | undefined;
  private readonly seen = new Set<string>();
  private readonly uses: string[] = [];
  private readonly facts: DumpFacts = { databases: [], complete: false, problems: [] };

  /** Its state part way through a dump, for a verify that goes on in another invocation (see core/snapshot.ts). */
  public save(): Buffer {
    return saveState(this);
  }

  /** A verifier that goes on from a state {@link save} returned. */
  public static load(state: Uint8Array): DumpVerifier {
    return loadState(new DumpVerifier(), state);
  }

  public update(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        this.hold(chunk.subarray(start));
        return;
      }
      if (this.carryBytes > 0) {
        this.hold(chunk.subarray(start, nl));
        this.line(Buffer.concat(this.carry));
        this.carry = [];
        this.carryBytes = 0;
      } else if (nl > start && !this.gtidOpen && !LINE_STARTS[chunk[start] as number]) {
        // The bulk (a row of an INSERT, one per line in mariadb-dump's output): counted, not looked
        // into. Taking each such line apart first cost a third of a second per 800 MB of dump.
        this.lines++;
        this.facts.lastLine = '';
      } else {
        this.line(chunk.subarray(start, Math.min(nl, start + KEEP)));
      }
      start = nl + 1;
    }
  }

  private hold(part: Buffer): void {
    const room = KEEP - this.carryBytes;
    if (room <= 0 || part.length === 0) return;
    const kept = Buffer.from(part.subarray(0, room));
    this.carry.push(kept);
    this.carryBytes += kept.length;
  }

  private line(raw: Buffer): void {
    let end = raw.length;
    if (end > 0 && raw[end - 1] === 13) end--;
    if (end === 0) return;
    this.lines++;
    // Only comment, SET, USE and CHANGE lines matter; INSERTs (the bulk) are skipped unread.
    const interesting = LINE_STARTS[raw[0] as number] === 1 || this.gtidOpen;
    const text = interesting ? raw.subarray(0, end).toString('utf8') : '';
    this.facts.lastLine = interesting ? text : '';
    if (!interesting) return;
    const f = this.facts;

    if (this.gtidOpen) {
      this.gtidOpen.text += text;
      this.closeGtid();
      return;
    }
    let m: RegExpExecArray | null;
    // `-- MySQL dump 10.13  Distrib 8.0.35, for Linux (x86_64)`, `-- MariaDB dump 10.19-11.4.13-MariaDB, for …`,
    // or a MySQL 5.0 client's bare `-- MySQL dump 10.11`, which names no distribution.
    if (this.lines <= 3 && (m = /^-- (MySQL|MariaDB) dump (\d+\.\d+)(?:(?:-([^,\s]+))?,?\s+(?:Distrib ([^,]+), )?for .*|\s*)$/.exec(text))) {
      const version = m[4] ?? m[3];
      f.tool = /mariadb/i.test(`${m[1]} ${version ?? ''}`) ? 'mariadb-dump' : 'mysqldump';
      if (version) f.toolVersion = version;
    } else if ((m = /^-- Host: .*?\s+Database: (.*)$/.exec(text))) {
      f.headerDatabase = m[1]?.trim() ?? '';
    } else if ((m = /^-- Server version\s+(.+)$/.exec(text))) {
      f.serverVersion = m[1]?.trim();
    } else if (
      f.binlogFile === undefined &&
      (m = /^(-- )?CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([^']+)',\s*(?:MASTER|SOURCE)_LOG_POS=(\d+)/.exec(text))
    ) {
      f.binlogFile = m[2];
      f.binlogPosition = Number(m[3]);
      f.coordinatesCommented = m[1] !== undefined;
    } else if ((m = /^(-- |\/\* ?)?SET @@GLOBAL\.GTID_PURGED\s*=\s*(?:\/\*!80000 '\+'\*\/ )?'(.*)$/.exec(text))) {
      this.gtidOpen = { text: m[2] ?? '', commented: m[1] !== undefined };
      this.closeGtid();
    } else if ((m = /^(-- )?SET GLOBAL gtid_slave_pos\s*=\s*'([^']*)'/.exec(text))) {
      f.gtids = (m[2] ?? '').replace(/\s+/g, '');
      f.gtidsCommented = m[1] !== undefined;
    } else if ((m = /^-- Current Database: `((?:[^`]|``)+)`/.exec(text))) {
      this.addDatabase(unquoteName(m[1] ?? ''));
    } else if ((m = /^USE `((?:[^`]|``)+)`;/.exec(text))) {
      this.uses.push(unquoteName(m[1] ?? ''));
    }
  }

  /** A MySQL 5.6/5.7 GTID_PURGED set may span lines: it ends at the closing quote. */
  private closeGtid(): void {
    const open = this.gtidOpen;
    if (!open) return;
    const quote = open.text.indexOf("'");
    if (quote < 0) return;
    this.facts.gtids = open.text.slice(0, quote).replace(/\s+/g, '');
    this.facts.gtidsCommented = open.commented;
    this.gtidOpen = undefined;
  }

  private addDatabase(name: string): void {
    if (this.seen.has(name)) return;
    this.seen.add(name);
    this.facts.databases.push(name);
  }

  /** What the lines read so far tell (the header's coordinates early on); final only after {@link finish}. */
  public peek(): Readonly<DumpFacts> {
    return this.facts;
  }

  public finish(): DumpFacts {
    if (this.carryBytes > 0) this.line(Buffer.concat(this.carry));
    const f = this.facts;
    if (f.databases.length === 0) for (const name of this.uses) this.addDatabase(name);
    const trailer = /^-- Dump completed(?: on (.+))?$/.exec(f.lastLine ?? '');
    f.complete = trailer !== null;
    if (trailer?.[1]) f.completedAt = trailer[1];
    if (f.tool === undefined) f.problems.push('not a dump: no "-- MySQL dump" or "-- MariaDB dump" header');
    else if (!f.complete) f.problems.push('the dump has no "-- Dump completed" trailer: it was cut short');
    return f;
  }
}
