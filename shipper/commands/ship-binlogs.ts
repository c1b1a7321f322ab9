import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, UsageError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import { VERSION } from '../../core/version.js';
import type { Config } from '../../core/config.js';
import { selectCompressor } from '../lib/compress.js';
import { lowerPriority, startImpact } from '../lib/compress-host.js';
import { LockedError } from '../lib/errors.js';
import { formatBytes, formatSeconds } from '../lib/format.js';
import { MysqlSession } from '../../drivers/mysql/session.js';
import { readOptionFile } from '../../drivers/mysql/option-file.js';
import { shipBinlogs, type ShipBinlogsEvent } from '../lib/ship-binlogs.js';
import type { S3Store } from '../../drivers/aws/s3.js';
import { secondsOption, type Command } from './command.js';
import type { CommandIo } from './io.js';
import { progressView } from './progress.js';
import { underLock } from './locked.js';
import { describeImpact, shipDumpCommand } from './ship-dump.js';
import { loadCatalog } from '../../core/catalog/manifests.js';
import { dumpDue, estimateHost } from '../../core/restore/rto.js';
import type { StateDir } from '../lib/state.js';

export interface ShipBinlogsArgs {
  loop: boolean;
  /** Seconds between runs with `--loop`. @default BINVAULT_SHIP_INTERVAL (5) */
  interval: number;
  /** With `--loop`, a run starts at once when the active binlog passes this size. @default BINVAULT_SHIP_ROTATE_MB (32 MiB) */
  rotateBytes?: number;
}

/**
 * Waits out the interval, or less: polls (once a second, a stat) whether the active binlog passed
 * `rotateBytes`, so that a burst of writes is shipped at once instead of at the next tick.
 */
export const waitForNextRun = async (options: { seconds: number; activePath?: string; rotateBytes?: number; signal: AbortSignal }): Promise<'interval' | 'size'> => {
  const end = Date.now() + options.seconds * 1000;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) return 'interval';
    await sleep(Math.min(left, 1000), undefined, { signal: options.signal });
    if (options.activePath && options.rotateBytes !== undefined) {
      const size = await stat(options.activePath).then((s) => s.size, () => 0);
      if (size >= options.rotateBytes) return 'size';
    }
  }
};

const describe = (event: ShipBinlogsEvent, store: S3Store): string | undefined => {
  switch (event.type) {
    case 'server':
      return `server ${event.server.version.text} (server id ${event.server.serverId}); active binlog ${event.active}`;
    case 'cleaned':
      return `removed an unfinished upload of ${store.url(event.key)} left by an interrupted run`;
    case 'reset':
      return `binlog numbering restarted (${event.previousLast} → ${event.active}): a new lineage (RESET MASTER or a restored server)`;
    case 'skipped':
      return `already shipped ${event.key.split('/').pop() ?? event.key} (same sha256)`;
    case 'uploading':
    case 'progress':
      return undefined;
    case 'shipped': {
      const rate = event.seconds > 0 ? ` (${(event.rawBytes / 1e6 / event.seconds).toFixed(0)} MB/s)` : '';
      return `shipped ${event.name}  ${formatBytes(event.rawBytes)} → ${formatBytes(event.storedBytes)} in ${formatSeconds(event.seconds)}${rate}  ${store.url(event.key)}`;
    }
    case 'gap':
      return `GAP: ${event.missing.join(', ')} purged by the server before they were shipped (recorded at ${store.url(event.recordKey)})`;
  }
};

/** `--loop` checks the RTO budget at most this often. */
const BUDGET_CHECK_MS = 60_000;

/** `{stateDir}/rto-dump.json`: when the shipper last started a dump for the RTO budget, and why. */
const RTO_DUMP = 'rto-dump.json';

/**
 * Whether the RTO budget needs a dump now (core/restore/rto.ts dumpDue): the estimate would pass
 * BINVAULT_RTO_SECONDS before the next scheduled dump, and no dump was taken within
 * BINVAULT_DUMP_MIN_INTERVAL. The start is written down first, so that a dump that fails is not
 * retried before the interval is over either.
 */
