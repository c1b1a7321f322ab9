// Before anything is packaged (`osls package`, and `osls deploy`, which packages first): the stack's
// parameters that CloudFormation would only refuse halfway through a deploy — or that a function would
// only refuse at run time — are checked here, each failing with one line that names the parameter.
//
// drillSchedule is an EventBridge Scheduler ScheduleExpression (the Scheduler user guide, "Schedule
// types"): rate(value unit), cron(minutes hours day-of-month month day-of-week year) with six fields,
// or at(yyyy-mm-ddThh:mm:ss); `off` or `0` turn the schedule off (the HasDrillSchedule condition).

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The six cron fields: their names, ranges, names for values and the special forms each allows. */
const FIELDS = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, special: /^(\?|L|LW|([1-9]|[12]\d|3[01])W)$/ },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, special: /^(\?|L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5]))$/ },
  { name: 'year', min: 1970, max: 2199 },
];

const valueOf = (field, text) => {
  const named = field.names ? field.names.indexOf(text) : -1;
  if (named >= 0) return named + 1;
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= field.min && n <= field.max ? n : undefined;
};

/** One comma-separated item of a field: `*`, a value, a range `a-b`, each optionally `/step`; or the field's special forms. */
const itemProblem = (field, item) => {
  if (field.special && field.special.test(item)) return undefined;
  const match = /^(\*|[A-Z0-9]+(?:-[A-Z0-9]+)?)(?:\/(\d+))?$/.exec(item);
  if (!match) return `'${item}' is not a value of ${field.name}`;
  const [, base, step] = match;
  if (step !== undefined && Number(step) < 1) return `'${item}': the step of ${field.name} must be at least 1`;
  if (base === '*') return undefined;
  const bounds = base.split('-');
  for (const b of bounds) {
    if (valueOf(field, b) === undefined) return `'${b}' is out of range for ${field.name} (${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : ''})`;
  }
  return undefined;
};

const cronProblem = (body) => {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year); this one has ${fields.length}`;
  for (let i = 0; i < 6; i += 1) {
    const field = FIELDS[i];
    const text = fields[i].toUpperCase();
    const items = text.split(',');
    if (items.some((item) => item === '')) return `'${fields[i]}' is not a value of ${field.name}`;
    if (items.length > 1 && items.some((item) => item === '?' || item.includes('#'))) return `'${fields[i]}': ? and # stand alone in ${field.name}`;
    for (const item of items) {
      const problem = itemProblem(field, item);
      if (problem) return problem;
    }
  }
  // One of the two day fields must be `?`, and only one (a value or * in one, ? in the other).
  if ((fields[2] === '?') === (fields[4] === '?')) return 'exactly one of day-of-month and day-of-week must be ? (e.g. cron(0 3 ? * SUN *))';
  return undefined;
};

const atProblem = (body) => {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (!match) return 'a one-time schedule is at(yyyy-mm-ddThh:mm:ss)';
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return `'${body}' is not a date and time`;
  return undefined;
};

/**
 * What is wrong with an EventBridge Scheduler ScheduleExpression, or undefined when nothing is
 * (`off` and `0`, which turn the drill schedule off, included).
 * @example scheduleExpressionProblem('cron(0 3 * * SUN)') // 'a cron expression has 6 fields (…); this one has 5'
 */
const scheduleExpressionProblem = (expression) => {
  const text = String(expression ?? '').trim();
  if (text === 'off' || text === '0') return undefined;
  const match = /^(rate|cron|at)\((.*)\)$/.exec(text);
  if (!match) return 'not an EventBridge Scheduler expression: rate(value unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss) — or off';
  const [, kind, body] = match;
  if (kind === 'rate') {
    // The unit may be singular or plural (minute | minutes | hour | hours | day | days).
    return /^[1-9]\d*\s+(minute|minutes|hour|hours|day|days)$/.test(body.trim()) ? undefined : 'a rate is rate(value unit): a positive whole number and minute(s), hour(s) or day(s)';
  }
  return kind === 'cron' ? cronProblem(body) : atProblem(body);
};

/** Whether a time zone is one the runtime (and so the functions, BINVAULT_TZ) knows: an IANA name. */
const timeZoneProblem = (zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: String(zone) });
    return undefined;
  } catch {
    return 'not an IANA time zone (e.g. UTC, Europe/Berlin)';
  }
};

const DRILL_MODES = ['scheduled', 'every-dump', 'off'];

/** Every problem of the resolved parameters this checks, one line each. */
const paramProblems = ({ drillSchedule, timeZone, drillMode }) => {
  const problems = [];
  const schedule = scheduleExpressionProblem(drillSchedule);
  if (schedule) problems.push(`drillSchedule '${drillSchedule}': ${schedule}`);
  const zone = timeZoneProblem(timeZone);
  if (zone) problems.push(`timeZone '${timeZone}': ${zone}`);
  if (!DRILL_MODES.includes(drillMode)) problems.push(`drillMode '${drillMode}': not one of ${DRILL_MODES.join(', ')}`);
  return problems;
};

class CheckParams {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:initialize': () => this.check() };
  }

  check() {
    const service = this.serverless.service;
    // The values as resolved from --param and params.default, where the stack uses them.
    const schedule = service.resources?.Resources?.DrillSchedule?.Properties ?? {};
    const problems = paramProblems({
      drillSchedule: schedule.ScheduleExpression,
      timeZone: schedule.ScheduleExpressionTimezone,
      drillMode: service.functions?.catalog?.environment?.BINVAULT_DRILL,
    });
    if (problems.length > 0) throw new this.serverless.classes.Error(problems.join('\n'));
  }
}

module.exports = CheckParams;
module.exports.scheduleExpressionProblem = scheduleExpressionProblem;
module.exports.paramProblems = paramProblems;
