/**
 * Splits a mysqldump / mariadb-dump stream into what must run in order in one session and what can
 * run beside it: each table's rows (`-- Dumping data for table` … `UNLOCK TABLES;`). A restore runs
 * the ordered part in a main session and the rows in parallel sessions; the result is the same as
 * loading the file in one session because
 *
 * - rows are dispatched only once the main session has run everything before them (the table exists);
 * - the rows' sessions start with the dump's own session settings (character set, time zone, SQL
 *   mode, unique and foreign key checks off), taken from its header, and the table's `USE`;
 * - a table's triggers, which mysqldump writes right after its rows so that loading them fires
 *   nothing, are held back and run after every table's rows are in;
 * - anything else a dump may write between a table's rows and the next section waits for those
 *   rows first;
 * - the `mysql` database's rows stay in the main session (its routines and events are rows there).
 *
 * A dump without the section comments (`--skip-comments`), or without `USE` (a single database
 * dumped without `--databases`: the rows' sessions would not know where), is all ordered part.
 * Lines are classified from their start only; an INSERT of any length passes through as slices.
 *
 * @example
 * const split = new DumpSplitter();
 * for await (const chunk of gunzipped) for (const piece of split.push(chunk)) route(piece);
 * for (const piece of split.end()) route(piece);
 */
export type DumpPiece =
  /** Run in the main session, in order. */
  | { kind: 'main'; sql: Buffer }
  /** The rows of a table begin; they may start once the main session has run everything before. */
  | { kind: 'table'; id: number; database: string; table: string; use: Buffer }
  /** Part of a table's rows, whole lines. */
  | { kind: 'rows'; id: number; sql: Buffer }
  | { kind: 'rows-end'; id: number }
  /** The main session must not go on before this table's rows are in. */
  | { kind: 'wait'; id: number }
  /** Run after every table's rows are in (a table's triggers), in the main session, after that table's `USE`. */
  | { kind: 'deferred'; id: number; sql: Buffer };

type State = 'header' | 'main' | 'rows-pending' | 'rows' | 'after-rows' | 'deferring';

