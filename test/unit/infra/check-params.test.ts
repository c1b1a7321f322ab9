import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { scheduleExpressionProblem, paramProblems } = require('../../../infra/plugins/check-params.cjs') as {
  scheduleExpressionProblem: (expression: string) => string | undefined;
  paramProblems: (params: { drillSchedule: string; timeZone: string; drillMode: string }) => string[];
};

describe('infra/plugins/check-params.cjs: the stack parameters checked before packaging', () => {
  it('takes every EventBridge Scheduler form the README names, and off', () => {
    const valid = [
      'cron(0 3 ? * SUN *)',
      'cron(0 4 ? * SAT *)',
      'cron(15 10 * * ? *)',
      'cron(0 18 ? * MON-FRI *)',
      'cron(0 0 1 1 ? *)',
      'cron(0/15 * * * ? *)',
      'cron(0 3 ? * 6L *)',
      'cron(0 3 ? * 3#2 *)',
      'cron(0 3 L * ? *)',
      'cron(0 3 15W * ? *)',
      'cron(30 2 ? JAN,JUL SUN 2026-2030)',
      'rate(7 days)',
      'rate(1 day)',
      'rate(12 hours)',
      'at(2026-12-24T03:00:00)',
      'off',
      '0',
    ];
    for (const expression of valid) expect(scheduleExpressionProblem(expression), expression).toBeUndefined();
  });

  it('names what is wrong with an expression Scheduler would refuse at deploy', () => {
    expect(scheduleExpressionProblem('cron(0 3 * * SUN)')).toBe('a cron expression has 6 fields (minutes hours day-of-month month day-of-week year); this one has 5');
    expect(scheduleExpressionProblem('cron(0 3 * * SUN *)')).toBe('exactly one of day-of-month and day-of-week must be ? (e.g. cron(0 3 ? * SUN *))');
    expect(scheduleExpressionProblem('cron(0 3 ? * ? *)')).toBe('exactly one of day-of-month and day-of-week must be ? (e.g. cron(0 3 ? * SUN *))');
    expect(scheduleExpressionProblem('cron(60 3 ? * SUN *)')).toBe("'60' is out of range for minutes (0-59)");
    expect(scheduleExpressionProblem('cron(0 24 ? * SUN *)')).toBe("'24' is out of range for hours (0-23)");
    expect(scheduleExpressionProblem('cron(0 3 ? * SUNDAY *)')).toBe("'SUNDAY' is out of range for day-of-week (1-7 or SUN-SAT)");
    expect(scheduleExpressionProblem('cron(0 3 ? 13 SUN *)')).toBe("'13' is out of range for month (1-12 or JAN-DEC)");
    expect(scheduleExpressionProblem('cron(0 3 ? * SUN 2300)')).toBe("'2300' is out of range for year (1970-2199)");
    expect(scheduleExpressionProblem('cron(? 3 ? * SUN *)')).toBe("'?' is not a value of minutes");
    expect(scheduleExpressionProblem('rate(0 days)')).toBe('a rate is rate(value unit): a positive whole number and minute(s), hour(s) or day(s)');
    expect(scheduleExpressionProblem('rate(1 week)')).toBe('a rate is rate(value unit): a positive whole number and minute(s), hour(s) or day(s)');
    expect(scheduleExpressionProblem('at(2026-02-30T03:00:00)')).toBe("'2026-02-30T03:00:00' is not a date and time");
    expect(scheduleExpressionProblem('at(2026-12-24 03:00)')).toBe('a one-time schedule is at(yyyy-mm-ddThh:mm:ss)');
    expect(scheduleExpressionProblem('0 3 * * 0')).toBe('not an EventBridge Scheduler expression: rate(value unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss) — or off');
    expect(scheduleExpressionProblem('')).toMatch(/^not an EventBridge Scheduler expression/);
  });

  it('checks the time zone and the drill mode too, one line per parameter', () => {
    expect(paramProblems({ drillSchedule: 'cron(0 3 ? * SUN *)', timeZone: 'Europe/Berlin', drillMode: 'every-dump' })).toEqual([]);
    expect(paramProblems({ drillSchedule: 'weekly', timeZone: 'Mars/Olympus', drillMode: 'always' })).toEqual([
      "drillSchedule 'weekly': not an EventBridge Scheduler expression: rate(value unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss) — or off",
      "timeZone 'Mars/Olympus': not an IANA time zone (e.g. UTC, Europe/Berlin)",
      "drillMode 'always': not one of scheduled, every-dump, off",
    ]);
  });
});
