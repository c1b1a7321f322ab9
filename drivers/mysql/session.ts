import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { parseServerVersion, versionAtLeast, type ServerInfo, type ServerVersion } from '../../core/server.js';
import { MysqlError } from '../errors.js';
import type { MysqlClientOptions } from './option-file.js';

export type { ServerInfo };

const where = (options: MysqlClientOptions): string =>
  options.socket ? `socket ${options.socket}` : `${options.host ?? 'localhost'}:${options.port ?? 3306}`;

/** Turns a driver error into one line that names the server and what to do; never the password. */
export const describeMysqlError = (error: unknown, options: MysqlClientOptions): MysqlError => {
  const e = error as { code?: string; errno?: number; sqlMessage?: string; message?: string };
  const target = where(options);
  switch (e.code) {
    case 'ECONNREFUSED':
      return new MysqlError(`cannot connect to the MySQL server at ${target}: connection refused`, { cause: error });
    case 'ENOENT':
      return new MysqlError(`cannot connect to the MySQL server at ${target}: no such socket`, { cause: error });
    case 'ETIMEDOUT':
      return new MysqlError(`cannot connect to the MySQL server at ${target}: timed out`, { cause: error });
    case 'ER_ACCESS_DENIED_ERROR':
      return new MysqlError(
        `the MySQL server at ${target} denied access to user '${options.user ?? ''}' (check the password in ${options.file})`,
        { cause: error },
      );
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
      return new MysqlError(`the MySQL server at ${target} refused: ${e.sqlMessage ?? e.message ?? e.code}`, {
        cause: error,
      });
    default:
      return new MysqlError(
        `MySQL server at ${target}: ${e.sqlMessage ?? e.message ?? String(error)}${e.code ? ` (${e.code})` : ''}`,
        { cause: error },
      );
  }
};

/**
 * One connection to the server, opened with the option file's settings.
 */
export class MysqlSession {
  private constructor(
    private readonly connection: Connection,
    private readonly options: MysqlClientOptions,
  ) {}

  public static async connect(options: MysqlClientOptions): Promise<MysqlSession> {
    try {
      const connection = await createConnection({
        ...(options.socket ? { socketPath: options.socket } : { host: options.host ?? 'localhost', port: options.port ?? 3306 }),
        ...(options.user !== undefined ? { user: options.user } : {}),
        ...(options.password !== undefined ? { password: options.password } : {}),
        connectTimeout: 10_000,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
      });
      // A broken connection must surface as the failing query's error, not as a crash.
      connection.on('error', () => undefined);
      return new MysqlSession(connection, options);
    } catch (error) {
      throw describeMysqlError(error, options);
    }
  }

  public async query<T extends RowDataPacket>(sql: string): Promise<T[]> {
    try {
      const [rows] = await this.connection.query<T[]>(sql);
      return rows;
    } catch (error) {
      throw describeMysqlError(error, this.options);
    }
  }

  public async info(): Promise<ServerInfo> {
    const [row] = await this.query<RowDataPacket>(
      'SELECT VERSION() AS version, @@version_comment AS comment, @@server_id AS serverId, @@log_bin AS logBin, ' +
        '@@log_bin_basename AS basename, @@log_bin_index AS indexFile, @@datadir AS dataDir',
    );
    if (!row) throw new MysqlError(`MySQL server at ${where(this.options)}: no answer to SELECT VERSION()`);
    const version = parseServerVersion(String(row.version), String(row.comment ?? ''));
    let serverUuid: string | undefined;
    if (version.flavor === 'mysql') {
      const [uuid] = await this.query<RowDataPacket>('SELECT @@server_uuid AS uuid');
      serverUuid = uuid?.uuid ? String(uuid.uuid) : undefined;
    }
    return {
      version,
      serverId: Number(row.serverId),
      ...(serverUuid ? { serverUuid } : {}),
      logBin: Number(row.logBin) === 1,
      ...(row.basename ? { logBinBasename: String(row.basename) } : {}),
      ...(row.indexFile ? { logBinIndex: String(row.indexFile) } : {}),
      dataDir: String(row.dataDir),
    };
  }

  public async flushBinaryLogs(): Promise<void> {
    await this.query('FLUSH BINARY LOGS');
  }

  /**
   * The binlog the server writes now. MySQL 8.2 renamed SHOW MASTER STATUS to SHOW BINARY LOG
   * STATUS and 8.4 removed the old name; MariaDB keeps SHOW MASTER STATUS.
   */
  public async currentBinlog(version: ServerVersion): Promise<{ file: string; position: number }> {
    const statement =
      version.flavor === 'mysql' && versionAtLeast(version, 8, 2) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS';
    const [row] = await this.query<RowDataPacket>(statement);
    if (!row?.File) throw new MysqlError(`${statement} returned nothing: is binary logging on?`);
    return { file: String(row.File), position: Number(row.Position) };
  }

  public async close(): Promise<void> {
    await this.connection.end().catch(() => this.connection.destroy());
  }
}
