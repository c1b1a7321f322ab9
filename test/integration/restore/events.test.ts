import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSnapshots } from '../../../core/restore/drill.js';
import { MysqlInstanceReader } from '../../../drivers/mysql/compare.js';
import { expectExit, runCli } from '../../helpers/cli.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';
import { quietCheckpoint, type Checkpoint } from '../../helpers/workload.js';

interface Report {
  instance: { host: string; port: number; socket: string; user: string; defaultsFile: string; dataDir: string };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Scheduled events the source's scheduler ran: a one-time event kept ON COMPLETION PRESERVE, and a
 * recurring one whose ENDS passed, are disabled by the source in its own tables, not in its binlog;
 * one not kept is dropped, and that is in the binlog.
 */
describe('restore: scheduled events as the source’s scheduler left them at the target', () => {
  let s: Scenario;
  let before: Checkpoint;
  let after: Checkpoint;
  const restored: Report[] = [];

  const ship = async (what: 'dump' | 'binlogs'): Promise<void> => {
    expectExit(await runCli(['ship', what], s.env), 0);
    await s.runtime.idle();
  };
  const restoreTo = async (checkpoint: Checkpoint): Promise<ReturnType<typeof compareSnapshots>> => {
    const result = await runCli(['restore', '--to', checkpoint.time, '--json'], s.env, { timeoutMs: 120_000 });
    expectExit(result, 0);
    const report = JSON.parse(result.stdout) as Report;
    restored.push(report);
    return compareSnapshots(await new MysqlInstanceReader().snapshot({ id: 'restored', kind: 'local', ...report.instance }), checkpoint.snapshot);
  };
  const statusOf = async (): Promise<Record<string, string>> => {
    const [rows] = await s.admin.query<RowDataPacket[]>("SELECT EVENT_NAME AS name, STATUS AS status FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'app'");
    return Object.fromEntries(rows.map((r) => [String(r.name), String(r.status)]));
  };

  beforeAll(async () => {
    s = await startScenario({ server: { extraArgs: ['--event-scheduler=ON'] } });
    await s.admin.query(
      'CREATE DATABASE app; CREATE TABLE app.fired (what VARCHAR(32) PRIMARY KEY, at DATETIME); CREATE TABLE app.counter (n INT); INSERT INTO app.counter VALUES (0); ' +
        "CREATE EVENT app.far ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 HOUR ON COMPLETION PRESERVE DO INSERT INTO app.fired VALUES ('far', NOW())",
    );
    await ship('dump');
    // At the start of a second, so that the next one is quiet.
    const [[now]] = (await s.admin.query('SELECT MICROSECOND(UTC_TIMESTAMP(3)) DIV 1000 AS ms')) as unknown as [RowDataPacket[]];
    await sleep(1000 - Number(now?.ms) + 20);
    await s.admin.query(
      "CREATE EVENT app.once ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 4 SECOND ON COMPLETION PRESERVE DO INSERT INTO app.fired VALUES ('once', NOW()); " +
        "CREATE EVENT app.gone ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 4 SECOND DO INSERT INTO app.fired VALUES ('gone', NOW()); " +
        'CREATE EVENT app.ending ON SCHEDULE EVERY 1 SECOND STARTS CURRENT_TIMESTAMP + INTERVAL 4 SECOND ENDS CURRENT_TIMESTAMP + INTERVAL 5 SECOND ON COMPLETION PRESERVE DO UPDATE app.counter SET n = n + 1',
    );
    before = await quietCheckpoint(s.server, s.admin);
    for (let i = 0; i < 100; i++) {
      const status = await statusOf();
      if (status.once === 'DISABLED' && status.ending === 'DISABLED' && status.gone === undefined) break;
      await sleep(100);
    }
    expect(await statusOf()).toEqual({ far: 'ENABLED', once: 'DISABLED', ending: 'DISABLED' });
    after = await quietCheckpoint(s.server, s.admin);
    await ship('binlogs');
  }, 120_000);

  afterAll(async () => {
    for (const report of restored) {
      const pid = Number(await readFile(join(report.instance.dataDir, '..', 'mysqld.pid'), 'utf8').catch(() => '0'));
      if (pid > 0) process.kill(pid, 'SIGTERM');
    }
    await s?.close();
  });

  it('before they came due: enabled, as the source had them', async () => {
    expect(before.snapshot.definitions['event app.once']).toMatch(/\| ENABLED \|/);
    expect(await restoreTo(before)).toEqual([]);
  });

  it('once they ran: the kept ones disabled, the other one gone, the one due later still enabled', async () => {
    expect(await restoreTo(after)).toEqual([]);
  });
});
