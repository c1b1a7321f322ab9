import { readdir, readFile, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillRecord } from '../../../core/restore/drill.js';
import { expectExit, runCli } from '../../helpers/cli.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';
import { connectTo } from '../../helpers/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `binvault drill`: the earlier dump and the binlogs up to the later dump's coordinates restored,
 * the later dump loaded beside it, and the two compared table by table and definition by definition.
 */
describe('binvault drill on a real server and the local runtime', () => {
  let s: Scenario;

  const ship = async (what: 'dump' | 'binlogs'): Promise<void> => {
    expectExit(await runCli(['ship', what], s.env), 0);
    await s.runtime.idle();
  };
  const drill = async (...args: string[]) => runCli(['drill', '--json', ...args], s.env, { timeoutMs: 240_000 });
  const recordOf = (stdout: string): DrillRecord => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as DrillRecord;

  /** An application's day in STATEMENT format: sessions with temporary tables, a procedure, a trigger, a table without a key. */
  const workload = async (round: number): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      const session = await connectTo(s.server);
      await session.query(
        `USE shop; CREATE TEMPORARY TABLE tmp_batch (id INT, amount INT); INSERT INTO tmp_batch VALUES (${round * 10 + i}, ${round + i}), (${round * 10 + i + 100}, 7); ` +
          'INSERT INTO shop.orders (amount) SELECT amount FROM tmp_batch; CALL shop.bump(1); INSERT INTO shop.log (message) VALUES (CONCAT(\'round \', @@server_id))',
      );
      // The session ends with its temporary table: the server logs DROP TEMPORARY TABLE IF EXISTS.
      await session.end();
    }
    await s.admin.query('UPDATE shop.orders SET amount = amount + 1 WHERE id % 3 = 0; DELETE FROM shop.log WHERE id % 5 = 0');
  };

  beforeAll(async () => {
    s = await startScenario({ server: { binlogFormat: 'STATEMENT' } });
    await s.admin.query(
      'CREATE DATABASE shop; ' +
        'CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, amount INT, touched INT DEFAULT 0); ' +
        'CREATE TABLE shop.log (id INT AUTO_INCREMENT, message VARCHAR(40), KEY (id)); ' +
        'CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT); ' +
        'CREATE TRIGGER shop.orders_audit AFTER INSERT ON shop.orders FOR EACH ROW INSERT INTO shop.audit (order_id) VALUES (NEW.id); ' +
        'CREATE PROCEDURE shop.bump(IN n INT) UPDATE shop.orders SET touched = touched + n WHERE id % 2 = 0; ' +
        'CREATE VIEW shop.big AS SELECT id, amount FROM shop.orders WHERE amount > 5; ' +
        'INSERT INTO shop.orders (amount) VALUES (1), (2), (3)',
    );
    await sleep(1100);
    await ship('dump');
  }, 120_000);
  afterAll(async () => {
    await s.close();
  });

  it('skips a host with one dump (a drill needs two): one line, exit 0, no record, no alert — the weekly timer of a new host is not a failed unit', async () => {
    const json = await drill();
    const text = await runCli(['drill'], s.env, { timeoutMs: 240_000 });

    expectExit(json, 0);
    expect(json.stdout.trim().split('\n')).toEqual([JSON.stringify({ result: 'skipped', host: 'db1', message: 'skipped: a drill needs two verified dumps of db1; it has 1' })]);
    expectExit(text, 0);
    expect(text.stdout).toBe('drill skipped: a drill needs two verified dumps of db1; it has 1\n');
    expect(text.stderr).toBe('');
    expect((await s.store.list('mysql/db1/drills/')).keys).toEqual([]);
    expect(await readFile(join(s.stateDir, 'shipper', 'alerts.jsonl'), 'utf8').catch(() => '')).not.toContain('drill-failed');
  });

  it('any other refusal still exits 1 with one line: a host the bucket does not hold, a window no dump is named', async () => {
    const result = await drill('--host', 'db2');

    expectExit(result, 1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n').filter((l) => !l.startsWith('{"type":"progress"'))).toEqual([expect.stringMatching(/^binvault: no catalog for host 'db2'/)]);

    const misnamed = await drill('--window', 'db1-20200101T000000Z.sql.gz');
    expectExit(misnamed, 1);
    expect(misnamed.stdout).toBe('');
    expect(misnamed.stderr.trim().split('\n').filter((l) => !l.startsWith('{"type":"progress"'))).toEqual(["binvault: no dump of db1 is named 'db1-20200101T000000Z.sql.gz'"]);
  });

  it('proves the window between two dumps: every table, routine, trigger and view equal, the record written, both instances removed', async () => {
    await workload(1);
    await s.admin.query('FLUSH BINARY LOGS');
    await workload(2);
    await sleep(1100);
    await ship('dump');
    await workload(3);
    await ship('binlogs');

    const result = await drill();

    expectExit(result, 0);
    const record = recordOf(result.stdout);
    expect(record).toMatchObject({ kind: 'drill', host: 'db1', result: 'proven', differences: [] });
    expect(record.tables).toBe(3);
    expect(record.definitions).toBe(3);
    expect(record.withoutPrimaryKey).toEqual(['shop.log']);
    expect(record.binlogs.length).toBeGreaterThanOrEqual(2);
    expect(record.gtids?.reached).toBe(record.gtids?.laterDump);
    const keys = (await s.store.list('mysql/db1/drills/')).keys.map((k) => k.key);
    expect(keys).toEqual([expect.stringMatching(new RegExp(`^mysql/db1/drills/\\d{4}-\\d{2}-\\d{2}/${record.execution}\\.json$`))]);
    const instances = await readdir(join(s.stateDir, 'shipper', 'restores')).catch(() => []);
    expect(instances.filter((d) => d.startsWith(record.execution))).toEqual([]);
    const status = JSON.parse((await runCli(['status', '--json'], s.env)).stdout) as { hosts: { lastDrill?: unknown }[] };
    expect(status.hosts[0]?.lastDrill).toEqual({ result: 'proven', window: record.window, finishedAt: record.finishedAt, execution: record.execution });
  });

  it('a change the binlogs never saw (sql_log_bin=0) fails the drill, naming the table, with a drill-failed alert', async () => {
    await s.admin.query('SET SESSION sql_log_bin = 0; UPDATE shop.orders SET amount = 999 WHERE id = 2; SET SESSION sql_log_bin = 1');
    await workload(4);
    await sleep(1100);
    await ship('dump');
    await workload(5);
    await ship('binlogs');

    const result = await drill();

    expectExit(result, 1);
    const record = recordOf(result.stdout);
    expect(record.result).toBe('failed');
    expect(record.differences).toEqual([expect.objectContaining({ kind: 'table', name: 'shop.orders', message: expect.stringMatching(/^shop\.orders differs: /) })]);
    const alerts = (await readFile(join(s.stateDir, 'shipper', 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; message: string; state: string });
    expect(alerts.filter((a) => a.type === 'drill-failed')).toEqual([expect.objectContaining({ state: 'started', severity: 'critical', message: expect.stringContaining('shop.orders differs') })]);
    expect((await runCli(['status'], s.env)).stdout).toMatch(/ {2}last drill {3}window \S+ → \S+: FAILED \(shop\.orders differs: /);
  });

  it('the earlier window can be drilled again by naming its later dump, and is still proven', async () => {
    const dumps = (await s.store.list('mysql/db1/dumps/')).keys.map((k) => k.key.split('/').pop() ?? '').sort();

    const result = await drill('--window', dumps[1] ?? '');

    expectExit(result, 0);
    expect(recordOf(result.stdout)).toMatchObject({ result: 'proven', differences: [] });
    expect(recordOf(result.stdout).dumps.to.endsWith(dumps[1] ?? '?')).toBe(true);
    // A drill that proves its window clears the failure announced before.
    const alerts = (await readFile(join(s.stateDir, 'shipper', 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; state: string });
    expect(alerts.filter((a) => a.type === 'drill-failed').map((a) => a.state)).toEqual(['started', 'cleared']);
  });

  it('a binlog altered before it was shipped (sealed and verified as read, as a buggy or malicious writer would leave it) fails the drill, naming the table', async () => {
    await workload(6);
    await sleep(1100);
    await ship('dump');
    await s.admin.query('FLUSH BINARY LOGS');
    await s.admin.query('UPDATE shop.orders SET amount = amount + 11 WHERE id = 1');
    const [rows] = await s.admin.query('SHOW MASTER STATUS');
    const file = join(s.server.dataDir, (rows as { File: string }[])[0]?.File ?? '?');
    await s.admin.query('FLUSH BINARY LOGS');
    // The closed binlog's statement changed (+ 11 → + 12) and its event's CRC32 made to match, so
    // that verification has nothing to find: only a restore compared with the source can tell.
    const bytes = await readFile(file);
    const at = bytes.indexOf('amount = amount + 11');
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf('amount = amount + 11', at + 1)).toBe(-1);
    let start = 4;
    while (start + bytes.readUInt32LE(start + 9) <= at) start += bytes.readUInt32LE(start + 9);
    const size = bytes.readUInt32LE(start + 9);
    expect(crc32(bytes.subarray(start, start + size - 4))).toBe(bytes.readUInt32LE(start + size - 4));
    bytes.write('amount = amount + 12', at, 'latin1');
    bytes.writeUInt32LE(crc32(bytes.subarray(start, start + size - 4)), start + size - 4);
    await writeFile(file, bytes);
    await workload(7);
    await sleep(1100);
    await ship('dump');
    await workload(8);
    await ship('binlogs');
    const failedObjects = JSON.parse((await runCli(['status', '--json'], s.env)).stdout) as { hosts: { failedObjects: unknown[] }[] };
    expect(failedObjects.hosts[0]?.failedObjects).toEqual([]);

    const result = await drill();

    expectExit(result, 1);
    const record = recordOf(result.stdout);
    expect(record.result).toBe('failed');
    expect(record.differences).toEqual([expect.objectContaining({ kind: 'table', name: 'shop.orders', message: expect.stringMatching(/^shop\.orders differs: /) })]);
    const alerts = (await readFile(join(s.stateDir, 'shipper', 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; state: string; message: string });
    expect(alerts.filter((a) => a.type === 'drill-failed').map((a) => a.state)).toEqual(['started', 'cleared', 'started']);
    expect(alerts.at(-1)?.message).toMatch(/binlogs \S+ … \S+\) failed: 1 difference: shop\.orders differs/);
  });

  it('BINVAULT_DRILL=every-dump: ship dump drills the window its dump closes, once the binlogs up to its coordinates are shipped', async () => {
    await workload(9);
    await sleep(1100);
    const dumping = runCli(['ship', 'dump'], { ...s.env, BINVAULT_DRILL: 'every-dump' }, { timeoutMs: 240_000 });
    // The dump waits for its window: the binlog that holds its coordinates is shipped after it.
    await sleep(4000);
    await workload(10);
    await ship('binlogs');

    const result = await dumping;

    expectExit(result, 0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^shipped dump /);
    const dumps = (await s.store.list('mysql/db1/dumps/')).keys.map((k) => k.key.split('/').pop() ?? '').sort();
    expect(lines).toContainEqual(expect.stringMatching(/^drill of db1, window \S+ → \S+: proven$/));
    const record = (await s.store.list('mysql/db1/drills/')).keys.map((k) => k.key).sort();
    expect(record.length).toBe(5);
    const alerts = (await readFile(join(s.stateDir, 'shipper', 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; state: string });
    expect(alerts.filter((a) => a.type === 'drill-failed').map((a) => a.state)).toEqual(['started', 'cleared', 'started', 'cleared']);
    expect(lines.some((l) => l.includes(dumps.at(-1) ?? '?'))).toBe(true);
  });
});
