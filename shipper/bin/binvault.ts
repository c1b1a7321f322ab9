import { parseArgs } from 'node:util';
import { VERSION } from '../../core/version.js';
import { demoCommand } from '../commands/demo.js';
import { processIo } from '../commands/io.js';
import { localUpCommand } from '../commands/local-up.js';
import { shipBinlogsCommand } from '../commands/ship-binlogs.js';
import { shipDumpCommand } from '../commands/ship-dump.js';
import { restoreApplyCommand, restoreCommand } from '../commands/restore.js';
import { retentionCommand } from '../commands/retention.js';
import { catalogRebuildCommand, statusCommand } from '../commands/status.js';
import { verifyCommand } from '../commands/verify.js';
import { loadConfig } from '../lib/config.js';

const USAGE = `binvault ${VERSION}: continuous backup and point-in-time recovery for MySQL and MariaDB

usage: binvault <command> [options]

commands:
  ship binlogs [--loop] [--interval S]   rotate, then upload every closed binlog not yet shipped
  ship dump [--databases a,b]            one consistent dump, streamed and compressed to the bucket
  status [--host H]                      per host: restorable windows, lag, last dump and binlog, gaps, failures
  catalog rebuild [--host H] [--day D]   rebuild the catalog manifests from the records
  retention [--dry-run] [--host H]       apply (or preview) the retention policy; never cuts the chain
  restore (--to TIME | --gtid G | --latest) [--host H] [--dry-run]
                                         point-in-time restore into a fresh instance
  verify FILE|s3://BUCKET/KEY…           check binlogs and dumps, raw or gzipped, as the verify function does
  local up                               the embedded runtime (local S3 endpoint) in the foreground
  demo                                   the whole story on embedded defaults, no AWS account

options for every command:
  --config FILE   dotenv file with BINVAULT_* settings (the environment wins)
  --json          machine-readable output (JSON lines)
  --verbose       more detail; stack traces on errors
  --help          this text, or a command's own

configuration (environment): BINVAULT_BUCKET, BINVAULT_PREFIX, BINVAULT_HOST_ID, BINVAULT_S3_ENDPOINT,
  BINVAULT_MYSQL_DEFAULTS_FILE (the [client] option file: the only place a password lives),
  BINVAULT_TZ, BINVAULT_STATE_DIR; for ship: BINVAULT_COMPRESSOR (auto|zlib|igzip),
  BINVAULT_MAX_CORES, BINVAULT_NICE. See README.md.
`;

