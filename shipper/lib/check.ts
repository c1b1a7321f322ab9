import { randomBytes } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import type { RowDataPacket } from 'mysql2/promise';
import type { BucketFacts, CheckFacts, DumpToolFacts, ServerFacts } from '../../core/check.js';
import type { Config } from '../../core/config.js';
import { messageOf } from '../../core/errors.js';
import { checkKey } from '../../core/layout.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { readOptionFile } from '../../drivers/mysql/option-file.js';
import { MysqlSession, type ServerInfo } from '../../drivers/mysql/session.js';
import { readBinlogIndex } from './ship-binlogs.js';
import { detectTool } from './ship-dump.js';

/** How far apart two clocks are: the other's reading against the middle of the local request, and half the round trip. */
const offsetOf = (other: number, sentAt: number, receivedAt: number, resolution: number): { seconds: number; uncertainty: number } => ({
  seconds: (other - (sentAt + receivedAt) / 2) / 1000,
  uncertainty: (receivedAt - sentAt) / 2000 + resolution,
});

/** The account's global privileges: USER_PRIVILEGES lists every account's to an administrator, so only its own rows. */
const PRIVILEGES =
  "SELECT PRIVILEGE_TYPE AS privilege FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";

const VARIABLES = "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('binlog_format', 'expire_logs_days', 'binlog_expire_logs_seconds', 'gtid_mode', 'gtid_binlog_pos')";

/** Whether this host reads what the shipper reads: the binlog index and the active binlog. */
const binlogFiles = async (info: ServerInfo): Promise<ServerFacts['binlogFiles']> => {
  try {
    const files = await readBinlogIndex(info);
    const last = files.at(-1);
    if (last) await access(last.path, constants.R_OK);
    return { readable: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      readable: false,
      why: code === 'EACCES' ? `cannot read ${(error as NodeJS.ErrnoException).path ?? 'the binlogs'}: permission denied (run binvault as a user in the server's group, e.g. mysql)` : messageOf(error),
    };
  }
};

/** What the server and the account say, through the option file binvault uses. */
const serverFacts = async (config: Config): Promise<{ facts: ServerFacts; info: ServerInfo } | { unreachable: string }> => {
  let session: MysqlSession;
  try {
    session = await MysqlSession.connect(await readOptionFile(config.mysqlDefaultsFile));
  } catch (error) {
    return { unreachable: messageOf(error) };
  }
  try {
    const info = await session.info();
    const [who] = await session.query<RowDataPacket>('SELECT CURRENT_USER() AS account');
    const privileges = (await session.query<RowDataPacket>(PRIVILEGES)).map((r) => String(r.privilege));
    // MySQL before 8.0.19 has no ENABLED_ROLES: no roles to account for, then. MariaDB lists a NULL
    // role when none is enabled.
    const roles = await session.query<RowDataPacket>('SELECT COUNT(ROLE_NAME) AS n FROM information_schema.ENABLED_ROLES').then(
      ([row]) => Number(row?.n) > 0,
      () => false,
    );
    const variables = Object.fromEntries((await session.query<RowDataPacket>(VARIABLES)).map((r) => [String(r.Variable_name), String(r.Value)]));
    const seconds = Number(variables.binlog_expire_logs_seconds ?? 0);
    const days = Number(variables.expire_logs_days ?? 0);
    const sentAt = Date.now();
    const [clock] = await session.query<RowDataPacket>('SELECT UNIX_TIMESTAMP(NOW(6)) AS now');
    const receivedAt = Date.now();
    const facts: ServerFacts = {
      version: info.version,
      account: String(who?.account ?? '?'),
      privileges,
      roles,
      serverId: info.serverId,
      logBin: info.logBin,
      ...(variables.binlog_format !== undefined ? { binlogFormat: variables.binlog_format } : {}),
      // MySQL 8 and MariaDB 10.6+ have both; the seconds win when set (MariaDB keeps them in step).
      expireSeconds: seconds > 0 ? seconds : days * 86_400,
      ...(variables.gtid_mode !== undefined ? { gtidMode: variables.gtid_mode } : {}),
      ...(variables.gtid_binlog_pos !== undefined ? { gtidBinlogPos: variables.gtid_binlog_pos } : {}),
      ...(info.logBin ? { binlogFiles: await binlogFiles(info) } : {}),
      clockOffset: offsetOf(Number(clock?.now) * 1000, sentAt, receivedAt, 0.001),
    };
    return { facts, info };
  } catch (error) {
    return { unreachable: messageOf(error) };
  } finally {
    await session.close();
  }
};

const dumpToolFacts = async (info: ServerInfo): Promise<DumpToolFacts | { missing: string }> => {
  try {
    const tool = await detectTool(info);
    return { path: tool.path, version: tool.version };
  } catch (error) {
    return { missing: messageOf(error) };
  }
};

/** Writes and removes the probe object under `{prefix}/_check/{host}/`, and reads what the answers said. */
const bucketFacts = async (config: Config): Promise<BucketFacts> => {
  const store = S3Store.fromConfig(config);
  const key = checkKey(config, new Date(), randomBytes(3).toString('hex'));
  const probe = await store.probe(key);
  const base = {
    where: store.url(config.prefix === '' ? '' : `${config.prefix}/`),
    ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
    ...(probe.region ? { region: probe.region } : {}),
    clientRegion: probe.clientRegion,
  };
  if (probe.unreachable) return { ...base, unreachable: probe.unreachable, write: { ok: false, why: probe.unreachable } };
  return {
    ...base,
    write: probe.writeError ? { ok: false, why: probe.writeError } : { ok: true, key: store.url(key) },
    // The Date header says the second the answer was made: half a second either way.
    ...(probe.serverDate && probe.sentAt !== undefined && probe.receivedAt !== undefined
      ? { clockOffset: offsetOf(probe.serverDate.getTime() + 500, probe.sentAt, probe.receivedAt, 0.5) }
      : {}),
  };
};

/**
 * The facts `binvault check` judges (core/check.ts), gathered as the shipper would meet them: the
 * option file and the account it names, the server's settings, the binlog files on this host's
 * disk, the dump tool on PATH, the bucket (one small object written and removed), the clocks.
 * Changes nothing else.
 */
export const gatherCheckFacts = async (config: Config, shipIntervalSeconds: number): Promise<CheckFacts> => {
  const server = await serverFacts(config);
  const dumpTool = 'info' in server ? await dumpToolFacts(server.info) : undefined;
  return {
    server: 'facts' in server ? server.facts : server,
    ...(dumpTool ? { dumpTool } : {}),
    bucket: await bucketFacts(config),
    shipIntervalSeconds,
  };
};
