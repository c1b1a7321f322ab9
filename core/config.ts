import * as z from 'zod/mini';
import { DEFAULT_THRESHOLDS, type Thresholds } from './alerts/conditions.js';
import { ConfigurationError } from './errors.js';
import type { HostScope } from './layout.js';
import type { RetentionPolicy } from './retention/plan.js';
import { isValidTimeZone } from './time.js';

/**
 * binvault's configuration: one parser, pure over a string map (the environment, with a `--config`
 * dotenv file under it), used by the CLI and by every function. Validated once, at the edge, with a
 * line that names the setting and quotes its value.
 */
export interface Config extends HostScope {
  /** @default 'binvault' */
  bucket: string;
  /** An S3-protocol endpoint (the embedded runtime, MinIO); unset means AWS. */
  s3Endpoint?: string;
  /** The MySQL option file with `[client]` user, password, host, port, socket. @default '~/.my.cnf' */
  mysqlDefaultsFile: string;
  /** The zone of the `{day}` folders and of times given without one. @default 'UTC' */
  timeZone: string;
  /** The shipper's lock and cache; the local runtime's data. */
  stateDir: string;
  /** The watchdog's thresholds. */
  thresholds: Thresholds;
  /** A hole in the chain younger than this is `delayed`, older `missing`. @default 600 */
  delayGraceSeconds: number;
  retention: RetentionPolicy;
  /** (functions) An SSM parameter path whose JSON, and `{path}/{host}`'s, override thresholds and policy. */
  ssmPolicyPath?: string;
  /** (functions) The SNS topic alerts go to; unset, they go to `{stateDir}/alerts.jsonl`. */
  alertTopicArn?: string;
  /** `binvault restore` starts this state machine on AWS instead of running the restore locally. */
  restoreStateMachineArn?: string;
  /** The drill state machine (the schedule and, with BINVAULT_DRILL=every-dump, the catalog function start it; `binvault drill --aws`). */
  drillStateMachineArn?: string;
  /** (functions) The launch template of the restore's fresh EC2 instance. */
  restoreLaunchTemplate?: string;
  /** (functions) The subnet of the restore's instance (unset: the launch template's, else the default VPC's). */
  restoreSubnetId?: string;
  /** (functions) The restore instance's type (unset: sized from the plan). */
  restoreInstanceType?: string;
  /** Seconds between the local runtime's watchdog passes. @default 10 */
  localWatchdogSeconds: number;
  /** (verify function) Stored bytes a second that verification is sure to reach; sizes its guard. @default 40e6 */
  verifyBytesPerSecond: number;
  /** How the shipper compresses, and how much of the host it may take. */
  shipping: ShippingSettings;
  /**
   * When drills run: `scheduled` (by binvault-drill.timer or cron), `every-dump` (also `ship dump`
   * drills the window its dump closes, once it is verified), `off` (none, and no drill-stale).
   * @default 'scheduled'
   */
  drill: 'scheduled' | 'every-dump' | 'off';
  /** The shipper takes a dump for the RTO budget at most this often (seconds). @default 3600 */
  dumpMinIntervalSeconds: number;
}

/**
 * How the shipper compresses and how much of the host it may take: `BINVAULT_COMPRESSOR`,
 * `BINVAULT_MAX_CORES`, `BINVAULT_NICE` (shipper/lib/compress.ts uses them).
 */
export interface ShippingSettings {
  /** `auto` takes ISA-L's igzip when it is on PATH, else Node's zlib. @default 'auto' */
  compressor: 'auto' | 'zlib' | 'igzip';
  /** Compression threads (zlib) or processes (igzip) at most. @default half the cores, at least 1 */
  maxCores: number;
  /** The nice value the shipper lowers itself (and its children) to; 0 leaves it as started. @default 10 */
  nice: number;
  /**
   * `ship binlogs --loop`: seconds between runs (`BINVAULT_SHIP_INTERVAL`), the setting that trades
   * RPO for requests: every run that finds changes ships one binlog. @default 5
   */
  intervalSeconds: number;
  /** `ship binlogs --loop`: a run starts at once when the active binlog passes this size (`BINVAULT_SHIP_ROTATE_MB`). @default 32 MiB */
  rotateBytes: number;
}

