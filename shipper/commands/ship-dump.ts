import { areaRoot, parseKey } from '../../core/layout.js';
import { systemClock } from '../../core/ports.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { VERSION } from '../../core/version.js';
import type { Config } from '../../core/config.js';
import { selectCompressor } from '../lib/compress.js';
import { lowerPriority, startImpact, type HostImpact } from '../lib/compress-host.js';
import { formatBytes, formatSeconds } from '../lib/format.js';
import { readOptionFile } from '../../drivers/mysql/option-file.js';
import { shipDump } from '../lib/ship-dump.js';
import { UsageError } from '../../core/errors.js';
import { secondsOption, type Command } from './command.js';
import type { CommandIo } from './io.js';
import { progressView } from './progress.js';
import { underLock } from './locked.js';

export interface ShipDumpArgs {
  databases?: string[];
  /** Seconds. @default 60 */
  lockWaitTimeout: number;
}

/** `binvault ship dump [--databases a,b] [--lock-wait-timeout S]` */
export const shipDumpCommand = async (config: Config, args: ShipDumpArgs, io: CommandIo): Promise<number> => {
  let shipped: string | undefined;
  // Two dumps never overlap: the first users once found eleven stuck behind one read lock.
  const code = await underLock(config, 'dump', 'ship dump', async ({ state, store, signal }) => {
    // The host runs the application and its database: the shipper is a guest there.
    const priority = lowerPriority(config.shipping.nice);
    const impact = startImpact();
    const compressor = await selectCompressor(config.shipping);
    if (compressor.fallback) io.err(`binvault: ${compressor.fallback}; compressing with zlib instead`);
    const progress = progressView(io);
    let result: Awaited<ReturnType<typeof shipDump>>;
    try {
      result = await shipDump({
        client: await readOptionFile(config.mysqlDefaultsFile),
        store,
        state,
        scope: config,
        timeZone: config.timeZone,
        clock: systemClock,
        shipperVersion: VERSION,
        ...(args.databases ? { databases: args.databases } : {}),
        lockWaitTimeout: args.lockWaitTimeout,
        compressor,
        signal,
        listener: (event) => {
          if (event.type === 'progress') {
            // The estimate is the tables' data: the dump may outgrow it, and the bar then stays full.
            progress.update({ phase: 'dump', done: event.rawBytes, total: Math.max(event.estimatedBytes, event.rawBytes), estimated: true });
          } else if (io.json) {
            io.out(JSON.stringify(event.type === 'shipped' ? { ...event, facts: undefined } : event));
          } else if (event.type === 'started' && io.verbose) {
            progress.line(`dumping with ${event.tool} ${event.options.join(' ')}`, io.err);
          } else if (event.type === 'cleaned') {
            progress.line(`removed ${store.url(event.key)} left by an interrupted dump`, io.out);
          } else if (event.type === 'shipped') {
            progress.done();
            const f = event.facts;
            const at = f.binlogFile ? ` consistent with ${f.binlogFile}:${f.binlogPosition ?? '?'}${f.gtids ? ` (GTIDs ${f.gtids})` : ''}` : '';
            io.out(
              `shipped dump ${formatBytes(event.rawBytes)} → ${formatBytes(event.storedBytes)} in ${formatSeconds(event.seconds)}${at}  ${store.url(event.key)}`,
            );
          }
        },
      });
    } finally {
      progress.done();
    }
    const cost = impact.finish({ bytesRead: result.rawBytes, bytesSent: result.storedBytes, childPeakRss: result.childPeakRss, compressor: result.compressor, priority });
    if (io.json) io.out(JSON.stringify({ type: 'result', ...result, childPeakRss: undefined, compressor: undefined, impact: cost }));
    else io.out(describeImpact(cost, 'the dump tool'));
    shipped = result.key;
    return 0;
  });
  if (code !== 0 || shipped === undefined || config.drill !== 'every-dump') return code;
  return drillAfterDump(config, shipped, io);
};

