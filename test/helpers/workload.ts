import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { InstanceSnapshot } from '../../core/ports.js';
import { MysqlInstanceReader } from '../../drivers/mysql/compare.js';
import { connectTo, type Instance } from './servers.js';

/** A seeded generator (mulberry32): a drill that fails is replayed with the seed it prints. */
export interface Random {
  seed: number;
  /** In [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

export const seeded = (seed: number): Random => {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { seed, next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)] as T };
};

/** The seed of this run: `BINVAULT_DRILL_SEED` to replay one, else a new one. */
export const drillSeed = (): number => Number(process.env.BINVAULT_DRILL_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A quiet second of the source: nothing was written in it; its snapshot and GTID are the state at its end. */
export interface Checkpoint {
  /** `YYYY-MM-DDTHH:MM:SSZ`. */
  time: string;
  /** `@@gtid_binlog_pos` then. */
  gtid: string;
  snapshot: InstanceSnapshot;
}

export interface WorkloadOptions {
  /** Statements of the mix per round. @default 40 */
  statementsPerRound?: number;
  /** Rows a LOAD DATA brings. @default 50 */
  loadRows?: number;
  /** Bytes of each of the two columns of the one big row (the row is twice that, beyond 16 MiB). @default 9_000_000 */
  bigColumnBytes?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for a fresh second of the source in which nothing is written (the caller writes nothing
 * meanwhile), reads the source's snapshot and GTID position in it, and returns once that second is over.
 */
export const quietCheckpoint = async (source: Instance, admin: Connection): Promise<Checkpoint> => {
  const now = async (): Promise<{ second: string; ms: number }> => {
    const [[row]] = (await admin.query("SELECT DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%sZ') AS second, MICROSECOND(UTC_TIMESTAMP(3)) DIV 1000 AS ms")) as unknown as [RowDataPacket[]];
    return { second: String(row?.second), ms: Number(row?.ms) };
  };
  const before = await now();
  await sleep(1000 - before.ms + 20);
  const { second } = await now();
  const [[position]] = (await admin.query('SELECT @@gtid_binlog_pos AS gtid')) as unknown as [RowDataPacket[]];
  const snapshot = await new MysqlInstanceReader().snapshot({ id: 'source', kind: 'local', host: 'localhost', port: source.port, socket: source.socket, user: source.user, defaultsFile: source.defaultsFile });
  for (let later = await now(); later.second === second; later = await now()) await sleep(1000 - later.ms + 20);
  return { time: second, gtid: String(position?.gtid), snapshot };
};

/** Text an application stores: 4-byte UTF-8 (emoji, musical symbols), quotes, backslashes, CR LF. */
const TEXTS = ['plain', 'caf\u00e9', '\u{1F980} crab', '\u{1D11E} clef', "it's", 'back\\slash', 'cr\r\nlf', '\u{1F600}\u{1F680}', '\u4e2d\u6587'];

/** The application's schema, loaded before the first dump. */
const SCHEMA = [
  'CREATE DATABASE shop',
  'CREATE DATABASE crm',
  'CREATE TABLE shop.customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL, photo VARBINARY(255), visits INT NOT NULL DEFAULT 0)',
  'CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, amount INT NOT NULL, note VARCHAR(64) CHARACTER SET utf8mb4, settled INT NOT NULL DEFAULT 0, ' +
    'CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id) ON DELETE CASCADE)',
  // No key: the trigger's rows compare by CHECKSUM TABLE whatever their order.
  'CREATE TABLE shop.audit (order_id INT, amount INT, op VARCHAR(8))',
  'CREATE TABLE shop.ledger (customer_id INT, total BIGINT)',
  'CREATE TABLE shop.blobs (id INT PRIMARY KEY, a LONGBLOB, b LONGBLOB)',
  'CREATE TABLE shop.fired (what VARCHAR(32) PRIMARY KEY, at DATETIME)',
  'CREATE TABLE crm.contacts (customer_id INT PRIMARY KEY, email VARCHAR(64) CHARACTER SET utf8mb4, touched INT NOT NULL DEFAULT 0)',
  'CREATE TABLE crm.notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT CHARACTER SET utf8mb4)',
  "CREATE TRIGGER shop.orders_ai AFTER INSERT ON shop.orders FOR EACH ROW INSERT INTO shop.audit VALUES (NEW.id, NEW.amount, 'insert')",
  "CREATE TRIGGER shop.orders_au AFTER UPDATE ON shop.orders FOR EACH ROW INSERT INTO shop.audit VALUES (NEW.id, NEW.amount - OLD.amount, 'update')",
  'CREATE PROCEDURE shop.settle(IN k INT) BEGIN ' +
    'UPDATE shop.orders SET settled = settled + 1 WHERE id % 5 = k; ' +
    'INSERT INTO shop.ledger SELECT customer_id, SUM(amount) FROM shop.orders WHERE id % 5 = k GROUP BY customer_id; END',
  'CREATE VIEW shop.open_orders AS SELECT id, amount FROM shop.orders WHERE settled = 0',
  // Scheduled far ahead: its definition is restored, it never runs here.
  "CREATE EVENT shop.nightly ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01 00:00:00' DO DELETE FROM shop.ledger",
];

/**
 * An application-like workload on a throwaway source, deterministic for a seed: customers and
 * orders with foreign keys, a trigger per write, a stored procedure, binary and 4-byte UTF-8
 * values, a statement writing two databases, sessions with temporary tables (one kept across a
 * binlog rotation), DDL (ALTER, CREATE/DROP INDEX, RENAME), LOAD DATA, a row beyond 16 MiB and a
 * one-time scheduled event. Statements of several sessions interleave one at a time, so a seed
 * replays the same binlog order.
 */
export class Workload {
  private readonly sessions: Connection[] = [];
  private readonly options: Required<WorkloadOptions>;
  /** The DDL still to come, one taken at random per round. */
  private readonly ddl: Array<() => Promise<void>>;
  private notes = 'crm.notes';
  private indexed = false;
  private keeper: Connection | undefined;
  private nextFile = 0;

  public constructor(
    private readonly source: Instance,
    private readonly admin: Connection,
    private readonly random: Random,
    options: WorkloadOptions = {},
  ) {
    this.options = { statementsPerRound: 40, loadRows: 50, bigColumnBytes: 9_000_000, ...options };
    this.ddl = [
      () => this.admin.query("ALTER TABLE shop.orders ADD COLUMN channel VARCHAR(16) NOT NULL DEFAULT 'web'").then(() => undefined),
      async () => {
        await this.admin.query(this.indexed ? 'DROP INDEX orders_amount ON shop.orders' : 'CREATE INDEX orders_amount ON shop.orders (amount)');
        this.indexed = !this.indexed;
      },
      async () => {
        await this.admin.query('RENAME TABLE crm.notes TO crm.memos');
        this.notes = 'crm.memos';
      },
      () => this.bigRow(),
      () => this.loadData(),
      () => this.scheduledEvent(),
    ];
  }

  /** The schema and some rows: what the first dump holds. */
  public async prepare(): Promise<void> {
    for (const statement of SCHEMA) await this.admin.query(statement);
    for (let i = 0; i < 3; i++) this.sessions.push(await connectTo(this.source));
    for (let i = 0; i < 20; i++) await this.customer(this.admin);
  }

  /**
   * One round of the mix; the first round opens a session whose temporary table outlives the
   * binlog rotation that `rotate` asks for between rounds, and the next round uses and ends it.
   */
  public async round(): Promise<void> {
    if (this.keeper) {
      await this.keeper.query('INSERT INTO shop.orders (customer_id, amount, note) SELECT (SELECT MIN(id) FROM shop.customers), amount, note FROM shop.kept');
      await this.endSession(this.keeper);
      this.keeper = undefined;
    } else {
      this.keeper = await connectTo(this.source);
      await this.keeper.query('CREATE TEMPORARY TABLE shop.kept (amount INT, note VARCHAR(64) CHARACTER SET utf8mb4)');
      await this.keeper.query('INSERT INTO shop.kept VALUES (?, ?), (?, ?)', [this.random.int(1000), this.random.pick(TEXTS), this.random.int(1000), this.random.pick(TEXTS)]);
    }
    if (this.ddl.length > 0 && this.random.next() < 0.7) await this.ddl.splice(this.random.int(this.ddl.length), 1)[0]?.();
    for (let i = 0; i < this.options.statementsPerRound; i++) await this.statement(this.random.pick(this.sessions));
    // A session with a temporary table that ends now: the server logs its DROP TEMPORARY TABLE at the disconnect.
    const brief = await connectTo(this.source);
    await brief.query('CREATE TEMPORARY TABLE shop.batch (customer_id INT, amount INT)');
    await brief.query('INSERT INTO shop.batch SELECT id, ? FROM shop.customers WHERE id % 4 = ?', [this.random.int(100), this.random.int(4)]);
    await brief.query("INSERT INTO shop.orders (customer_id, amount, note) SELECT customer_id, amount, 'batch' FROM shop.batch ORDER BY customer_id");
    await this.endSession(brief);
  }

  /** The DDL and the one-off statements not taken by the rounds, so that every drill has them all. */
  public async finish(): Promise<void> {
    while (this.ddl.length > 0) await this.ddl.shift()?.();
    if (this.keeper) await this.round();
  }

  /** The disaster the first users had: a table dropped, every row of another deleted. */
  public async disaster(): Promise<void> {
    await this.admin.query('DROP TABLE shop.ledger');
    await this.admin.query('DELETE FROM crm.contacts');
  }

  public async close(): Promise<void> {
    for (const s of [...this.sessions, ...(this.keeper ? [this.keeper] : [])]) await s.end().catch(() => undefined);
  }

  /** A quiet second of the source now (see `quietCheckpoint`). */
  public checkpoint(): Promise<Checkpoint> {
    return quietCheckpoint(this.source, this.admin);
  }

  private async statement(session: Connection): Promise<void> {
    const r = this.random;
    switch (r.int(8)) {
      case 0:
        return this.customer(session);
      case 1:
      case 2:
        await session.query('INSERT INTO shop.orders (customer_id, amount, note) SELECT id, ?, ? FROM shop.customers WHERE id % 7 = ? ORDER BY id', [r.int(1000), r.pick(TEXTS), r.int(7)]);
        return;
      case 3:
        await session.query('UPDATE shop.orders SET amount = amount + ? WHERE id % 9 = ?', [1 + r.int(20), r.int(9)]);
        return;
      case 4:
        await session.query('CALL shop.settle(?)', [r.int(5)]);
        return;
      case 5:
        // One statement, two databases.
        await session.query('UPDATE shop.customers c JOIN crm.contacts k ON k.customer_id = c.id SET c.visits = c.visits + 1, k.touched = k.touched + 1 WHERE c.id % 3 = ?', [r.int(3)]);
        return;
      case 6:
        await session.query(`INSERT INTO ${this.notes} (body) VALUES (?)`, [`${r.pick(TEXTS)} ${r.int(1e6)}`]);
        return;
      default:
        // Deleting a customer deletes its orders (ON DELETE CASCADE).
        await session.query('DELETE FROM shop.customers WHERE id = (SELECT id FROM (SELECT MIN(id) + ? AS id FROM shop.customers) x)', [r.int(5)]);
    }
  }

  private async customer(session: Connection): Promise<void> {
    const photo = Buffer.from(Array.from({ length: 16 + this.random.int(48) }, () => this.random.int(256)));
    const [result] = (await session.query('INSERT INTO shop.customers (name, photo) VALUES (?, ?)', [this.random.pick(TEXTS), photo])) as unknown as [{ insertId: number }];
    await session.query('INSERT INTO crm.contacts (customer_id, email) VALUES (?, ?)', [result.insertId, `c${result.insertId}@example.com`]);
  }

  /** Ends a session and waits until the server has seen it go (its DROP TEMPORARY TABLE is logged by then). */
  private async endSession(session: Connection): Promise<void> {
    const id = session.threadId;
    await session.end();
    for (let i = 0; i < 100; i++) {
      const [[row]] = (await this.admin.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [id])) as unknown as [RowDataPacket[]];
      if (Number(row?.n) === 0) return;
      await sleep(20);
    }
    throw new Error(`session ${id} did not end`);
  }

  private async bigRow(): Promise<void> {
    // Two columns under the source's packet limit, one row beyond 16 MiB: its row event too.
    const n = this.options.bigColumnBytes;
    await this.admin.query('INSERT INTO shop.blobs VALUES (1, REPEAT(?, ?), REPEAT(?, ?))', ['a', n, 'b', n]);
  }

  private async loadData(): Promise<void> {
    const file = join(this.source.baseDir, `load-${this.nextFile++}.tsv`);
    const rows = Array.from({ length: this.options.loadRows }, (_, i) => `${i + 1}\t${this.random.int(1000)}\t${this.random.pick(TEXTS).replace(/[\\\t\r\n]/g, '_')}\n`);
    await writeFile(file, rows.join(''));
    await this.admin.query(`LOAD DATA INFILE ? INTO TABLE shop.orders CHARACTER SET utf8mb4 (@k, amount, note) SET customer_id = (SELECT MIN(id) FROM shop.customers)`, [file]);
  }

  /** A one-time event that runs at once and is kept (disabled) once done: the source's scheduler runs it. */
  private async scheduledEvent(): Promise<void> {
    await this.admin.query(
      "CREATE EVENT shop.once ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 SECOND ON COMPLETION PRESERVE DO INSERT INTO shop.fired VALUES ('once', NOW())",
    );
    for (let i = 0; i < 100; i++) {
      const [[row]] = (await this.admin.query("SELECT STATUS AS status FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop' AND EVENT_NAME = 'once'")) as unknown as [RowDataPacket[]];
      if (String(row?.status) === 'DISABLED') return;
      await sleep(100);
    }
    throw new Error('the event shop.once did not run (is the source event scheduler on?)');
  }
}