/** What the defaults depend on, found by the caller (the edge), not here: core reads no environment. */
export interface ConfigDefaults {
  /** The host's short name: `BINVAULT_HOST_ID`'s default. */
  hostname: string;
  /** The home directory, for `~/.my.cnf`. */
  home: string;
  /** `BINVAULT_STATE_DIR`'s default. */
  stateDir: string;
  /** The cores of the machine (`BINVAULT_MAX_CORES` defaults to half of them). @default 2 */
  cores?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A prefix without its leading and trailing slashes. */
const strip = (prefix: string): string => prefix.replace(/^\/+|\/+$/g, '');

/** A string setting that must pass `check`; otherwise `NAME 'value' why`. */
const checked = (name: string, check: (value: string) => boolean, why: string) =>
  z.string().check(z.refine(check, { error: (issue) => `${name} '${String(issue.input)}' ${why}` }));

const isUrl = (value: string): boolean => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};

const positive = (name: string) =>
  z.pipe(
    checked(name, (v) => Number.isFinite(Number(v)) && Number(v) > 0, 'is not a positive number'),
    z.transform((v: string) => Number(v)),
  );

const count = (name: string) =>
  z.pipe(
    checked(name, (v) => Number.isFinite(Number(v)) && Number(v) >= 0, 'is not a number of dumps'),
    z.transform((v: string) => Math.floor(Number(v))),
  );

/** A whole number from `min` to `max`. */
const whole = (name: string, min: number, max: number) =>
  z.pipe(
    checked(name, (v) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max, `is not a whole number from ${min} to ${max}`),
    z.transform((v: string) => Number(v)),
  );

/** A duration: seconds, or a number with s, m, h or d (`90`, `30m`, `1h`). */
const duration = (name: string) =>
  z.pipe(
    checked(name, (v) => /^\d+(\.\d+)?\s*[smhd]?$/i.test(v.trim()), 'is not a duration (seconds, or e.g. 30m, 1h)'),
    z.transform((v: string) => {
      const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/i.exec(v.trim());
      const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[(match?.[2] ?? '').toLowerCase() as '' | 's' | 'm' | 'h' | 'd'];
      return Number(match?.[1] ?? 0) * unit;
    }),
  );

