import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigurationError } from '../../core/errors.js';

/**
 * The connection settings of a MySQL option file's `[client]` group (and `[binvault]`, which
 * wins). The password lives only here: it is never put in argv, a child's environment or a log.
 */
export interface MysqlClientOptions {
  /** The option file it came from. */
  file: string;
  user?: string;
  password?: string;
  host?: string;
  port?: number;
  socket?: string;
}

const GROUPS = new Set(['client', 'binvault']);

const unquote = (raw: string): string => {
  const value = raw.trim();
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
    const inner = value.slice(1, -1);
    return quote === '"'
      ? inner.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', b: '\b', s: ' ' })[c] ?? c)
      : inner;
  }
  // Unquoted values end at an unescaped comment sign preceded by whitespace.
  return value.replace(/\s+[#;].*$/, '');
};

/**
 * Parses the option file syntax (groups, `key = value`, quotes, comments, `!include`) into the
 * values of each group of interest.
 */
export const parseOptionFile = async (
  path: string,
  text: string,
  into: Record<string, Record<string, string>> = {},
  depth = 0,
): Promise<Record<string, Record<string, string>>> => {
  let group = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('!include ') && depth < 8) {
      const target = line.slice('!include '.length).trim();
      const included = isAbsolute(target) ? target : join(dirname(path), target);
      await parseOptionFile(included, await readFile(included, 'utf8'), into, depth + 1);
      continue;
    }
    if (line.startsWith('!')) continue;
    const groupMatch = /^\[([^\]]+)\]/.exec(line);
    if (groupMatch?.[1]) {
      group = groupMatch[1].trim().toLowerCase();
      continue;
    }
    if (!GROUPS.has(group)) continue;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim().toLowerCase().replace(/_/g, '-');
    (into[group] ??= {})[key] = eq < 0 ? '' : unquote(line.slice(eq + 1));
  }
  return into;
};

/**
 * Reads the option file, refusing one that is missing or that every user on the host can read.
 */
export const readOptionFile = async (path: string): Promise<MysqlClientOptions> => {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigurationError(
      code === 'ENOENT'
        ? `MySQL option file ${path} not found (set BINVAULT_MYSQL_DEFAULTS_FILE to a [client] option file)`
        : `cannot read MySQL option file ${path}: ${code ?? 'error'}`,
      { cause: error },
    );
  }
  if ((mode & 0o007) !== 0) {
    throw new ConfigurationError(
      `MySQL option file ${path} is accessible to every user (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${path}`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(
      `cannot read MySQL option file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  }
  const groups = await parseOptionFile(path, text);
  // [binvault] wins over [client], as each mysql client's own group does.
  const values = { ...groups.client, ...groups.binvault };
  const port = values.port !== undefined ? Number.parseInt(values.port, 10) : undefined;
  if (port !== undefined && !(port > 0 && port < 65536)) {
    throw new ConfigurationError(`MySQL option file ${path}: port '${values.port}' is not a port number`);
  }
  return {
    file: path,
    ...(values.user !== undefined ? { user: values.user } : {}),
    ...(values.password !== undefined ? { password: values.password } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values.socket !== undefined ? { socket: values.socket } : {}),
  };
};

/** Quotes a value for an option file (a password may hold anything). */
const quoted = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * Writes a `[client]` option file, mode 0600, for a client or tool to read with
 * `--defaults-extra-file`: the one way a password reaches another program.
 */
export const writeOptionFile = async (path: string, options: Omit<MysqlClientOptions, 'file'>): Promise<void> => {
  const lines = ['[client]'];
  if (options.user !== undefined) lines.push(`user=${quoted(options.user)}`);
  if (options.password !== undefined) lines.push(`password=${quoted(options.password)}`);
  if (options.socket !== undefined) lines.push(`socket=${quoted(options.socket)}`);
  if (options.host !== undefined) lines.push(`host=${quoted(options.host)}`);
  if (options.port !== undefined) lines.push(`port=${options.port}`);
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
};
