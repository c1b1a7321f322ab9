import { DEFAULT_THRESHOLDS, type Thresholds } from './alerts/conditions.js';
import { ConfigurationError } from './errors.js';
import type { RetentionPolicy } from './retention/plan.js';

const number = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigurationError(`${name} '${raw}' is not a positive number`);
  return value;
};

/** The functions' settings, parsed once at the edge from their environment. */
export interface FunctionConfig {
  prefix: string;
  thresholds: Thresholds;
  delayGraceSeconds: number;
}

export const functionConfig = (env: NodeJS.ProcessEnv = process.env): FunctionConfig => ({
  prefix: (env.BINVAULT_PREFIX ?? 'mysql').replace(/^\/+|\/+$/g, ''),
  thresholds: {
    staleSeconds: number(env, 'BINVAULT_STALE_SECONDS', DEFAULT_THRESHOLDS.staleSeconds),
    dumpIntervalSeconds: number(env, 'BINVAULT_DUMP_INTERVAL_HOURS', DEFAULT_THRESHOLDS.dumpIntervalSeconds / 3600) * 3600,
    dumpGraceSeconds: number(env, 'BINVAULT_DUMP_GRACE_MINUTES', DEFAULT_THRESHOLDS.dumpGraceSeconds / 60) * 60,
  },
  delayGraceSeconds: number(env, 'BINVAULT_DELAY_GRACE_SECONDS', 600),
});

/** The retention policy from the environment: BINVAULT_RECOVERY_WINDOW_DAYS (7), BINVAULT_KEEP_WEEKLY_DUMPS (0), BINVAULT_KEEP_MONTHLY_DUMPS (0). */
export const retentionPolicy = (env: NodeJS.ProcessEnv = process.env): RetentionPolicy => ({
  recoveryWindowSeconds: number(env, 'BINVAULT_RECOVERY_WINDOW_DAYS', 7) * 86_400,
  weeklyDumps: Math.floor(nonNegative(env, 'BINVAULT_KEEP_WEEKLY_DUMPS')),
  monthlyDumps: Math.floor(nonNegative(env, 'BINVAULT_KEEP_MONTHLY_DUMPS')),
});

const nonNegative = (env: NodeJS.ProcessEnv, name: string): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return 0;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigurationError(`${name} '${raw}' is not a number of dumps`);
  return value;
};

/** What an SSM policy parameter (JSON) may set; absent fields keep the environment's values. */
export interface PolicyParameter {
  recoveryWindowDays?: number;
  keepWeeklyDumps?: number;
  keepMonthlyDumps?: number;
  staleSeconds?: number;
  dumpIntervalHours?: number;
  dumpGraceMinutes?: number;
}

export interface HostSettings {
  thresholds: Thresholds;
  policy: RetentionPolicy;
}

/** Reads one parameter as JSON, or undefined when there is none. */
export type ParameterReader = (name: string) => Promise<PolicyParameter | undefined>;

/**
 * Per-host settings: the environment's, then the SSM parameter `{path}` (every host), then
 * `{path}/{host}` (one host) when BINVAULT_SSM_POLICY names a path such as `/binvault/prod/policy`.
 */
export const settingsFor = async (
  host: string,
  read: ParameterReader | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HostSettings> => {
  const base = functionConfig(env);
  let settings: HostSettings = { thresholds: base.thresholds, policy: retentionPolicy(env) };
  const path = env.BINVAULT_SSM_POLICY;
  if (!path || !read) return settings;
  for (const name of [path, `${path}/${host}`]) {
    const p = await read(name);
    if (!p) continue;
    settings = {
      thresholds: {
        staleSeconds: p.staleSeconds ?? settings.thresholds.staleSeconds,
        dumpIntervalSeconds: p.dumpIntervalHours !== undefined ? p.dumpIntervalHours * 3600 : settings.thresholds.dumpIntervalSeconds,
        dumpGraceSeconds: p.dumpGraceMinutes !== undefined ? p.dumpGraceMinutes * 60 : settings.thresholds.dumpGraceSeconds,
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