const SCHEMA = z.object({
  BINVAULT_BUCKET: z._default(checked('BINVAULT_BUCKET', (v) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v), 'is not a valid bucket name'), 'binvault'),
  BINVAULT_PREFIX: z._default(
    z.pipe(
      checked('BINVAULT_PREFIX', (v) => [strip(v)].every((p) => p === '' || p.split('/').every((part) => NAME.test(part))), "may hold only letters, digits, '.', '_', '-' and '/'"),
      z.transform(strip),
    ),
    'mysql',
  ),
  BINVAULT_HOST_ID: z.optional(checked('BINVAULT_HOST_ID', (v) => NAME.test(v), "may hold only letters, digits, '.', '_' and '-'")),
  BINVAULT_S3_ENDPOINT: z.optional(z.pipe(checked('BINVAULT_S3_ENDPOINT', isUrl, 'is not an http(s) URL'), z.transform((v: string) => v.replace(/\/+$/, '')))),
  BINVAULT_MYSQL_DEFAULTS_FILE: z.optional(z.string()),
  BINVAULT_TZ: z._default(checked('BINVAULT_TZ', isValidTimeZone, 'is not a time zone (e.g. UTC, Asia/Seoul)'), 'UTC'),
  BINVAULT_STATE_DIR: z.optional(z.string()),
  BINVAULT_STALE_SECONDS: z.optional(positive('BINVAULT_STALE_SECONDS')),
  BINVAULT_DUMP_INTERVAL_HOURS: z.optional(positive('BINVAULT_DUMP_INTERVAL_HOURS')),
  BINVAULT_DUMP_GRACE_MINUTES: z.optional(positive('BINVAULT_DUMP_GRACE_MINUTES')),
  BINVAULT_DRILL: z._default(checked('BINVAULT_DRILL', (v) => ['scheduled', 'every-dump', 'off'].includes(v), 'is not one of scheduled, every-dump, off'), 'scheduled'),
  BINVAULT_DRILL_INTERVAL_DAYS: z.optional(
    z.pipe(
      checked('BINVAULT_DRILL_INTERVAL_DAYS', (v) => v.trim() !== '' && Number.isFinite(Number(v)) && Number(v) >= 0, 'is not a number of days (0: no drills are scheduled)'),
      z.transform((v: string) => Number(v)),
    ),
  ),
  BINVAULT_RTO_SECONDS: z._default(positive('BINVAULT_RTO_SECONDS'), DEFAULT_THRESHOLDS.rtoSeconds),
  BINVAULT_DUMP_MIN_INTERVAL: z._default(duration('BINVAULT_DUMP_MIN_INTERVAL'), 3600),
  BINVAULT_DELAY_GRACE_SECONDS: z._default(positive('BINVAULT_DELAY_GRACE_SECONDS'), 600),
  BINVAULT_RECOVERY_WINDOW_DAYS: z._default(positive('BINVAULT_RECOVERY_WINDOW_DAYS'), 7),
  BINVAULT_KEEP_WEEKLY_DUMPS: z._default(count('BINVAULT_KEEP_WEEKLY_DUMPS'), 0),
  BINVAULT_KEEP_MONTHLY_DUMPS: z._default(count('BINVAULT_KEEP_MONTHLY_DUMPS'), 0),
  BINVAULT_SSM_POLICY: z.optional(z.string()),
  BINVAULT_ALERT_TOPIC_ARN: z.optional(z.string()),
  BINVAULT_RESTORE_STATE_MACHINE_ARN: z.optional(z.string()),
  BINVAULT_DRILL_STATE_MACHINE_ARN: z.optional(z.string()),
  BINVAULT_RESTORE_LAUNCH_TEMPLATE: z.optional(z.string()),
  BINVAULT_RESTORE_SUBNET: z.optional(z.string()),
  BINVAULT_RESTORE_INSTANCE_TYPE: z.optional(z.string()),
  BINVAULT_LOCAL_WATCHDOG_SECONDS: z._default(positive('BINVAULT_LOCAL_WATCHDOG_SECONDS'), 10),
  BINVAULT_VERIFY_BYTES_PER_SECOND: z._default(positive('BINVAULT_VERIFY_BYTES_PER_SECOND'), 40e6),
  BINVAULT_COMPRESSOR: z._default(checked('BINVAULT_COMPRESSOR', (v) => ['auto', 'zlib', 'igzip'].includes(v), 'is not one of auto, zlib, igzip'), 'auto'),
  BINVAULT_MAX_CORES: z.optional(whole('BINVAULT_MAX_CORES', 1, 1024)),
  BINVAULT_NICE: z._default(whole('BINVAULT_NICE', 0, 19), 10),
  BINVAULT_SHIP_INTERVAL: z._default(positive('BINVAULT_SHIP_INTERVAL'), 5),
  BINVAULT_SHIP_ROTATE_MB: z._default(positive('BINVAULT_SHIP_ROTATE_MB'), 32),
});

/** The settings binvault reads, by name (README's configuration table lists the same). */
export const SETTING_NAMES = Object.keys(SCHEMA.shape);

/** The first problem of a failed parse, as the one line the user reads. */
const firstProblem = (error: z.core.$ZodError): string => {
  const issue = error.issues[0];
  return issue?.message ?? 'invalid configuration';
};

/**
 * Parses the settings from a string map (an empty value counts as unset).
 *
 * @example parseConfig({ BINVAULT_BUCKET: 'acme-backups' }, { hostname: 'db1', home: '/root', stateDir: '/var/lib/binvault' })
 */
