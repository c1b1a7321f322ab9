import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, parseDotenv, settingsFor } from '../../../core/config.js';
import { VERSION } from '../../../core/version.js';
import { ssmParameters } from '../../../drivers/aws/ssm-parameters.js';
import { loadConfig } from '../../../shipper/lib/config.js';

const DEFAULTS = { hostname: 'db1', home: '/home/ops', stateDir: '/var/lib/binvault' };

describe('parseConfig: one parser for the CLI and the functions', () => {
  it('applies the design defaults', () => {
    expect(parseConfig({}, DEFAULTS)).toEqual({
      bucket: 'binvault',
      prefix: 'mysql',
      host: 'db1',
      mysqlDefaultsFile: '/home/ops/.my.cnf',
      timeZone: 'UTC',
      stateDir: '/var/lib/binvault',
      thresholds: { staleSeconds: 600, dumpIntervalSeconds: 86_400, dumpGraceSeconds: 3600, drillIntervalSeconds: 604_800, rtoSeconds: 1800 },
      dumpMinIntervalSeconds: 3600,
      delayGraceSeconds: 600,
      retention: { recoveryWindowSeconds: 7 * 86_400, weeklyDumps: 0, monthlyDumps: 0 },
      localWatchdogSeconds: 10,
      verifyBytesPerSecond: 40e6,
      shipping: { compressor: 'auto', maxCores: 1, nice: 10, intervalSeconds: 5, rotateBytes: 32 * 1024 * 1024 },
      drill: 'scheduled',
    });
  });

  it('drills: every-dump, a drill interval, or off (no drill-stale then)', () => {
    expect(parseConfig({ BINVAULT_DRILL: 'every-dump', BINVAULT_DRILL_INTERVAL_DAYS: '1.5' }, DEFAULTS)).toMatchObject({ drill: 'every-dump', thresholds: { drillIntervalSeconds: 1.5 * 86_400 } });
    expect(parseConfig({ BINVAULT_DRILL: 'off', BINVAULT_DRILL_INTERVAL_DAYS: '3' }, DEFAULTS)).toMatchObject({ drill: 'off', thresholds: { drillIntervalSeconds: 0 } });
    expect(() => parseConfig({ BINVAULT_DRILL: 'weekly' }, DEFAULTS)).toThrow("BINVAULT_DRILL 'weekly' is not one of scheduled, every-dump, off");
    expect(() => parseConfig({ BINVAULT_DRILL_INTERVAL_DAYS: '-1' }, DEFAULTS)).toThrow("BINVAULT_DRILL_INTERVAL_DAYS '-1' is not a number of days (0: no drills are scheduled)");
  });

  it('reads the RTO budget and the dump minimum interval (seconds, or with a unit); refuses what is neither', () => {
    const config = parseConfig({ BINVAULT_RTO_SECONDS: '900', BINVAULT_DUMP_MIN_INTERVAL: '30m' }, DEFAULTS);
    expect(config.thresholds.rtoSeconds).toBe(900);
    expect(config.dumpMinIntervalSeconds).toBe(1800);
    expect(parseConfig({ BINVAULT_DUMP_MIN_INTERVAL: '90' }, DEFAULTS).dumpMinIntervalSeconds).toBe(90);
    expect(parseConfig({ BINVAULT_DUMP_MIN_INTERVAL: '2h' }, DEFAULTS).dumpMinIntervalSeconds).toBe(7200);
    expect(() => parseConfig({ BINVAULT_DUMP_MIN_INTERVAL: 'hourly' }, DEFAULTS)).toThrow("BINVAULT_DUMP_MIN_INTERVAL 'hourly' is not a duration (seconds, or e.g. 30m, 1h)");
    expect(() => parseConfig({ BINVAULT_RTO_SECONDS: '-5' }, DEFAULTS)).toThrow("BINVAULT_RTO_SECONDS '-5' is not a positive number");
  });

  it('reads every setting, an empty value counting as unset', () => {
    const config = parseConfig(
      {
        BINVAULT_BUCKET: 'acme-backups',
        BINVAULT_PREFIX: '/backups/mysql/',
        BINVAULT_HOST_ID: '',
        BINVAULT_S3_ENDPOINT: 'http://127.0.0.1:4569/',
        BINVAULT_TZ: 'Asia/Seoul',
        BINVAULT_STALE_SECONDS: '120',
        BINVAULT_DUMP_INTERVAL_HOURS: '12',
        BINVAULT_RECOVERY_WINDOW_DAYS: '14',
        BINVAULT_KEEP_WEEKLY_DUMPS: '4',
        BINVAULT_RESTORE_STATE_MACHINE_ARN: 'arn:aws:states:ap-northeast-2:123456789012:stateMachine:binvault-restore-prod',
        HOME: '/ignored',
      },
      DEFAULTS,
    );
    expect(config).toMatchObject({
      bucket: 'acme-backups',
      prefix: 'backups/mysql',
      host: 'db1',
      s3Endpoint: 'http://127.0.0.1:4569',
      timeZone: 'Asia/Seoul',
      thresholds: { staleSeconds: 120, dumpIntervalSeconds: 12 * 3600 },
      retention: { recoveryWindowSeconds: 14 * 86_400, weeklyDumps: 4, monthlyDumps: 0 },
      restoreStateMachineArn: 'arn:aws:states:ap-northeast-2:123456789012:stateMachine:binvault-restore-prod',
    });
  });

  it.each([
    [{ BINVAULT_TZ: 'Asia/Soul' }, "BINVAULT_TZ 'Asia/Soul' is not a time zone (e.g. UTC, Asia/Seoul)"],
    [{ BINVAULT_BUCKET: 'Bad_Bucket' }, "BINVAULT_BUCKET 'Bad_Bucket' is not a valid bucket name"],
    [{ BINVAULT_HOST_ID: 'db 1' }, "BINVAULT_HOST_ID 'db 1' may hold only letters, digits, '.', '_' and '-'"],
    [{ BINVAULT_PREFIX: 'my sql' }, "BINVAULT_PREFIX 'my sql' may hold only letters, digits, '.', '_', '-' and '/'"],
    [{ BINVAULT_S3_ENDPOINT: 'localhost:4569' }, "BINVAULT_S3_ENDPOINT 'localhost:4569' is not an http(s) URL"],
    [{ BINVAULT_STALE_SECONDS: '-5' }, "BINVAULT_STALE_SECONDS '-5' is not a positive number"],
    [{ BINVAULT_RECOVERY_WINDOW_DAYS: 'a week' }, "BINVAULT_RECOVERY_WINDOW_DAYS 'a week' is not a positive number"],
    [{ BINVAULT_KEEP_MONTHLY_DUMPS: '-1' }, "BINVAULT_KEEP_MONTHLY_DUMPS '-1' is not a number of dumps"],
  ])('names what is wrong, in one line: %o', (values, message) => {
    expect(() => parseConfig(values, DEFAULTS)).toThrow(message);
  });

  it('parses dotenv quoting and comments', () => {
    expect(parseDotenv("A=1 # note\nB='x # y'\n\n#C=3\nexport D=\"4\"\n")).toEqual({ A: '1', B: 'x # y', D: '4' });
  });

  it('VERSION matches package.json', () => {
    expect(VERSION).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });
});

