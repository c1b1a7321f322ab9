import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig, parseDotenv } from '../../../core/config.js';

const DIR = new URL('../../../shipper/systemd/', import.meta.url);
const read = (name: string): Promise<string> => readFile(new URL(name, DIR), 'utf8');

describe('the systemd units, cron lines and settings a host installs', () => {
  it('systemd accepts the units as written', async () => {
    const units = ['binvault-ship-binlogs.service', 'binvault-ship-binlogs-once.service', 'binvault-ship-binlogs.timer', 'binvault-ship-dump.service', 'binvault-ship-dump.timer', 'binvault-drill.service', 'binvault-drill.timer'];
    const { stderr } = await promisify(execFile)('systemd-analyze', ['verify', '--man=no', ...units.map((u) => new URL(u, DIR).pathname)]);
    expect(stderr).toBe('');
  });

  it('the shipping service stops on a configuration error (exit 2) and after five failed starts, instead of restarting forever', async () => {
    const unit = await read('binvault-ship-binlogs.service');
    expect(unit).toMatch(/^RestartPreventExitStatus=2$/m);
    expect(unit).toMatch(/^\[Unit\][^[]*^StartLimitBurst=5$/m);
    expect(unit).toMatch(/^\[Unit\][^[]*^StartLimitIntervalSec=600$/m);
  });

  it('UTC by default: the example settings and the daily dump; the settings parse', async () => {
    const settings = parseDotenv(await read('binvault.env.example'));
    const config = parseConfig(settings, { hostname: 'db1', home: '/root', stateDir: '/var/lib/binvault' });
    expect(config).toMatchObject({ timeZone: 'UTC', stateDir: '/var/lib/binvault', mysqlDefaultsFile: '/etc/binvault/my.cnf' });
    expect(await read('binvault-ship-dump.timer')).toMatch(/^OnCalendar=\*-\*-\* 00:00:00 UTC$/m);
    expect(await read('binvault.cron')).toMatch(/^CRON_TZ=UTC$/m);
  });

  it('a weekly drill, by timer or cron, at the lowest priority, within the watchdog\'s drill interval', async () => {
    const settings = parseDotenv((await read('binvault.env.example')).replace(/^# (BINVAULT_DRILL_INTERVAL_DAYS=)/m, '$1'));
    const config = parseConfig(settings, { hostname: 'db1', home: '/root', stateDir: '/var/lib/binvault' });
    expect(await read('binvault-drill.timer')).toMatch(/^OnCalendar=Sun \*-\*-\* 03:00:00 UTC$/m);
    expect(config.thresholds.drillIntervalSeconds).toBe(7 * 86_400);
    expect(await read('binvault-drill.service')).toMatch(/^ExecStart=\S+ \S+ drill$/m);
    expect(await read('binvault-drill.service')).toMatch(/^IOSchedulingClass=idle$/m);
    expect(await read('binvault.cron')).toMatch(/^0 3 \* \* 0 binvault .* nice -n 19 ionice -c 3 \S+ \S+ drill /m);
  });
});
