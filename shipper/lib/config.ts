import { access, constants, readFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '../../core/errors.js';
import { isValidTimeZone, type HostScope } from '../../core/layout.js';
import { parseShippingSettings, type ShippingSettings } from './compress.js';

/**
 * The configuration of the design, parsed once at the edge from the environment (and an optional
 * dotenv file given with `--config`; the environment wins).
 */
export interface BinvaultConfig extends HostScope {
  /** @default 'binvault' */
  bucket: string;
  /** Unset means AWS. */
  s3Endpoint?: string;
  /** @default '~/.my.cnf' */
  mysqlDefaultsFile: string;
  /** @default 'UTC' */
  timeZone: string;
  /** @default '/var/lib/binvault' when writable, else './.binvault' */
  stateDir: string;
  /** `BINVAULT_COMPRESSOR`, `BINVAULT_MAX_CORES`, `BINVAULT_NICE` (compress.ts). */
  shipping: ShippingSettings;
}

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

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const defaultStateDir = async (): Promise<string> => {
  try {
    await access('/var/lib/binvault', constants.W_OK);
    return '/var/lib/binvault';
  } catch {
    return resolve('.binvault');
  }
};

export const loadConfig = async (
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
): Promise<BinvaultConfig> => {
  let fileValues: Record<string, string> = {};
  if (configFile !== undefined) {
    try {
      fileValues = parseDotenv(await readFile(configFile, 'utf8'));
    } catch (error) {
      throw new ConfigurationError(
        `cannot read --config ${configFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause: error },
      );
    }
  }
  const get = (name: string): string | undefined => {
    const value = env[name] ?? fileValues[name];
    return value === undefined || value === '' ? undefined : value;
  };

  const bucket = get('BINVAULT_BUCKET') ?? 'binvault';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigurationError(`BINVAULT_BUCKET '${bucket}' is not a valid bucket name`);
  }
  const prefix = (get('BINVAULT_PREFIX') ?? 'mysql').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && !prefix.split('/').every((part) => NAME.test(part))) {
    throw new ConfigurationError(`BINVAULT_PREFIX '${prefix}' may hold only letters, digits, '.', '_', '-' and '/'`);
  }
  const host = get('BINVAULT_HOST_ID') ?? hostname().split('.')[0] ?? 'localhost';
  if (!NAME.test(host)) {
    throw new ConfigurationError(`BINVAULT_HOST_ID '${host}' may hold only letters, digits, '.', '_' and '-'`);
  }
  const s3Endpoint = get('BINVAULT_S3_ENDPOINT');
  if (s3Endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(s3Endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ConfigurationError(`BINVAULT_S3_ENDPOINT '${s3Endpoint}' is not an http(s) URL`);
    }
  }
  const timeZone = get('BINVAULT_TZ') ?? 'UTC';
  if (!isValidTimeZone(timeZone)) {
    throw new ConfigurationError(`BINVAULT_TZ '${timeZone}' is not a time zone (e.g. UTC, Asia/Seoul)`);
  }
  return {
    bucket,
    prefix,
    host,
    ...(s3Endpoint !== undefined ? { s3Endpoint: s3Endpoint.replace(/\/+$/, '') } : {}),
    mysqlDefaultsFile: get('BINVAULT_MYSQL_DEFAULTS_FILE') ?? join(env.HOME ?? homedir(), '.my.cnf'),
    timeZone,
    stateDir: resolve(get('BINVAULT_STATE_DIR') ?? (await defaultStateDir())),
    shipping: parseShippingSettings(get),
  };
};