describe('loadConfig: the CLI reads the environment over a --config file', () => {
  it('reads a --config dotenv file, the environment winning, for every setting (the retention policy too)', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'binvault-env-')), 'binvault.env');
    await writeFile(path, '# host settings\nBINVAULT_BUCKET=from-file\nexport BINVAULT_TZ="Asia/Seoul"\nBINVAULT_PREFIX=/backups/\nBINVAULT_RECOVERY_WINDOW_DAYS=30\n');
    const config = await loadConfig({ BINVAULT_BUCKET: 'from-env', BINVAULT_HOST_ID: 'db1', HOME: '/home/ops', BINVAULT_STATE_DIR: '/tmp/s' }, path);
    expect(config).toMatchObject({ bucket: 'from-env', timeZone: 'Asia/Seoul', prefix: 'backups', host: 'db1', stateDir: '/tmp/s', mysqlDefaultsFile: '/home/ops/.my.cnf' });
    expect(config.retention.recoveryWindowSeconds).toBe(30 * 86_400);
  });

  it('says which --config file it cannot read', async () => {
    await expect(loadConfig({}, '/nonexistent/binvault.env')).rejects.toThrow('cannot read --config /nonexistent/binvault.env: ENOENT');
  });
});

describe('per-host settings from the configuration and SSM Parameter Store (SDK-level fake)', () => {
  const ssm = mockClient(SSMClient);
  afterAll(() => ssm.restore());

  it('uses the configuration alone when no SSM path is configured', async () => {
    const s = await settingsFor('db1', ssmParameters, parseConfig({ BINVAULT_STALE_SECONDS: '120', BINVAULT_RECOVERY_WINDOW_DAYS: '14' }, DEFAULTS));
    expect(s.thresholds.staleSeconds).toBe(120);
    expect(s.policy.recoveryWindowSeconds).toBe(14 * 86_400);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  it('lays the stack’s parameter, then the host’s, over the configuration', async () => {
    ssm.on(GetParameterCommand, { Name: '/binvault/prod/policy' }).resolves({ Parameter: { Value: JSON.stringify({ recoveryWindowDays: 30, staleSeconds: 900 }) } });
    ssm.on(GetParameterCommand, { Name: '/binvault/prod/policy/db2' }).resolves({ Parameter: { Value: JSON.stringify({ recoveryWindowDays: 3, keepWeeklyDumps: 4, rtoSeconds: 600 }) } });
    ssm.on(GetParameterCommand, { Name: '/binvault/prod/policy/db1' }).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    const config = parseConfig({ BINVAULT_SSM_POLICY: '/binvault/prod/policy', BINVAULT_STALE_SECONDS: '120' }, DEFAULTS);

    const db1 = await settingsFor('db1', ssmParameters, config);
    const db2 = await settingsFor('db2', ssmParameters, config);

    expect(db1).toMatchObject({ thresholds: { staleSeconds: 900 }, policy: { recoveryWindowSeconds: 30 * 86_400, weeklyDumps: 0 } });
    expect(db2).toMatchObject({ thresholds: { staleSeconds: 900, rtoSeconds: 600 }, policy: { recoveryWindowSeconds: 3 * 86_400, weeklyDumps: 4 } });
    expect(db1.thresholds.rtoSeconds).toBe(1800);
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input.Name)).toEqual(
      expect.arrayContaining(['/binvault/prod/policy', '/binvault/prod/policy/db1', '/binvault/prod/policy/db2']),
    );
  });

  it('refuses a parameter that holds a wrong value, naming it', async () => {
    const read = async (): Promise<unknown> => ({ recoveryWindowDays: -1 });
    await expect(settingsFor('db1', read, parseConfig({ BINVAULT_SSM_POLICY: '/binvault/prod/policy' }, DEFAULTS))).rejects.toThrow('SSM parameter /binvault/prod/policy: recoveryWindowDays');
  });
});
