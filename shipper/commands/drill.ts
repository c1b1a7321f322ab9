import { join } from 'node:path';
import type { Config } from '../../core/config.js';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { ConfigurationError, NothingToDrillError, RestoreFailedError, RestoreRefusedError, UsageError } from '../../core/errors.js';
import { areaRoot, parseKey, parseS3Url } from '../../core/layout.js';
import type { ObjectStore } from '../../core/ports.js';
import { newDrillExecution } from '../../core/restore/drill.js';
import { sfnClientFor } from '../../drivers/aws/sfn.js';
import { systemClock, type ProvisionedInstance } from '../../core/ports.js';
import type { DrillRecord } from '../../core/restore/drill.js';
import type { SkippedDrillOutput } from '../../core/restore/drill-workflow.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { FileAlerts } from '../../drivers/local/file-alerts.js';
import { MysqlInstanceReader } from '../../drivers/mysql/compare.js';
import { readOptionFile } from '../../drivers/mysql/option-file.js';
import { formatSeconds } from '../lib/format.js';
import type { Command } from './command.js';
import { followExecution } from './execution.js';
import type { CommandIo } from './io.js';
import { progressView } from './progress.js';
import { chooseHost } from './restore.js';

const show = (record: DrillRecord, io: CommandIo): void => {
  if (io.json) {
    io.out(JSON.stringify(record));
    return;
  }
  const t = record.timings;
  const verdict = record.result === 'proven' ? 'proven' : 'FAILED';
  io.out(`drill of ${record.host}, window ${record.window.from} → ${record.window.to}: ${verdict}`);
  io.out(`  restored ${record.dumps.from} + ${record.binlogs.length} binlog(s) to ${record.stop.binlogFile}:${record.stop.position}, compared with ${record.dumps.to}`);
  io.out(`  compared ${record.tables} table(s) (CHECKSUM TABLE, rows, columns) and ${record.definitions} routine/trigger/event/view definition(s)${record.withoutPrimaryKey.length > 0 ? `; without a primary key: ${record.withoutPrimaryKey.join(', ')}` : ''}`);
  if (record.gtids) io.out(`  reached  GTID ${record.gtids.reached || '(none)'}${record.gtids.laterDump ? `, the later dump's: ${record.gtids.laterDump}` : ''}`);
  for (const d of record.differences) io.out(`  differs  ${d.message}`);
  if (record.error) io.out(`  error    ${record.error}`);
  io.out(`  timings  load ${formatSeconds(t.loadSeconds)}, replay ${formatSeconds(t.replaySeconds)}, later dump ${formatSeconds(t.laterLoadSeconds)}, compare ${formatSeconds(t.compareSeconds)}, total ${formatSeconds(t.totalSeconds)}`);
};

/**
 * A host with fewer than two verified dumps has nothing to drill yet (a new host's weekly drill): not
 * a failure, as the drill state machine's NothingToDrill. One line — with --json the machine's output,
 * `{"result": "skipped", "host", "message": "skipped: …"}` — and exit 0.
 */
const showSkipped = (skipped: SkippedDrillOutput, io: CommandIo): number => {
  io.out(io.json ? JSON.stringify(skipped) : `drill ${skipped.message}`);
  return 0;
};

export const command: Command = {
  name: 'drill',
  synopsis: '[--host H] [--window DUMP] [--aws]',
  summary: 'prove a window by restoring it and comparing with the next dump',
  help: `Proves a window between two verified dumps: restores the earlier dump and every binlog up to the
later dump's exact coordinates into one new instance, loads the later dump into another, and compares
them — every table's CHECKSUM TABLE, row count and columns, and every routine, trigger, event and view
definition. Equal: the earlier dump, each binlog between them and the restore itself are proven.
Writes a drill record under {prefix}/{host}/drills/ (status shows the last one), alerts drill-failed
naming what differs, and removes both instances. Runs on this machine (the servers from PATH), or
with --aws on two EC2 instances through the stack's drill state machine (infra/drill.asl.json).
A host with fewer than two verified dumps has nothing to drill yet (a new host's weekly timer): the
drill is skipped, here or with --aws, as the state machine skips it — one line, "drill skipped: a
drill needs two verified dumps of H; it has 1" (--json: {"result": "skipped", "host": H,
"message": "skipped: …"}), no record, no alert, exit 0.

  --host H        the host (default: the only host in the bucket)
  --window DUMP   the later dump of the window (its file name); default: the newest window whose
                  binlogs are all shipped
  --aws           run it on AWS: start an execution of the stack's drill state machine
                  (BINVAULT_DRILL_STATE_MACHINE_ARN, arn:aws:states:REGION:ACCOUNT:stateMachine:
                  binvault-drill-STAGE) and follow it; two EC2 instances of the restore's launch
                  template, removed at the end. Same as: aws stepfunctions start-execution
                  --state-machine-arn ARN --input '{"host": "db1", "window": "db1-….sql.gz"}'
                  A host with fewer than two verified dumps: the execution succeeds with
                  {"result": "skipped", "message": "skipped: …"} (no record, no alert; the
                  weekly schedule of a new host), and this says "drill skipped: …" and exits 0.

BINVAULT_DRILL=every-dump makes \`ship dump\` drill the window its dump closes, once the dump and the
binlogs up to its coordinates are verified (it waits up to 15 minutes); the timer or cron line runs
the weekly drill. BINVAULT_DRILL=off: no drills are expected (no drill-stale alert).

Exit codes: 0 proven, or skipped (fewer than two verified dumps); 1 failed (what differs is
printed) or could not run, a refusal included (no such host, no such window, a window not drillable
yet); 2 usage.
`,
  options: {
    host: { type: 'string' },
    window: { type: 'string' },
    aws: { type: 'boolean' },
  },
  run: async ({ values, config: readConfig, io }) => {
    const config = await readConfig();
    const store = S3Store.fromConfig(config);
    const host = await chooseHost(store, config, typeof values.host === 'string' ? values.host : undefined);
    const window = typeof values.window === 'string' ? { window: values.window } : {};
    if (values.aws === true) {
      const arn = config.drillStateMachineArn;
      if (!arn) throw new ConfigurationError('--aws needs BINVAULT_DRILL_STATE_MACHINE_ARN (the stack’s binvault-drill-STAGE state machine)');
      return drillOnAws(sfnClientFor(arn), arn, store, config.prefix, { host, ...window }, io);
    }
    return drillCommand(config, { host, ...window }, io, store).catch((error: unknown) => {
      if (error instanceof NothingToDrillError) return showSkipped({ result: 'skipped', host, message: `skipped: ${error.message}` }, io);
      throw error;
    });
  },
};

/**
 * One drill, shown; exit 0 proven, 1 failed. With `waitSeconds`, a window that cannot be drilled
 * yet (its later dump or a binlog before its coordinates not verified and catalogued) is tried again
 * every few seconds until it can, or the time is up (then the last refusal is the error).
 */
export const drillCommand = async (
  config: Config,
  args: { host: string; window?: string; waitSeconds?: number },
  io: CommandIo,
  store: ObjectStore = S3Store.fromConfig(config),
): Promise<number> => {
  const { runLocalDrill } = await import('../../local/cli.js');
  const deadline = Date.now() + (args.waitSeconds ?? 0) * 1000;
  const progress = progressView(io);
  let record: DrillRecord;
  try {
    for (;;) {
      try {
        record = await runLocalDrill(
          {
            store,
            prefix: config.prefix,
            stateDir: config.stateDir,
            alerts: new FileAlerts(join(config.stateDir, 'alerts.jsonl'), (line) => io.verbose && progress.line(line, io.err)),
            clock: systemClock,
            onProgress: (p) => {
              if (p.total) progress.update({ phase: p.phase, done: p.bytes, total: p.total });
            },
          },
          { host: args.host, ...(args.window ? { window: args.window } : {}) },
        );
        break;
      } catch (error) {
        if (!(error instanceof RestoreRefusedError) || Date.now() + DRILL_RETRY_MS > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, DRILL_RETRY_MS));
      }
    }
  } finally {
    progress.done();
  }
  show(record, io);
  return record.result === 'proven' ? 0 : 1;
};