const SECTION = /^-- (Table structure|Temporary (view|table) structure|Current Database|Dumping (data|events|routines)|Final view structure)/;
const DATA = /^-- Dumping data for table `((?:[^`]|``)*)`/;
const USE = /^USE `((?:[^`]|``)*)`;/;
/** Lines of a table's rows: the lock, the key switches, the rows, the commits. */
const ROWS = /^(INSERT |REPLACE |\/\*!40000 ALTER TABLE |UNLOCK TABLES;|LOCK TABLES |commit;|set autocommit=0;|$)/i;
const BEFORE_ROWS = /^(--|LOCK TABLES |\/\*!40000 ALTER TABLE |set autocommit=0;|$)/i;
const ROW = /^(INSERT|REPLACE) /i;
/** How mysqldump starts a table's triggers (and the database collation switch it may put around them). */
const TRIGGERS = /^(\/\*!50003 SET |\/\*!50032 DROP TRIGGER|\/\*!50003 CREATE\*\/|DELIMITER ;;|ALTER DATABASE )/;
/** Session settings of the header that the rows' sessions need too; never a GLOBAL one. */
const SESSION_SETTING = /^(\/\*!\d+ SET |SET )/i;

const unquote = (quoted: string): string => quoted.replace(/``/g, '`');

/**
 * The server's own tables stay in order: the later CREATE PROCEDURE / EVENT statements of the dump
 * write to `mysql.proc` and `mysql.event` rows that a parallel session would be inserting meanwhile.
 */
const SYSTEM = new Set(['mysql', 'sys']);

/**
 * From `start`, the end of the first whole line that ends a statement (`ended`), or of the last whole
 * line in the chunk. A dump never holds a raw line break inside a string, so a `;` at a line's end
 * ends its statement.
 */
const statementEnd = (chunk: Buffer, start: number): { end: number; ended: boolean } => {
  let line = start;
  for (;;) {
    const nl = chunk.indexOf(10, line);
    if (nl < 0) return { end: line, ended: false };
    let i = nl - 1;
    while (i >= line && (chunk[i] === 13 || chunk[i] === 32 || chunk[i] === 9)) i--;
    const ended = i >= line && chunk[i] === 59;
    line = nl + 1;
    if (ended) return { end: line, ended: true };
  }
};

/** Whether a line ends its statement: `;` before the line end and any blanks. */
const endsStatement = (line: Buffer): boolean => {
  let i = line.length - 1;
  while (i >= 0 && (line[i] === 10 || line[i] === 13 || line[i] === 32 || line[i] === 9)) i--;
  return i >= 0 && line[i] === 59;
};

export class DumpSplitter {
  private state: State = 'header';
  private readonly preambleLines: Buffer[] = [];
  private carry: Buffer[] = [];
  private use: Buffer | undefined;
  private database: string | undefined;
  private nextId = 1;
  private table: { id: number; name: string; lines: Buffer[] } | undefined;
  private lastId = 0;
  /** Inside `DELIMITER ;;`: no line is a section start there. */
  private delimited = false;
  /** The previous row line did not end its statement. */
  private continued = false;
  private held: Buffer[] = [];
  private out: DumpPiece[] = [];
  private batch: { kind: 'main' | 'rows' | 'deferred'; id: number; parts: Buffer[] } | undefined;

  /** The header's session settings, for each parallel session to run first. */
  public get preamble(): Buffer {
    return Buffer.concat(this.preambleLines);
  }

  public push(chunk: Buffer): DumpPiece[] {
    let start = 0;
    for (;;) {
      if (this.state === 'rows' && this.continued && this.carry.length === 0) {
        // Inside a statement of rows (mariadb-dump writes a row per line): whole lines pass as one
        // slice until the one that ends it, without a look at each.
        const { end, ended } = statementEnd(chunk, start);
        if (end > start) this.emit('rows', this.lastId, chunk.subarray(start, end));
        start = end;
        if (ended) {
          this.continued = false;
          continue;
        }
      }
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        if (start < chunk.length) this.carry.push(chunk.subarray(start));
        break;
      }
      let line = chunk.subarray(start, nl + 1);
      if (this.carry.length > 0) {
        line = Buffer.concat([...this.carry, line]);
        this.carry = [];
      }
      this.line(line);
      start = nl + 1;
    }
    return this.take();
  }

  public end(): DumpPiece[] {
    if (this.carry.length > 0) {
      this.line(Buffer.concat(this.carry));
      this.carry = [];
    }
    if (this.state === 'rows-pending') this.release();
    if (this.state === 'rows') this.endRows();
    if (this.state === 'after-rows') this.flushHeld('main');
    this.state = 'main';
    return this.take();
  }

  private take(): DumpPiece[] {
    this.flush();
    const out = this.out;
    this.out = [];
    return out;
  }

  private line(line: Buffer): void {
    const text = line.toString('latin1', 0, Math.min(line.length, 200)).replace(/\r?\n$/, '').replace(/\r$/, '');
    if (this.state === 'rows-pending') {
      if (ROW.test(text) && this.use && !SYSTEM.has(this.database ?? '')) {
        this.startRows();
        this.state = 'rows';
      } else if (BEFORE_ROWS.test(text) && !DATA.test(text)) {
        this.table?.lines.push(line);
        return;
      } else {
        this.release();
      }
    }
    if (this.state === 'rows') {
      if (this.continued || ROWS.test(text)) {
        // One statement per line is how the tools write rows; a statement that goes on is followed.
        this.continued = (this.continued || ROW.test(text)) && !endsStatement(line);
        this.emit('rows', this.lastId, line);
        return;
      }
      this.endRows();
    }
    if (this.state === 'after-rows') {
      if (text === '' || text.startsWith('--') && !SECTION.test(text)) {
        this.held.push(line);
        return;
      }
      if (!SECTION.test(text) && TRIGGERS.test(text)) {
        this.state = 'deferring';
        this.flushHeld('deferred');
      } else {
        if (!SECTION.test(text)) {
          this.flush();
          this.out.push({ kind: 'wait', id: this.lastId });
        }
        this.flushHeld('main');
        this.state = 'main';
      }
    }
    if (this.state === 'deferring') {
      if (this.delimited || !SECTION.test(text)) {
        this.track(text);
        this.emit('deferred', this.lastId, line);
        return;
      }
      this.state = 'main';
    }
    this.ordered(line, text);
  }

  /** A line of the ordered part; it may begin a table's rows. */
  private ordered(line: Buffer, text: string): void {
    this.track(text);
    if (!this.delimited) {
      const data = DATA.exec(text);
      if (data) {
        this.state = 'rows-pending';
        this.table = { id: this.nextId++, name: unquote(line.toString('utf8').match(DATA)?.[1] ?? data[1] ?? ''), lines: [line] };
        return;
      }
      if (this.state === 'header') {
        if (SECTION.test(text) || USE.test(text) || /^CREATE DATABASE/i.test(text)) this.state = 'main';
        else if (SESSION_SETTING.test(text) && !/GLOBAL/i.test(text)) this.preambleLines.push(Buffer.from(line));
      }
      if (USE.test(text)) {
        this.use = Buffer.from(line);
        this.database = unquote(line.toString('utf8').match(USE)?.[1] ?? '');
      }
    }
    this.emit('main', 0, line);
  }

  private track(text: string): void {
    if (/^DELIMITER /i.test(text)) this.delimited = text.trim() !== 'DELIMITER ;';
  }

  /** The lines held since a table's data comment had no rows after all: they run in order. */
  private release(): void {
    const table = this.table;
    this.table = undefined;
    this.state = 'main';
    for (const held of table?.lines ?? []) this.emit('main', 0, held);
  }

  private startRows(): void {
    const table = this.table;
    if (!table) return;
    this.table = undefined;
    this.lastId = table.id;
    this.flush();
    this.out.push({
      kind: 'table',
      id: table.id,
      table: table.name,
      database: this.database ?? '',
      use: this.use ?? Buffer.alloc(0),
    });
    for (const held of table.lines) this.emit('rows', table.id, held);
    this.continued = false;
  }

  private endRows(): void {
    this.flush();
    this.out.push({ kind: 'rows-end', id: this.lastId });
    this.state = 'after-rows';
    this.held = [];
  }

  private flushHeld(kind: 'main' | 'deferred'): void {
    for (const held of this.held) this.emit(kind, kind === 'main' ? 0 : this.lastId, held);
    this.held = [];
  }

  private emit(kind: 'main' | 'rows' | 'deferred', id: number, line: Buffer): void {
    if (this.batch && (this.batch.kind !== kind || this.batch.id !== id)) this.flush();
    this.batch ??= { kind, id, parts: [] };
    this.batch.parts.push(line);
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = undefined;
    if (!batch || batch.parts.length === 0) return;
    const sql = batch.parts.length === 1 ? (batch.parts[0] as Buffer) : Buffer.concat(batch.parts);
    if (batch.kind === 'main') this.out.push({ kind: 'main', sql });
    else this.out.push({ kind: batch.kind, id: batch.id, sql });
  }
}