export const parseConfig = (values: Readonly<Record<string, string | undefined>>, defaults: ConfigDefaults): Config => {
  const given = Object.fromEntries(Object.entries(values).filter(([name, value]) => name.startsWith('BINVAULT_') && value !== undefined && value !== ''));
  const parsed = SCHEMA.safeParse(given);
  if (!parsed.success) throw new ConfigurationError(firstProblem(parsed.error));
  const v = parsed.data;
  const host = v.BINVAULT_HOST_ID ?? defaults.hostname;
  if (!NAME.test(host)) throw new ConfigurationError(`the host name '${host}' may hold only letters, digits, '.', '_' and '-': set BINVAULT_HOST_ID`);
  return {
    bucket: v.BINVAULT_BUCKET,
    prefix: v.BINVAULT_PREFIX,
    host,
    ...(v.BINVAULT_S3_ENDPOINT !== undefined ? { s3Endpoint: v.BINVAULT_S3_ENDPOINT } : {}),
    mysqlDefaultsFile: v.BINVAULT_MYSQL_DEFAULTS_FILE ?? `${defaults.home.replace(/\/+$/, '')}/.my.cnf`,
    timeZone: v.BINVAULT_TZ,
    stateDir: v.BINVAULT_STATE_DIR ?? defaults.stateDir,
    thresholds: {
      staleSeconds: v.BINVAULT_STALE_SECONDS ?? DEFAULT_THRESHOLDS.staleSeconds,
      dumpIntervalSeconds: v.BINVAULT_DUMP_INTERVAL_HOURS !== undefined ? v.BINVAULT_DUMP_INTERVAL_HOURS * 3600 : DEFAULT_THRESHOLDS.dumpIntervalSeconds,
      dumpGraceSeconds: v.BINVAULT_DUMP_GRACE_MINUTES !== undefined ? v.BINVAULT_DUMP_GRACE_MINUTES * 60 : DEFAULT_THRESHOLDS.dumpGraceSeconds,
      drillIntervalSeconds:
        v.BINVAULT_DRILL === 'off' ? 0 : v.BINVAULT_DRILL_INTERVAL_DAYS !== undefined ? v.BINVAULT_DRILL_INTERVAL_DAYS * 86_400 : DEFAULT_THRESHOLDS.drillIntervalSeconds,
      rtoSeconds: v.BINVAULT_RTO_SECONDS,
    },
    dumpMinIntervalSeconds: v.BINVAULT_DUMP_MIN_INTERVAL,
    delayGraceSeconds: v.BINVAULT_DELAY_GRACE_SECONDS,
    retention: {
      recoveryWindowSeconds: v.BINVAULT_RECOVERY_WINDOW_DAYS * 86_400,
      weeklyDumps: v.BINVAULT_KEEP_WEEKLY_DUMPS,
      monthlyDumps: v.BINVAULT_KEEP_MONTHLY_DUMPS,
    },
    ...(v.BINVAULT_SSM_POLICY !== undefined ? { ssmPolicyPath: v.BINVAULT_SSM_POLICY } : {}),
    ...(v.BINVAULT_ALERT_TOPIC_ARN !== undefined ? { alertTopicArn: v.BINVAULT_ALERT_TOPIC_ARN } : {}),
    ...(v.BINVAULT_RESTORE_STATE_MACHINE_ARN !== undefined ? { restoreStateMachineArn: v.BINVAULT_RESTORE_STATE_MACHINE_ARN } : {}),
    ...(v.BINVAULT_DRILL_STATE_MACHINE_ARN ? { drillStateMachineArn: v.BINVAULT_DRILL_STATE_MACHINE_ARN } : {}),
    ...(v.BINVAULT_RESTORE_LAUNCH_TEMPLATE !== undefined ? { restoreLaunchTemplate: v.BINVAULT_RESTORE_LAUNCH_TEMPLATE } : {}),
    // The stack passes empty parameters as empty strings: unset.
    ...(v.BINVAULT_RESTORE_SUBNET ? { restoreSubnetId: v.BINVAULT_RESTORE_SUBNET } : {}),
    ...(v.BINVAULT_RESTORE_INSTANCE_TYPE ? { restoreInstanceType: v.BINVAULT_RESTORE_INSTANCE_TYPE } : {}),
    localWatchdogSeconds: v.BINVAULT_LOCAL_WATCHDOG_SECONDS,
    verifyBytesPerSecond: v.BINVAULT_VERIFY_BYTES_PER_SECOND,
    shipping: {
      compressor: v.BINVAULT_COMPRESSOR as ShippingSettings['compressor'],
      maxCores: v.BINVAULT_MAX_CORES ?? Math.max(1, Math.floor((defaults.cores ?? 2) / 2)),
      nice: v.BINVAULT_NICE,
      intervalSeconds: v.BINVAULT_SHIP_INTERVAL,
      rotateBytes: Math.round(v.BINVAULT_SHIP_ROTATE_MB * 1024 * 1024),
    },
    drill: v.BINVAULT_DRILL as Config['drill'],
  };
};