const HELP: Record<string, string> = {
  'ship binlogs': `usage: binvault ship binlogs [--loop] [--interval S] [--json]

Runs FLUSH BINARY LOGS, then uploads every closed binlog not yet shipped, oldest first, gzipped,
to {prefix}/{host}/binlogs/{day}/{name}.gz with sha256 and size in its metadata. Never the active
binlog. A binlog already shipped with the same sha256 is skipped; the same key with different
content is an error. Safe to kill and rerun. Binlogs the server purged before they were shipped
are recorded as a gap in the bucket and named on stderr (exit 3).

  --loop          keep shipping every S seconds until SIGTERM/SIGINT
  --interval S    seconds between runs with --loop (default 60)

exit: 0 done, 1 error, 2 usage, 3 a gap was found (everything still present was shipped)
`,
  'ship dump': `usage: binvault ship dump [--databases a,b] [--lock-wait-timeout S] [--json]

Runs the server's own dump tool (mysqldump or mariadb-dump) with --single-transaction --routines
--triggers --events --hex-blob, the binlog coordinates (--source-data=2 / --master-data=2) and the
GTID state (--set-gtid-purged=COMMENTED / --gtid), compresses its output (ISA-L's igzip when
installed, else zlib on BINVAULT_MAX_CORES threads) at a lower CPU and I/O priority, and streams it
to {prefix}/{host}/dumps/{day}/{host}-{stamp}.sql.gz with sha256, size and coordinates in the
metadata. Nothing touches local disk; the password reaches the tool through a 0600 option file in
a private directory, removed afterwards. Any failure leaves no object. --json ends with a result
line: the object, and what the run cost the host (CPU seconds, bytes read and sent, peak RSS).

  --databases a,b          only these databases (default: all)
  --lock-wait-timeout S    cancel the dump, and kill its server session, when it has waited S
                           seconds for a lock (FLUSH TABLES WITH READ LOCK behind a long query, a
                           metadata lock); the error names the blocking query (default 60)

exit: 0 done, 1 error, 2 usage
`,
  status: `usage: binvault status [--host H] [--json]

Per host (all hosts under BINVAULT_PREFIX by default): the windows of time to any second of which a
restore is possible, the earliest and latest restorable time and how far the latest lags behind
now, the last verified dump and binlog, the breaks in the binlog chain (delayed, missing, corrupt,
reset) and the objects that failed verification. --json prints the design's shape.
`,
  'catalog rebuild': `usage: binvault catalog rebuild [--host H] [--day D] [--json]

Rebuilds the day manifests ({prefix}/{host}/catalog/{day}.json) from the verification records
alone, for every host and day (or the ones given).
`,
  retention: `usage: binvault retention [--dry-run] [--host H] [--json]

Keeps every second of the last BINVAULT_RECOVERY_WINDOW_DAYS (7) restorable — the newest verified
dump at or before the window's start, every later dump, the binlogs from that dump's coordinates on
— plus the last dump of BINVAULT_KEEP_WEEKLY_DUMPS weeks and BINVAULT_KEEP_MONTHLY_DUMPS months, and
deletes the rest with their records. The plan proves itself: the windows after must cover what was
restorable in the promised window, or nothing is deleted and a retention-blocked alert says why.
Objects held by S3 Object Lock are reported as held.
`,
  'restore apply': `usage: binvault restore apply --step load|replay|reached [--plan s3://BUCKET/KEY] --defaults-file F

The part of a restore that runs next to the new server (the state machine runs it there through SSM
Run Command on AWS): load the plan's dump (tables' rows in parallel sessions), replay its binlogs
(in one session), or read the GTID position reached. Rows read ahead and downloaded binlogs wait in
BINVAULT_STATE_DIR/restore-work and are removed as they are used. Prints its result as JSON.
`,
  restore: `usage: binvault restore (--to TIME | --gtid GTID [--before] | --latest) [--host H] [--dry-run] [--json]

Restores a host to any second of its restorable windows (binvault status shows them) into a fresh
instance: the newest verified dump before the target, then every binlog from the dump's exact
coordinates replayed in one session up to the target. Runs the restore state machine of
infra/restore.asl.json in-process; the new server (mariadbd/mysqld from PATH) keeps running for
you, with a generated password in a 0600 option file the report names.

  --to TIME       ISO 8601 with a zone (2026-11-20T15:04:05Z) or 'YYYY-MM-DD HH:MM:SS' in BINVAULT_TZ;
                  every transaction committed at or before that second is restored
  --gtid GTID     a MariaDB GTID (0-1-1234): restore up to and including it, or --before it
  --latest        the latest restorable second
  --host H        the host (default: the only host in the bucket)
  --dry-run       print the plan only

With BINVAULT_RESTORE_STATE_MACHINE_ARN set, starts an execution of the deployed state machine on
AWS instead (a fresh EC2 instance from the launch template) and follows it.
`,
  verify: `usage: binvault verify FILE|s3://BUCKET/KEY… [--json]

Checks each binlog or dump, raw or gzipped, local or in the bucket, in one streaming pass: every
gzip member (CRC32, size, no trailing garbage), the sha256 against the shipper's metadata, and the
content — a binlog's magic, format description, every event header, position and CRC32, its times,
server ids, GTIDs and how it ends; a dump's header, coordinates, GTID state, databases and its
"Dump completed" trailer. --json prints one object per file, in order.

exit: 0 all sound, 1 any failed, 2 usage
`,
  'local up': `usage: binvault local up [--json]

Runs the embedded runtime in the foreground until SIGINT/SIGTERM: an S3-protocol endpoint on
BINVAULT_S3_ENDPOINT (default http://127.0.0.1:4569) with the bucket BINVAULT_BUCKET, its data
under BINVAULT_STATE_DIR/s3. Every command works against it with no AWS account.
`,
  demo: `usage: binvault demo [--json] [--keep]

Starts a throwaway MariaDB/MySQL server (from the binaries on PATH) with a small application and
binlogs on, and the local runtime with its handlers; ships a dump, then binlogs while a workload
runs; shows every object verified and the restorable window; proves every shipped binlog is in the
bucket byte-identical to the file on disk and the active one is not. Exits 0 only if all holds.

  --keep          leave the server and the runtime's data in place (paths are printed)
`,
};

class UsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const main = async (argv: string[]): Promise<number> => {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
          config: { type: 'string' },
          json: { type: 'boolean', default: false },
          verbose: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
          version: { type: 'boolean', default: false },
          loop: { type: 'boolean', default: false },
          interval: { type: 'string' },
          keep: { type: 'boolean', default: false },
          databases: { type: 'string' },
          host: { type: 'string' },
          to: { type: 'string' },
          gtid: { type: 'string' },
          before: { type: 'boolean', default: false },
          latest: { type: 'boolean', default: false },
          'dry-run': { type: 'boolean', default: false },
          step: { type: 'string' },
          plan: { type: 'string' },
          'defaults-file': { type: 'string' },
          day: { type: 'string' },
          'lock-wait-timeout': { type: 'string' },
        },
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  })();
  const io = processIo(values.json, values.verbose);
  // verify takes operands; every other command is its words alone.
  const command = positionals[0] === 'verify' && positionals.length > 1 ? 'verify FILES' : positionals.join(' ');
  if (values.version) {
    io.out(VERSION);
    return 0;
  }
  if (command === '' || command === 'help') {
    io.out(USAGE);
    return command === '' && !values.help ? 2 : 0;
  }
  if (values.help) {
    const help = HELP[command === 'verify FILES' ? 'verify' : command];
    if (!help) throw new UsageError(`unknown command '${command}'`);
    io.out(help);
    return 0;
  }
  const onlyFor = (flag: string, commands: string[]): void => {
    if ((values as Record<string, unknown>)[flag] !== undefined && (values as Record<string, unknown>)[flag] !== false) {
      if (!commands.includes(command)) throw new UsageError(`--${flag} does not apply to '${command}'`);
    }
  };
  onlyFor('loop', ['ship binlogs']);
  onlyFor('interval', ['ship binlogs']);
  onlyFor('keep', ['demo']);
  onlyFor('databases', ['ship dump']);
  onlyFor('host', ['status', 'catalog rebuild', 'restore', 'retention']);
  onlyFor('to', ['restore']);
  onlyFor('gtid', ['restore']);
  onlyFor('before', ['restore']);
  onlyFor('latest', ['restore']);
  onlyFor('dry-run', ['restore', 'retention']);
  onlyFor('step', ['restore apply']);
  onlyFor('plan', ['restore apply']);
  onlyFor('defaults-file', ['restore apply']);
  onlyFor('day', ['catalog rebuild']);
  onlyFor('lock-wait-timeout', ['ship dump']);

  switch (command) {
    case 'ship binlogs': {
      const interval = values.interval === undefined ? 60 : Number(values.interval);
      if (!Number.isFinite(interval) || interval <= 0) throw new UsageError(`--interval '${values.interval ?? ''}' is not a positive number of seconds`);
      if (values.interval !== undefined && !values.loop) throw new UsageError('--interval needs --loop');
      const config = await loadConfig(process.env, values.config);
      return shipBinlogsCommand(config, { loop: values.loop, interval }, io);
    }
    case 'verify FILES':
      return verifyCommand(await loadConfig(process.env, values.config), positionals.slice(1), io);
    case 'verify':
      throw new UsageError('verify needs at least one FILE or s3://BUCKET/KEY');
    case 'ship dump': {
      const timeout = values['lock-wait-timeout'] === undefined ? 60 : Number(values['lock-wait-timeout']);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--lock-wait-timeout '${values['lock-wait-timeout'] ?? ''}' is not a positive number of seconds`);
      const databases = values.databases?.split(',').map((d) => d.trim()).filter((d) => d !== '');
      if (values.databases !== undefined && (!databases || databases.length === 0)) throw new UsageError('--databases needs at least one name');
      const config = await loadConfig(process.env, values.config);
      return shipDumpCommand(config, { lockWaitTimeout: timeout, ...(databases ? { databases } : {}) }, io);
    }
    case 'status':
      return statusCommand(await loadConfig(process.env, values.config), { ...(values.host ? { host: values.host } : {}) }, io);
    case 'catalog rebuild': {
      if (values.day !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.day)) throw new UsageError(`--day '${values.day}' is not YYYY-MM-DD`);
      return catalogRebuildCommand(
        await loadConfig(process.env, values.config),
        { ...(values.host ? { host: values.host } : {}), ...(values.day ? { day: values.day } : {}) },
        io,
      );
    }
    case 'restore': {
      const targets = [values.to !== undefined, values.gtid !== undefined, values.latest].filter(Boolean).length;
      if (targets !== 1) throw new UsageError('restore needs exactly one of --to TIME, --gtid GTID, --latest');
      if (values.before && values.gtid === undefined) throw new UsageError('--before goes with --gtid');
      return restoreCommand(
        await loadConfig(process.env, values.config),
        {
          ...(values.to !== undefined ? { to: values.to } : {}),
          ...(values.gtid !== undefined ? { gtid: values.gtid, mode: values.before ? 'before' : 'after' } : {}),
          latest: values.latest,
          ...(values.host ? { host: values.host } : {}),
          dryRun: values['dry-run'],
        },
        io,
      );
    }
    case 'retention':
      return retentionCommand(await loadConfig(process.env, values.config), { dryRun: values['dry-run'], ...(values.host ? { host: values.host } : {}) }, io);
    case 'restore apply': {
      if (!values.step || !values['defaults-file']) throw new UsageError('restore apply needs --step load|replay|reached and --defaults-file');
      return restoreApplyCommand(
        await loadConfig(process.env, values.config),
        { step: values.step, defaultsFile: values['defaults-file'], ...(values.plan ? { plan: values.plan } : {}) },
        io,
      );
    }
    case 'local up':
      return localUpCommand(await loadConfig(process.env, values.config), io);
    case 'demo':
      return demoCommand({ keep: values.keep }, io);
    default:
      throw new UsageError(`unknown command '${command}' (binvault --help lists them)`);
  }
};

// The SDK warns on stderr that future versions need Node 22; a host on Node 20 is supported here,
// and the warning would break the one-line error contract.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const verbose = process.argv.includes('--verbose');
main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    const err = error instanceof Error ? error : new Error(String(error));
    process.stderr.write(`binvault: ${err.message}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode =
      err instanceof UsageError ? 2 : err.name === 'BinlogGapError' ? 3 : 1;
  });
