import { checkExitCode, judge, type CheckLine } from '../../core/check.js';
import type { Config } from '../../core/config.js';
import { gatherCheckFacts } from '../lib/check.js';
import { secondsOption, type Command } from './command.js';
import type { CommandIo } from './io.js';

/** The version of `check --json`'s shape. */
export const CHECK_SCHEMA_VERSION = 1;

/** `ok    what  why`, the whats aligned. */
export const checkLines = (lines: CheckLine[]): string[] => {
  const width = Math.max(...lines.map((l) => l.what.length));
  return lines.map((l) => `${l.level.padEnd(5)} ${l.what.padEnd(width)}  ${l.why}`);
};

/** `binvault check [--interval S] [--json]`: exit 0 all ok, 1 a warning, 2 a failure. */
export const checkCommand = async (config: Config, args: { interval: number }, io: CommandIo): Promise<number> => {
  const lines = judge(await gatherCheckFacts(config, args.interval));
  const code = checkExitCode(lines);
  if (io.json) io.out(JSON.stringify({ schemaVersion: CHECK_SCHEMA_VERSION, status: (['ok', 'warn', 'fail'] as const)[code], checks: lines }));
  else io.out(checkLines(lines).join('\n'));
  return code;
};

export const command: Command = {
  name: 'check',
  synopsis: '[--interval S]',
  summary: 'whether this host’s setup will work: server, grants, binlogs, dump tool, bucket, clocks',
  help: `Checks, before anything goes wrong, what shipping and dumps need on this host, one line each
(ok, warn or fail, what, and why or how to fix it): the MySQL option file and the account it names;
the account's grants; log_bin; that this user reads the binlog files; binlog_format;
expire_logs_days / binlog_expire_logs_seconds against the shipping interval (a server that purges
faster than binvault ships makes gaps); server_id; GTIDs; the dump tool's version against the
server's; the bucket: its region, and write access (one small object written under
{prefix}/_check/{host}/ and removed at once); the offset of the server's and S3's clocks from this
host's. Changes nothing else. Run it as the user the service runs as, with its environment:
  sudo -u binvault sh -c 'set -a; . /etc/binvault/binvault.env; exec binvault check'

  --interval S    seconds between shipping runs, as the service runs them (default BINVAULT_SHIP_INTERVAL, 5)
  --json          {"schemaVersion": 1, "status": "ok"|"warn"|"fail", "checks": [{"level", "what", "why"}]}

exit: 0 all ok, 1 a warning, 2 a failure (or a usage or configuration error)
`,
  options: { interval: { type: 'string' } },
  run: async ({ values, config, io }) => {
    const given = values.interval !== undefined ? secondsOption(values, 'interval', 0) : undefined;
    const loaded: Config = await config();
    const interval = given ?? loaded.shipping.intervalSeconds;
    return checkCommand(loaded, { interval }, io);
  },
};
