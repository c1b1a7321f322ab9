import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../../local/runtime.js';
import { S3Store } from '../../../drivers/aws/s3.js';
import { runCli, expectExit } from '../../helpers/cli.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';

interface Status {
  windows: { from: string; to: string }[];
  gaps: unknown[];
  lastDump: { key: string; completedAt: string } | null;
  latestRestorableTime: string;
}

describe('retention across simulated days on a real server: old dumps and binlogs go, the window stays', () => {
  let scenario: Scenario;
  let admin: Connection;
  let runtime: LocalRuntime;
  let store: S3Store;
  let env: Record<string, string>;
  const dumps: { key: string; completedAt: string }[] = [];

  const status = async (): Promise<Status> => {
    const r = await runCli(['status', '--json', '--host', 'db1'], env);
    return (JSON.parse(r.stdout) as { hosts: Status[] }).hosts[0] as Status;
  };
  const ship = async (what: 'dump' | 'binlogs'): Promise<void> => {
    expectExit(await runCli(['ship', what], env), 0);
    await runtime.idle();
  };
  const keys = async (area: string): Promise<string[]> => (await store.list(`mysql/db1/${area}/`)).keys.map((k) => k.key);

  beforeAll(async () => {
    scenario = await startScenario();
    ({ admin, runtime, store, env } = scenario);
    await admin.query('CREATE DATABASE shop; CREATE TABLE shop.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');
    // Three "days" in compressed time: a dump, writes, shipped binlogs, each a few seconds apart.
    for (let day = 0; day < 3; day++) {
      await ship('dump');
      dumps.push((await status()).lastDump as { key: string; completedAt: string });
      for (let i = 0; i < 3; i++) {
        await admin.query('INSERT INTO shop.t (v) VALUES (?)', [day * 10 + i]);
        await admin.query('FLUSH BINARY LOGS');
      }
      await ship('binlogs');
      await new Promise((r) => setTimeout(r, 3000));
    }
  }, 120_000);

  afterAll(() => scenario.close());

  /** A recovery window that starts just after the second dump: the second dump is the anchor. */
  const windowEnv = (): Record<string, string> => {
    const seconds = (Date.now() - Date.parse(dumps[1]?.completedAt ?? '')) / 1000 - 1;
    return { ...env, BINVAULT_RECOVERY_WINDOW_DAYS: String(seconds / 86_400) };
  };

  it('a dry run prints a plan a person can check at a glance, and deletes nothing', async () => {
    const before = [...(await keys('binlogs')), ...(await keys('dumps'))];

    const run = await runCli(['retention', '--dry-run'], windowEnv());

    expectExit(run, 0);
    expect(run.stdout.trim()).toMatch(/^db1 {3}keep every second of the last \d+ s \(since \S+\)\n {2}restorable before {2}\S+ → \S+\n {2}restorable after {3}\S+ → \S+ {3}\(covers what was restorable in the promised window\)\n {2}delete {13}1 dumps \([\d.]+ \w+\), \d+ binlogs \([\d.]+ \w+\), 0 gap records\n {2}keep {15}2 dumps, \d+ binlogs\n {2}\(dry run: nothing deleted\)$/);
    expect([...(await keys('binlogs')), ...(await keys('dumps'))]).toEqual(before);
  });

  it('deletes the first day’s dump and the binlogs before the second dump, with their records; the window from the second dump is intact', async () => {
    const before = await status();
    const anchorFile = JSON.parse((await store.getBytes((await keys('records')).find((k) => k.includes(dumps[1]?.key.split('/').pop() ?? '')) ?? '')).toString()) as { dump: { binlogFile: string } };

    const run = await runCli(['retention', '--json'], windowEnv());

    expectExit(run, 0);
    const result = JSON.parse(run.stdout) as { deleted: string[]; plan: { blocked?: string } };
    expect(result.plan.blocked).toBeUndefined();
    expect(await keys('dumps')).toEqual([dumps[1]?.key, dumps[2]?.key].sort());
    const remaining = (await keys('binlogs')).map((k) => k.split('/').pop()?.replace('.gz', '') ?? '').sort();
    expect(remaining[0]).toBe(anchorFile.dump.binlogFile);
    const records = await keys('records');
    for (const key of result.deleted) expect(records.some((r) => r.endsWith(`/${key.split('/').pop() ?? ''}.json`))).toBe(false);
    const after = await status();
    expect(after.gaps).toEqual([]);
    expect(after.windows).toEqual([{ from: dumps[1]?.completedAt, to: before.latestRestorableTime }]);
  });
  // Objects held by S3 Object Lock, and deletes refused without one: test/integration/retention/versioned.test.ts.
});
