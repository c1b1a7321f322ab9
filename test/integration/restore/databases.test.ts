import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOptionFile } from '../../../drivers/mysql/option-file.js';
import { expectExit, runCli } from '../../helpers/cli.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';

interface Report {
  instance: { socket: string; user: string; defaultsFile: string; dataDir: string };
  verification: { ok: boolean };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A restore of selected databases: their part of the dump and their changes only, exactly; a
 * transaction that touches a selected database and another one too is refused before anything is
 * provisioned, with its position and databases.
 */
describe('restore --databases', () => {
  let scenario: Scenario;
  let admin: Connection;
  const started: Report[] = [];
  const at: Record<string, { time: string; sums: Record<string, string> }> = {};
  const TABLES = ['shop.orders', 'shop.items', 'billing.invoices'];

  const sums = async (db: Connection, tables: string[]): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const t of tables) out[t] = String(((await db.query<RowDataPacket[]>(`CHECKSUM TABLE ${t}`))[0] as RowDataPacket[])[0]?.Checksum);
    return out;
  };
  const checkpoint = async (name: string): Promise<void> => {
    await sleep(1100);
    const [[now]] = (await admin.query("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ') AS t")) as unknown as [RowDataPacket[]];
    at[name] = { time: String(now?.t), sums: await sums(admin, TABLES) };
    await sleep(1100);
  };
  const ship = async (what: string): Promise<void> => {
    expectExit(await runCli(['ship', what], scenario.env), 0);
    await scenario.runtime.idle();
  };
  /** A restore with --json: the report on stdout; on stderr its progress (JSON lines), kept apart, and the rest. */
  const restore = async (...args: string[]) => {
    const result = await runCli(['restore', ...args, '--json'], scenario.env, { timeoutMs: 180_000 });
    if (result.code === 0) started.push(JSON.parse(result.stdout) as Report);
    const stderr = result.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{"type":"progress"')).map((l) => `${l}\n`).join('');
    return { ...result, stderr };
  };
  const connect = async (report: Report): Promise<Connection> => {
    const o = await readOptionFile(report.instance.defaultsFile);
    return createConnection({ socketPath: report.instance.socket, user: report.instance.user, ...(o.password ? { password: o.password } : {}), multipleStatements: true });
  };
  const databasesOf = async (db: Connection): Promise<string[]> =>
    ((await db.query<RowDataPacket[]>("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop','billing','other') ORDER BY 1"))[0] as RowDataPacket[]).map((r) => String(r.s));

  beforeAll(async () => {
    scenario = await startScenario({ server: { binlogFormat: 'MIXED' } });
    admin = scenario.admin;
    await admin.query(
      'CREATE DATABASE shop; CREATE DATABASE billing; CREATE DATABASE other; ' +
        'CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, amount INT); CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20)); ' +
        'CREATE TABLE billing.invoices (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT); CREATE TABLE other.log (id INT AUTO_INCREMENT PRIMARY KEY, v INT); ' +
        'INSERT INTO shop.orders (amount) VALUES (1), (2); INSERT INTO billing.invoices (order_id) VALUES (1); INSERT INTO other.log (v) VALUES (1)',
    );
    await sleep(1100);
    await ship('dump');
    // Each database written on its own, in both formats.
    await admin.query("SET SESSION binlog_format = 'STATEMENT'; INSERT INTO shop.orders (amount) VALUES (3); USE other; INSERT INTO log (v) VALUES (2); USE shop; INSERT INTO items VALUES (1, 'pen')");
    await admin.query("SET SESSION binlog_format = 'ROW'; INSERT INTO billing.invoices (order_id) VALUES (2); UPDATE shop.orders SET amount = amount + 10 WHERE id = 1");
    await ship('binlogs');
    await checkpoint('separate');
    // A statement that writes one database from another's rows: in STATEMENT, and a ROW transaction over two.
    await admin.query("SET SESSION binlog_format = 'STATEMENT'; USE shop; INSERT INTO billing.invoices (order_id) SELECT id FROM orders WHERE amount > 10");
    await admin.query("SET SESSION binlog_format = 'ROW'; BEGIN; INSERT INTO shop.orders (amount) VALUES (99); INSERT INTO other.log (v) VALUES (99); COMMIT");
    await checkpoint('crossed');
    await ship('binlogs');
  }, 180_000);

  afterAll(async () => {
    for (const report of started) {
      const pid = Number(await readFile(join(report.instance.dataDir, '..', 'mysqld.pid'), 'utf8').catch(() => '0'));
      if (pid > 0) process.kill(pid, 'SIGTERM');
    }
    await sleep(500);
    await scenario.close();
  });

  it('restores one database: its tables equal the source’s at T, the others are not there', async () => {
    const result = await restore('--to', at.separate?.time ?? '', '--databases', 'shop');
    expect(result.stderr.trim()).toBe('');
    expectExit(result, 0);
    const db = await connect(started.at(-1) as Report);
    expect(await databasesOf(db)).toEqual(['shop']);
    const want = at.separate?.sums ?? {};
    expect(await sums(db, ['shop.orders', 'shop.items'])).toEqual({ 'shop.orders': want['shop.orders'], 'shop.items': want['shop.items'] });
    await db.end();
  });

  it('refuses, before anything is provisioned, a target past a transaction that touches a selected database and another', async () => {
    const restoresDir = join(scenario.env.BINVAULT_STATE_DIR ?? '', 'restores');
    const before = await readdir(restoresDir).catch(() => []);

    const result = await restore('--to', at.crossed?.time ?? '', '--databases', 'shop');

    expectExit(result, 1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/restoring only shop would replay part of a transaction: at binlog\.\d+:\d+ one touches billing and shop \(INSERT INTO billing\.invoices .*\), and 1 more; restore billing, shop together, or the whole server/);
    expect(await readdir(restoresDir).catch(() => [])).toEqual(before);
  });

  it('restores the databases a crossing transaction touches, together', async () => {
    const result = await restore('--to', at.crossed?.time ?? '', '--databases', 'shop,billing,other');
    expectExit(result, 0);
    const db = await connect(started.at(-1) as Report);
    expect(await databasesOf(db)).toEqual(['billing', 'other', 'shop']);
    expect(await sums(db, TABLES)).toEqual(at.crossed?.sums);
    await db.end();
  });

  it('refuses a database the dump does not hold, naming those it does', async () => {
    const result = await restore('--latest', '--databases', 'shop,nosuch', '--dry-run');
    expectExit(result, 1);
    expect(result.stderr).toMatch(/holds no database 'nosuch' \(it holds .*billing.*shop/);
  });
});