/** Parses dotenv text: `NAME=value`, `export NAME=value`, quotes, `#` comments. */
export const parseDotenv = (text: string): Record<string, string> => {
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match?.[1]) continue;
    let value = (match[2] ?? '').trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    values[match[1]] = value;
  }
  return values;
};

/** What an SSM policy parameter (JSON) may set; absent fields keep the configuration's values. */
const POLICY_PARAMETER = z.partial(
  z.object({
    recoveryWindowDays: z.number().check(z.positive()),
    keepWeeklyDumps: z.int().check(z.nonnegative()),
    keepMonthlyDumps: z.int().check(z.nonnegative()),
    staleSeconds: z.number().check(z.positive()),
    dumpIntervalHours: z.number().check(z.positive()),
    dumpGraceMinutes: z.number().check(z.positive()),
    drillIntervalDays: z.number().check(z.nonnegative()),
    rtoSeconds: z.number().check(z.positive()),
  }),
);

export type PolicyParameter = z.infer<typeof POLICY_PARAMETER>;

/** Reads one parameter's value as JSON, or undefined when there is none (the port SSM implements). */
export type ParameterReader = (name: string) => Promise<unknown>;

export interface HostSettings {
  thresholds: Thresholds;
  policy: RetentionPolicy;
}

/**
 * One host's settings: the configuration's, then the SSM parameter `{path}` (every host), then
 * `{path}/{host}` (that host) when `ssmPolicyPath` names a path such as `/binvault/prod/policy`.
 */
export const settingsFor = async (host: string, read: ParameterReader | undefined, config: Pick<Config, 'thresholds' | 'retention' | 'ssmPolicyPath'>): Promise<HostSettings> => {
  let settings: HostSettings = { thresholds: config.thresholds, policy: config.retention };
  const path = config.ssmPolicyPath;
  if (!path || !read) return settings;
  for (const name of [path, `${path}/${host}`]) {
    const raw = await read(name);
    if (raw === undefined) continue;
    const parsed = POLICY_PARAMETER.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigurationError(`SSM parameter ${name}: ${issue?.path.join('.') || 'value'} ${issue?.message ?? 'is not valid'}`);
    }
    const p = parsed.data;
    settings = {
      thresholds: {
        staleSeconds: p.staleSeconds ?? settings.thresholds.staleSeconds,
        dumpIntervalSeconds: p.dumpIntervalHours !== undefined ? p.dumpIntervalHours * 3600 : settings.thresholds.dumpIntervalSeconds,
        dumpGraceSeconds: p.dumpGraceMinutes !== undefined ? p.dumpGraceMinutes * 60 : settings.thresholds.dumpGraceSeconds,
        drillIntervalSeconds: p.drillIntervalDays !== undefined ? p.drillIntervalDays * 86_400 : settings.thresholds.drillIntervalSeconds,
        rtoSeconds: p.rtoSeconds ?? settings.thresholds.rtoSeconds,
      },
      policy: {
        recoveryWindowSeconds: p.recoveryWindowDays !== undefined ? p.recoveryWindowDays * 86_400 : settings.policy.recoveryWindowSeconds,
        weeklyDumps: p.keepWeeklyDumps ?? settings.policy.weeklyDumps,
        monthlyDumps: p.keepMonthlyDumps ?? settings.policy.monthlyDumps,
      },
    };
  }
  return settings;
};