/**
 * `binvault drill --aws`: one execution of the drill state machine, followed to its end; the record
 * it wrote is shown as a local drill's. Exit 0 proven or skipped (the host has fewer than two verified
 * dumps: the execution's output shown as a local drill's skip), 1 failed or refused (the execution's error).
 */
export const drillOnAws = async (sfn: SFNClient, stateMachineArn: string, store: ObjectStore, prefix: string, args: { host: string; window?: string }, io: CommandIo, pollMs = 10_000): Promise<number> => {
  const name = newDrillExecution(systemClock);
  const { arn, described } = await followExecution(sfn, { stateMachineArn, name, input: { ...args, execution: name } }, io, pollMs);
  // A host with fewer than two verified dumps: the execution succeeded, skipped; nothing was proven.
  const output = described.status === 'SUCCEEDED' && described.output ? (JSON.parse(described.output) as Partial<SkippedDrillOutput>) : undefined;
  if (output?.result === 'skipped') return showSkipped({ result: 'skipped', host: output.host ?? args.host, message: output.message ?? 'skipped' }, io);
  // The record, wherever its day put it (a refused drill has none).
  const listed = (await store.list(areaRoot({ prefix, host: args.host }, 'drills'))).keys.map((k) => k.key);
  const key = listed.find((k) => { const ref = parseKey(k); return ref?.area === 'drills' && ref.execution === name; });
  if (!key) throw new RestoreFailedError(`drill ${(described.status ?? '?').toLowerCase()}: ${described.error ?? ''} ${described.cause ?? ''} (no record: see ${arn})`.trim());
  const record = JSON.parse((await store.getBytes(key)).toString('utf8')) as DrillRecord;
  show(record, io);
  return record.result === 'proven' ? 0 : 1;
};