export const rtoDumpDecision = async (config: Config, store: S3Store, state: StateDir): Promise<{ due: boolean; reason: string }> => {
  const now = systemClock.now();
  const catalog = await loadCatalog(store, config, now, { delayGraceSeconds: config.delayGraceSeconds });
  const estimate = await estimateHost(store, config, catalog);
  if (!estimate) return { due: false, reason: 'no verified dump yet: nothing to estimate' };
  const last = await state.readJson<{ at: string }>(RTO_DUMP);
  const decision = dumpDue({
    estimate,
    budgetSeconds: config.thresholds.rtoSeconds,
    dumpIntervalSeconds: config.thresholds.dumpIntervalSeconds,
    minIntervalSeconds: config.dumpMinIntervalSeconds,
    ...(last?.at ? { lastTakenAt: last.at } : {}),
    now,
  });
  if (decision.due) await state.writeJson(RTO_DUMP, { at: now.toISOString(), reason: decision.reason, estimateSeconds: estimate.seconds });
  return decision;
};

/** `binvault ship binlogs [--loop] [--interval S]` */
export const shipBinlogsCommand = async (config: Config, args: ShipBinlogsArgs, io: CommandIo): Promise<number> => {
  return underLock(config, 'binlogs', 'ship binlogs', async ({ state, store, signal, received }) => {
    // The host runs the application and its database: the shipper is a guest there.
    const priority = lowerPriority(config.shipping.nice);
    const compressor = await selectCompressor(config.shipping);
    if (compressor.fallback) io.err(`binvault: ${compressor.fallback}; compressing with zlib instead`);
    let activePath: string | undefined;
    let runs = 0;
    const runOnce = async (): Promise<void> => {
      const impact = startImpact();
      const client = await readOptionFile(config.mysqlDefaultsFile);
      const session = await MysqlSession.connect(client);
      const progress = progressView(io);
      try {
        const result = await shipBinlogs({
          source: session,
          store,
          state,
          scope: config,
          timeZone: config.timeZone,
          clock: systemClock,
          shipperVersion: VERSION,
          compressor,
          signal,
          cleanUploads: runs++ === 0,
          listener: (event) => {
            if (event.type === 'progress') {
              progress.update({ phase: 'binlogs', done: event.rawBytes, total: event.totalBytes });
              return;
            }
            if (io.json) {
              const { server: _server, ...rest } = event as ShipBinlogsEvent & { server?: unknown };
              io.out(JSON.stringify(rest));
              return;
            }
            const line = describe(event, store);
            if (line !== undefined && (event.type !== 'server' || io.verbose)) progress.line(line, io.out);
          },
        });
        progress.done();
        activePath = result.activePath;
        const cost = impact.finish({ bytesRead: result.bytesRead, bytesSent: result.bytesSent, childPeakRss: result.childPeakRss, compressor: compressor.description, priority });
        if (io.json) {
          const { bytesRead: _read, bytesSent: _sent, childPeakRss: _rss, ...rest } = result;
          io.out(JSON.stringify({ type: 'result', ...rest, impact: cost }));
        } else if (!args.loop) {
          io.out(
            `${result.shipped.length} shipped, ${result.skipped.length} already in the bucket; ${result.active} is active and stays on the server until it closes`,
          );
          io.out(describeImpact(cost, 'compressor'));
        } else if (io.verbose) {
          io.out(describeImpact(cost, 'compressor'));
        }
      } finally {
        progress.done();
        await session.close();
      }
    };

    // The dump the RTO budget asked for: one at a time here, and the dump lock keeps out any other.
    let dumping = undefined as Promise<void> | undefined;
    let budgetCheckedAt = -Infinity;
    // The running dump is handed back wrapped: an async function would wait for a promise it returns.
    const dumpForBudget = async (): Promise<{ running?: Promise<void> }> => {
      if (dumping) return {};
      // The check reads the catalog, the binlog listing and the rates: once a minute is enough for a
      // budget counted in minutes, where runs come every few seconds.
      if (performance.now() - budgetCheckedAt < BUDGET_CHECK_MS) return {};
      budgetCheckedAt = performance.now();
      const decision = await rtoDumpDecision(config, store, state);
      if (!decision.due) {
        if (io.verbose) io.err(`binvault: no dump needed: ${decision.reason}`);
        return {};
      }
      io.err(`binvault: taking a dump for the RTO budget: ${decision.reason}`);
      // A dump for the budget is not followed by a drill (BINVAULT_DRILL=every-dump drills the
      // scheduled dumps' windows): a drill on the host while the loop ships would hold it for long.
      dumping = shipDumpCommand({ ...config, drill: config.drill === 'every-dump' ? 'scheduled' : config.drill }, { lockWaitTimeout: 60 }, io)
        .then(
          (code) => {
            if (code !== 0) io.err(`binvault: the dump for the RTO budget ended with exit ${code}`);
          },
          (error: unknown) => {
            if (error instanceof LockedError) io.err(`binvault: not taking another dump: ${(error as Error).message}`);
            else throw error;
          },
        )
        .finally(() => (dumping = undefined));
      return { running: dumping };
    };

    if (!args.loop) {
      await runOnce();
      await (await dumpForBudget()).running;
      return 0;
    }
    for (;;) {
      try {
        await runOnce();
        // Shipping goes on while the dump runs: the loop does not wait for it.
        (await dumpForBudget()).running?.catch((error: unknown) => io.err(`binvault: the dump for the RTO budget failed: ${(error as Error).message}`));
      } catch (error) {
        if (signal.aborted) break;
        // Only what a later run cannot fix ends the loop; the rest is reported and retried.
        if (error instanceof ConfigurationError || error instanceof LockedError) throw error;
        io.err(`binvault: ${(error as Error).message}`);
      }
      try {
        await waitForNextRun({ seconds: args.interval, signal, ...(activePath ? { activePath } : {}), ...(args.rotateBytes ? { rotateBytes: args.rotateBytes } : {}) });
      } catch {
        break;
      }
    }
    // A dump in progress was aborted by the same signal: it leaves nothing behind once it has ended.
    await dumping?.catch(() => undefined);
    io.err(`binvault: ${received() ?? 'signal'} received; stopped cleanly`);
    return 0;
  });
};

