import { join } from 'node:path';
import type { Config } from '../../core/config.js';
import { RestoreRefusedError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import type { DrillRecord } from '../../core/restore/drill.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { FileAlerts } from '../../drivers/local/file-alerts.js';
import { formatSeconds } from '../lib/format.js';
import type { Command } from './command.js';
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

export const command: Command = {
  name: 'drill',
  synopsis: '[--host H] [--window DUMP]',
  summary: 'prove a window by restoring it and comparing with the next dump',
  help: `Proves a window between two verified dumps: restores the earlier dump and every binlog up to the
later dump's exact coordinates into one new instance, loads the later dump into another, and compares
them — every table's CHECKSUM TABLE, row count and columns, and every routine, trigger, event and view
definition. Equal: the earlier dump, each binlog between them and the restore itself are proven.
Writes a drill record under {prefix}/{host}/drills/ (status shows the last one), alerts drill-failed
naming what differs, and removes both instances. Runs on this machine (the servers from PATH).

  --host H        the host (default: the only host in the bucket)
  --window DUMP   the later dump of the window (its file name); default: the newest window whose
                  binlogs are all shipped

BINVAULT_DRILL=every-dump makes \`ship dump\` drill the window its dump closes, once the dump and the
binlogs up to its coordinates are verified (it waits up to 15 minutes); the timer or cron line runs
the weekly drill. BINVAULT_DRILL=off: no drills are expected (no drill-stale alert).

Exit codes: 0 proven, 1 failed (what differs is printed) or could not run, 2 usage.
`,
  options: {
    host: { type: 'string' },
    window: { type: 'string' },
  },
  run: async ({ values, config: readConfig, io }) => {
    const config = await readConfig();
    const store = S3Store.fromConfig(config);
    const host = await chooseHost(store, config, typeof values.host === 'string' ? values.host : undefined);
    return drillCommand(config, { host, ...(typeof values.window === 'string' ? { window: values.window } : {}) }, io);
  },
};

/**
 * One drill, shown; exit 0 proven, 1 failed. With `waitSeconds`, a window that cannot be drilled
 * yet (its later dump or a binlog before its coordinates not verified and catalogued) is tried again
 * every few seconds until it can, or the time is up (then the last refusal is the error).
 */
export const drillCommand = async (config: Config, args: { host: string; window?: string; waitSeconds?: number }, io: CommandIo): Promise<number> => {
  const store = S3Store.fromConfig(config);
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

/** How often a drill that waits for its window tries again. */
const DRILL_RETRY_MS = 5000;