/** How often a drill that waits for its window tries again. */
const DRILL_RETRY_MS = 5000;

/**
 * `binvault drill snapshot --to s3://B/K --defaults-file F`: what a drill compares of the server
 * this runs beside, written to the bucket (on AWS the drill state machine runs it on each of its two
 * instances through SSM); prints one short line of JSON (the key, tables, definitions, bytes, seconds).
 */
export const drillSnapshotCommand = async (config: Config, args: { to: string; defaultsFile: string }, io: CommandIo): Promise<number> => {
  const address = parseS3Url(args.to);
  if (!address || !/\/drills\/[^/]+\/[^/]+\/(restored|dump)\.json$/.test(address.key)) throw new ConfigurationError(`--to '${args.to}' is not an s3://bucket/…/drills/{day}/{execution}/{restored|dump}.json`);
  const started = Date.now();
  const options = await readOptionFile(args.defaultsFile);
  const instance: ProvisionedInstance = {
    id: 'local',
    kind: 'local',
    host: options.host ?? 'localhost',
    port: options.port ?? 3306,
    ...(options.socket ? { socket: options.socket } : {}),
    user: options.user ?? 'root',
    defaultsFile: args.defaultsFile,
  };
  const snapshot = await new MysqlInstanceReader().snapshot(instance);
  const body = JSON.stringify(snapshot);
  await S3Store.fromConfig({ ...config, bucket: address.bucket }).put(address.key, body, { contentType: 'application/json' });
  const result = { key: address.key, tables: Object.keys(snapshot.tables).length, definitions: Object.keys(snapshot.definitions).length, bytes: Buffer.byteLength(body), seconds: Math.round((Date.now() - started) / 100) / 10 };
  io.out(io.json ? JSON.stringify(result) : `snapshot of ${result.tables} table(s) and ${result.definitions} definition(s) written to ${args.to}`);
  return 0;
};

export const snapshot: Command = {
  name: 'drill snapshot',
  synopsis: '--to s3://BUCKET/KEY --defaults-file F',
  summary: "a drill's snapshot of the server beside it, to the bucket (run on the drill's instances)",
  help: `What a drill compares of one server — every user table's CHECKSUM TABLE EXTENDED, row count and
columns, every routine, trigger, event and view definition — written as JSON to the bucket. The drill
state machine runs it through SSM on each of its two instances, under the drill's own key
({prefix}/{host}/drills/{day}/{execution}/restored.json or dump.json: the only keys a restore instance
may write); standard output keeps one short line (SSM returns only its first 24,000 characters).

  --to s3://B/K       where the snapshot goes (…/drills/{day}/{execution}/{restored|dump}.json)
  --defaults-file F   the server's option file (0600: user, password, socket)
`,
  options: { to: { type: 'string' }, 'defaults-file': { type: 'string' } },
  run: async ({ values, config, io }) => {
    const defaultsFile = values['defaults-file'];
    if (typeof values.to !== 'string' || typeof defaultsFile !== 'string') throw new UsageError('drill snapshot needs --to s3://… and --defaults-file');
    return drillSnapshotCommand(await config(), { to: values.to, defaultsFile }, io);
  },
};