export const command: Command = {
  name: 'ship binlogs',
  synopsis: '[--loop] [--interval S]',
  summary: 'rotate, then upload every closed binlog not yet shipped',
  help: `Runs FLUSH BINARY LOGS, then uploads every closed binlog not yet shipped, oldest first, gzipped,
to {prefix}/{host}/binlogs/{day}/{name}.gz with sha256 and size in its metadata. Never the active
binlog. A binlog already shipped with the same sha256 is skipped; the same key with different
content is an error. Safe to kill and rerun. Binlogs the server purged before they were shipped
are recorded as a gap in the bucket and named on stderr (exit 3).

The RTO budget: after a run (with --loop, at most once a minute), when a restore to the latest second would take longer than
BINVAULT_RTO_SECONDS before the next scheduled dump (BINVAULT_DUMP_INTERVAL_HOURS after the last
one), at the rates restores of this host measured, it takes a dump itself (as binvault ship dump;
with --loop, shipping goes on meanwhile) — at most every BINVAULT_DUMP_MIN_INTERVAL (default 1h),
never while another dump runs (the dump lock).

  --loop          keep shipping every S seconds until SIGTERM/SIGINT; a run also starts at once when
                  the active binlog passes BINVAULT_SHIP_ROTATE_MB (default 32). A server with no
                  change is not rotated (only every 5 minutes, so the restorable time keeps up).
  --interval S    seconds between runs with --loop (default BINVAULT_SHIP_INTERVAL, 5): the RPO
                  against the cost — each run with changes ships one binlog (about 13.5 S3
                  requests and 2 function invocations, shipped, verified and catalogued)

exit: 0 done, 1 error, 2 usage, 3 a gap was found (everything still present was shipped)
`,
  options: { loop: { type: 'boolean' }, interval: { type: 'string' } },
  run: async ({ values, config, io }) => {
    const given = values.interval !== undefined ? secondsOption(values, 'interval', 0) : undefined;
    if (given !== undefined && values.loop !== true) throw new UsageError('--interval needs --loop');
    const settings = await config();
    const interval = given ?? settings.shipping.intervalSeconds;
    return shipBinlogsCommand(settings, { loop: values.loop === true, interval, rotateBytes: settings.shipping.rotateBytes }, io);
  },
};