/** How long `ship dump` waits, with BINVAULT_DRILL=every-dump, for its dump's window to be drillable. */
const DRILL_WAIT_SECONDS = 900;

/**
 * BINVAULT_DRILL=every-dump: the window this dump closes, drilled once the dump and the binlogs up to
 * its coordinates are verified (after the dump lock is released). The first dump closes no window.
 */
const drillAfterDump = async (config: Config, key: string, io: CommandIo): Promise<number> => {
  const store = S3Store.fromConfig(config);
  const dumps = (await store.list(areaRoot(config, 'dumps'))).keys.filter((k) => parseKey(k.key)?.area === 'dumps');
  const name = key.split('/').pop() ?? key;
  if (dumps.length < 2) {
    io.out(io.json ? JSON.stringify({ type: 'drill', skipped: 'the first dump of the host closes no window' }) : `no drill: the first dump of ${config.host} closes no window yet`);
    return 0;
  }
  const { drillCommand } = await import('./drill.js');
  return drillCommand(config, { host: config.host, window: name, waitSeconds: DRILL_WAIT_SECONDS }, io, store);
};

/** One line: what the run cost the host. */
export const describeImpact = (cost: HostImpact, children: string): string =>
  `host: ${cost.cpuSeconds.total.toFixed(1)} CPU s (binvault ${cost.cpuSeconds.self.toFixed(1)} s, ${children} ${cost.cpuSeconds.children.toFixed(1)} s), ` +
  `read ${formatBytes(cost.bytesRead)}, sent ${formatBytes(cost.bytesSent)}, peak RSS ${formatBytes(cost.peakRssBytes)}; ${cost.compressor}; nice ${cost.priority.nice}, I/O ${cost.priority.io}`;

export const command: Command = {
  name: 'ship dump',
  synopsis: '[--databases a,b] [--lock-wait-timeout S]',
  summary: 'one consistent dump, streamed and compressed to the bucket',
  help: `Runs the server's own dump tool (mysqldump or mariadb-dump) with --single-transaction --routines
--triggers --events --hex-blob, the binlog coordinates (--source-data=2 / --master-data=2) and the
GTID state (--set-gtid-purged=COMMENTED / --gtid), compresses its output (ISA-L's igzip when
installed, else zlib on BINVAULT_MAX_CORES threads) at a lower CPU and I/O priority, and streams it
to {prefix}/{host}/dumps/{day}/{host}-{stamp}.sql.gz, completed only once the dump ended cleanly:
its coordinates in the metadata, its sha256 and size in its seal. Nothing touches local disk; the password reaches the tool through a 0600 option file in
a private directory, removed afterwards. Any failure leaves no object. --json ends with a result
line: the object, and what the run cost the host (CPU seconds, bytes read and sent, peak RSS).

  --databases a,b          only these databases (default: all)
  --lock-wait-timeout S    cancel the dump, and kill its server session, when it has waited S
                           seconds for a lock (FLUSH TABLES WITH READ LOCK behind a long query, a
                           metadata lock); the error names the blocking query (default 60)

With BINVAULT_DRILL=every-dump, the window this dump closes is then drilled (binvault drill), once
the dump and the binlogs up to its coordinates are verified (up to 15 minutes); exit 1 when that
drill fails.

exit: 0 done, 1 error, 2 usage
`,
  options: { databases: { type: 'string' }, 'lock-wait-timeout': { type: 'string' } },
  run: async ({ values, config, io }) => {
    const lockWaitTimeout = secondsOption(values, 'lock-wait-timeout', 60);
    const given = values.databases;
    const databases = typeof given === 'string' ? given.split(',').map((d) => d.trim()).filter((d) => d !== '') : undefined;
    if (given !== undefined && (!databases || databases.length === 0)) throw new UsageError('--databases needs at least one name');
    return shipDumpCommand(await config(), { lockWaitTimeout, ...(databases ? { databases } : {}) }, io);
  },
};
