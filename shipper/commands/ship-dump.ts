import { systemClock } from '../../core/ports.js';
import { VERSION } from '../../core/version.js';
import { selectCompressor } from '../lib/compress.js';
import { lowerPriority, startImpact, type HostImpact } from '../lib/compress-host.js';
import type { BinvaultConfig } from '../lib/config.js';
import { formatBytes, formatSeconds } from '../lib/format.js';
import { readOptionFile } from '../lib/option-file.js';
import { shipDump } from '../lib/ship-dump.js';
import type { CommandIo } from './io.js';
import { underLock } from './locked.js';

export interface ShipDumpArgs {
  databases?: string[];
  /** Seconds. @default 60 */
  lockWaitTimeout: number;
}

/** `binvault ship dump [--databases a,b] [--lock-wait-timeout S]` */
export const shipDumpCommand = async (config: BinvaultConfig, args: ShipDumpArgs, io: CommandIo): Promise<number> => {
  // Two dumps never overlap: the first users once found eleven stuck behind one read lock.
  return underLock(config, 'dump', 'ship dump', async ({ state, store, signal }) => {
    // The host runs the application and its database: the shipper is a guest there.
    const priority = lowerPriority(config.shipping.nice);
    const impact = startImpact();
    const compressor = await selectCompressor(config.shipping);
    if (compressor.fallback) io.err(`binvault: ${compressor.fallback}; compressing with zlib instead`);
    const result = await shipDump({
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
        if (io.json) {
          io.out(JSON.stringify(event.type === 'shipped' ? { ...event, facts: undefined } : event));
        } else if (event.type === 'started' && io.verbose) {
          io.err(`dumping with ${event.tool} ${event.options.join(' ')}`);
        } else if (event.type === 'cleaned') {
          io.out(`removed ${store.url(event.key)} left by an interrupted dump`);
        } else if (event.type === 'shipped') {
          const f = event.facts;
          const at = f.binlogFile ? ` consistent with ${f.binlogFile}:${f.binlogPosition ?? '?'}${f.gtids ? ` (GTIDs ${f.gtids})` : ''}` : '';
          io.out(
            `shipped dump ${formatBytes(event.rawBytes)} → ${formatBytes(event.storedBytes)} in ${formatSeconds(event.seconds)}${at}  ${store.url(event.key)}`,
          );
        }
      },
    });
    const cost = impact.finish({ bytesRead: result.rawBytes, bytesSent: result.storedBytes, childPeakRss: result.childPeakRss, compressor: result.compressor, priority });
    if (io.json) io.out(JSON.stringify({ type: 'result', ...result, childPeakRss: undefined, compressor: undefined, impact: cost }));
    else io.out(describeImpact(cost, 'the dump tool'));
    return 0;
  });
};

/** One line: what the run cost the host. */
export const describeImpact = (cost: HostImpact, children: string): string =>
  `host: ${cost.cpuSeconds.total.toFixed(1)} CPU s (binvault ${cost.cpuSeconds.self.toFixed(1)} s, ${children} ${cost.cpuSeconds.children.toFixed(1)} s), ` +
  `read ${formatBytes(cost.bytesRead)}, sent ${formatBytes(cost.bytesSent)}, peak RSS ${formatBytes(cost.peakRssBytes)}; ${cost.compressor}; nice ${cost.priority.nice}, I/O ${cost.priority.io}`;
